import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { GetObjectTaggingCommand, PutObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { sanitizeTagValue, tagRejectedArtifact } from '../../src/multimodel/rejection-tags';

const s3 = new S3Client({ region: 'us-east-1' });
const s3Mock = mockClient(s3);
const TAG_VALUE = /^[\p{L}\p{N} +\-=._:/@]*$/u;

describe('Function: sanitizeTagValue', () => {
  it('keeps letters, digits, spaces and + - = . _ : / @', () => {
    expect(sanitizeTagValue('entry a/b.c rejected: x=1 +2 @3 été')).toBe('entry a/b.c rejected: x=1 +2 @3 été');
  });

  it('replaces every other character with _ and folds whitespace', () => {
    const value = sanitizeTagValue('entry "../x"\u0000 (bad)\n\tnext; <script>');
    expect(value).toBe('entry _../x__ _bad_ next_ _script_');
    expect(value).toMatch(TAG_VALUE);
  });

  it('cuts values to 256 characters', () => {
    expect(Array.from(sanitizeTagValue('é'.repeat(400)))).toHaveLength(256);
  });
});

describe('Function: tagRejectedArtifact', () => {
  beforeEach(() => s3Mock.reset());

  it('adds status, rule and sanitised reason, keeping the user tags', async () => {
    // Prepare
    s3Mock.on(GetObjectTaggingCommand).resolves({ TagSet: [{ Key: 'team', Value: 'ml' }, { Key: 'smhost:rule', Value: 'old' }] });
    s3Mock.on(PutObjectTaggingCommand).resolves({});

    // Act
    await tagRejectedArtifact(s3, { bucket: 'b', key: 'incoming/ep/m.tar.gz', rule: 'parent-traversal', reason: 'entry "../x" rejected' });

    // Assess
    const put = s3Mock.commandCalls(PutObjectTaggingCommand)[0]?.args[0].input;
    expect(put).toEqual({
      Bucket: 'b',
      Key: 'incoming/ep/m.tar.gz',
      Tagging: {
        TagSet: [
          { Key: 'team', Value: 'ml' },
          { Key: 'smhost:status', Value: 'rejected' },
          { Key: 'smhost:rule', Value: 'parent-traversal' },
          { Key: 'smhost:reason', Value: 'entry _../x_ rejected' },
        ],
      },
    });
  });

  it('drops user tags past the seventh so the ten-tag limit holds', async () => {
    s3Mock.on(GetObjectTaggingCommand).resolves({ TagSet: Array.from({ length: 10 }, (_, i) => ({ Key: `t${i}`, Value: 'v' })) });
    s3Mock.on(PutObjectTaggingCommand).resolves({});
    await tagRejectedArtifact(s3, { bucket: 'b', key: 'k', rule: 'not-gzip', reason: 'r' });
    const tags = s3Mock.commandCalls(PutObjectTaggingCommand)[0]?.args[0].input.Tagging?.TagSet ?? [];
    expect(tags).toHaveLength(10);
    expect(tags.map((t) => t.Key)).toEqual(['t0', 't1', 't2', 't3', 't4', 't5', 't6', 'smhost:status', 'smhost:rule', 'smhost:reason']);
  });
});
