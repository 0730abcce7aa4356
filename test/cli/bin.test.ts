import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalAws, type LocalAws, LOCAL_CREDENTIALS } from '../support/local-aws';
import { tarGzBuffer } from '../support/archives';
import { runBin, type BinRun } from './run-bin';

let aws: LocalAws;
let dir: string;

beforeAll(async () => {
  aws = await startLocalAws({ bucket: 'bin-test-bucket', table: 'bin-test-registry' });
  dir = await mkdtemp(join(tmpdir(), 'smhost-bin-'));
});

afterAll(async () => {
  await aws?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs the real bin from an unrelated directory, configured only by the environment. */
function smhost(args: string[], node?: string): Promise<BinRun> {
  return runBin(args, {
    cwd: dir,
    env: {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: aws.s3Endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: aws.dynamoEndpoint,
      SMHOST_BUCKET: aws.bucket,
      SMHOST_REGISTRY_TABLE: aws.table,
    },
    ...(node ? { node } : {}),
  });
}

describe('Command: bin/smhost.js', () => {
  it('uploads through the endpoints the environment names, from any directory', async () => {
    // Prepare
    const artifact = join(dir, 'm.tar.gz');
    await writeFile(artifact, await tarGzBuffer([{ name: 'model.json', content: '{}' }]));

    // Act
    const result = await smhost(['models', 'add', 'ep1', 'm1', artifact, '--no-wait', '--json']);

    // Assess
    expect(result.stderr).toContain('uploading');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ bucket: aws.bucket, key: 'incoming/ep1/m1.tar.gz' });
    const head = await aws.s3.send(new HeadObjectCommand({ Bucket: aws.bucket, Key: 'incoming/ep1/m1.tar.gz' }));
    expect(head.ContentLength).toBeGreaterThan(0);
  });

  it('propagates the exit codes: 3 for an unknown model, 2 for a bad endpoint name', async () => {
    // Act
    const [notFound, usage] = await Promise.all([
      smhost(['models', 'versions', 'ep1', 'ghost', '--json']),
      smhost(['models', 'list', 'bad_name']),
    ]);

    // Assess
    expect(notFound.code).toBe(3);
    expect(JSON.parse(notFound.stdout).error.exitCode).toBe(3);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('invalid endpoint "bad_name"');
  });

  it('runs under the system Node too, handing over to the project Node when the system one is older', async () => {
    // Prepare: the system Node of this machine, or this one when there is none
    const systemNode = ['/usr/bin/node', '/usr/local/bin/node'].find((path) => existsSync(path)) ?? process.execPath;

    // Act
    const result = await smhost(['models', 'versions', 'ep1', 'ghost'], systemNode);

    // Assess
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('model "ghost" is not registered on endpoint "ep1"');
  });
});
