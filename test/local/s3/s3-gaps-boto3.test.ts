import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPython } from '../../support/python';
import { FIXTURE_BUCKET, startFixtureStack, toolEnv, type FixtureStack } from '../fixture-stack';

const SCRIPT = fileURLToPath(new URL('./s3_gaps_boto3.py', import.meta.url));
let fixture: FixtureStack;


beforeAll(async () => {
  fixture = await startFixtureStack({ runFunctions: false });
});

afterAll(async () => {
  await fixture.close();
});

describe('Function: local S3 through boto3', () => {
  it('closes every S3 gap for boto3 in a second process', async () => {
    // Act
    const run = await runPython([SCRIPT, FIXTURE_BUCKET], toolEnv(fixture.stack.url));

    // Assess
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const results = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(results.stream_intact).toEqual([true, true]);
    expect(results.put_if_none_match_again).toEqual(['PreconditionFailed', 412]);
    expect(results.put_if_match_wrong).toEqual(['PreconditionFailed', 412]);
    expect(results.get_if_match_wrong).toEqual(['PreconditionFailed', 412]);
    expect(results.get_if_none_match_same).toEqual(['304', 304]);
    expect(results.cond_body).toBe('three');
    expect(results.copy_if_match_wrong).toEqual(['PreconditionFailed', 412]);
    expect(results.copy_etag).toBe(true);
    expect(results.upload_part_copy_intact).toBe(true);
    expect(results.tags).toEqual([
      [{ Key: 'a', Value: '1' }, { Key: 'b', Value: 'two words' }],
      [{ Key: 'c', Value: '3' }],
      [],
    ]);
    expect(results.listed).toEqual([['py/list/a b.txt', 'py/list/c+d.txt', 'py/list/ü.txt'], ['py/list/sub/']]);
    expect(results.deleted).toEqual(['py/list/a b.txt', 'py/list/c+d.txt', 'py/list/sub/e.txt', 'py/list/ü.txt']);
    expect(results.after_delete).toBe(0);
  });
});
