import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  DeleteObjectTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorName, httpStatus } from '../../../src/aws/errors';
import { FIXTURE_BUCKET, startFixtureStack, type FixtureStack } from '../fixture-stack';

const MiB = 1024 * 1024;
let fixture: FixtureStack;
const bucket = FIXTURE_BUCKET;

async function bodyOf(key: string): Promise<Buffer> {
  const answer = await fixture.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await answer.Body!.transformToByteArray());
}

async function failure(promise: Promise<unknown>): Promise<{ name?: string; status?: number }> {
  try {
    await promise;
  } catch (error) {
    return { name: errorName(error), status: httpStatus(error) };
  }
  throw new Error('expected the request to fail');
}

beforeAll(async () => {
  fixture = await startFixtureStack({ runFunctions: false });
});

afterAll(async () => {
  await fixture.close();
});

describe('Function: local S3 through the AWS SDK v3', () => {
  it('stores an aws-chunked streaming upload of unknown length without its chunk framing', async () => {
    // Prepare: a stream body of unknown length; the SDK frames it as aws-chunked with a trailing checksum.
    const data = Buffer.concat([Buffer.alloc(70_000, 'a'), Buffer.from('middle'), Buffer.alloc(90_000, 'z')]);
    const upload = new Upload({ client: fixture.clients.s3, params: { Bucket: bucket, Key: 'stream/one.bin', Body: Readable.from([data.subarray(0, 50_000), data.subarray(50_000)]) } });

    // Act
    await upload.done();

    // Assess
    expect((await bodyOf('stream/one.bin')).equals(data)).toBe(true);
    const head = await fixture.clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'stream/one.bin' }));
    expect(head.ContentLength).toBe(data.length);
    expect(head.ContentEncoding).toBeUndefined();
  });

  it('stores a PutObject with a stream body of known length (aws-chunked, CRC32 trailer) intact', async () => {
    const data = Buffer.from('x'.repeat(100_000) + 'end');
    await fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'stream/two.bin', Body: Readable.from([data]), ContentLength: data.length }));
    expect((await bodyOf('stream/two.bin')).equals(data)).toBe(true);
  });

  it('honours If-None-Match: * and If-Match on PutObject', async () => {
    // Prepare
    const first = await fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond/put.txt', Body: 'one', IfNoneMatch: '*' }));

    // Act
    const again = await failure(fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond/put.txt', Body: 'two', IfNoneMatch: '*' })));
    const wrongMatch = await failure(fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond/put.txt', Body: 'two', IfMatch: '"0123"' })));
    const missingMatch = await failure(fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond/absent.txt', Body: 'two', IfMatch: first.ETag })));
    await fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond/put.txt', Body: 'three', IfMatch: first.ETag }));

    // Assess
    expect(again).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect(wrongMatch).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect(missingMatch).toEqual({ name: 'NoSuchKey', status: 404 });
    expect((await bodyOf('cond/put.txt')).toString()).toBe('three');
  });

  it('lets exactly one of many racing If-None-Match: * writes win', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_unused, index) => fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond/race.txt', Body: `writer ${index}`, IfNoneMatch: '*' }))),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
  });

  it('honours If-Match, If-None-Match and dates on GetObject and HeadObject', async () => {
    const put = await fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond/get.txt', Body: 'content' }));
    const matched = await fixture.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond/get.txt', IfMatch: put.ETag }));
    expect(await matched.Body!.transformToString()).toBe('content');
    expect(await failure(fixture.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond/get.txt', IfMatch: '"other"' })))).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect((await failure(fixture.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond/get.txt', IfNoneMatch: put.ETag })))).status).toBe(304);
    expect((await failure(fixture.clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'cond/get.txt', IfModifiedSince: new Date(Date.now() + 60_000) })))).status).toBe(304);
    expect((await failure(fixture.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond/get.txt', IfUnmodifiedSince: new Date(Date.now() - 3_600_000) })))).status).toBe(412);
  });

  it('honours copy-source conditions on CopyObject and reports the copy ETag', async () => {
    // Prepare
    const source = await fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'copy/source.txt', Body: 'copy me', ContentType: 'text/plain', Metadata: { origin: 'test' } }));

    // Act
    const refused = await failure(fixture.clients.s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy/target.txt', CopySource: `${bucket}/copy/source.txt`, CopySourceIfMatch: '"stale"' })));
    const refusedNoneMatch = await failure(fixture.clients.s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy/target.txt', CopySource: `${bucket}/copy/source.txt`, CopySourceIfNoneMatch: source.ETag })));
    const copied = await fixture.clients.s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'copy/target.txt', CopySource: `${bucket}/copy/source.txt`, CopySourceIfMatch: source.ETag }));

    // Assess
    expect(refused).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect(refusedNoneMatch).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect(copied.CopyObjectResult?.ETag).toBe(source.ETag);
    const head = await fixture.clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'copy/target.txt' }));
    expect(head.ContentType).toBe('text/plain');
    expect(head.Metadata).toEqual({ origin: 'test' });
  });

  it('copies keys with spaces, plus signs and unicode', async () => {
    const key = 'copy/a key+with ünïcode ✓.txt';
    await fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'odd key' }));
    await fixture.clients.s3.send(new CopyObjectCommand({ Bucket: bucket, Key: `${key}.copy`, CopySource: encodeURIComponent(`${bucket}/${key}`) }));
    expect((await bodyOf(`${key}.copy`)).toString()).toBe('odd key');
  });

  it('assembles a multipart upload from UploadPart and ranged UploadPartCopy, with copy-source conditions', async () => {
    // Prepare: a 6 MiB source whose two ranges are copied around an uploaded middle part.
    const source = Buffer.alloc(6 * MiB);
    for (let i = 0; i < source.length; i += 4096) source.writeUInt32BE(i, i);
    const put = await fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'mp/source.bin', Body: source }));
    const { UploadId } = await fixture.clients.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp/target.bin' }));

    // Act
    const refused = await failure(fixture.clients.s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: 'mp/target.bin', UploadId, PartNumber: 1, CopySource: `${bucket}/mp/source.bin`, CopySourceIfMatch: '"nope"' })));
    const badRange = await failure(fixture.clients.s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: 'mp/target.bin', UploadId, PartNumber: 1, CopySource: `${bucket}/mp/source.bin`, CopySourceRange: `bytes=0-${6 * MiB}` })));
    const part1 = await fixture.clients.s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: 'mp/target.bin', UploadId, PartNumber: 1, CopySource: `${bucket}/mp/source.bin`, CopySourceRange: `bytes=0-${5 * MiB - 1}`, CopySourceIfMatch: put.ETag }));
    const middle = Buffer.alloc(5 * MiB, 'm');
    const part2 = await fixture.clients.s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp/target.bin', UploadId, PartNumber: 2, Body: middle }));
    const part3 = await fixture.clients.s3.send(new UploadPartCopyCommand({ Bucket: bucket, Key: 'mp/target.bin', UploadId, PartNumber: 3, CopySource: `${bucket}/mp/source.bin`, CopySourceRange: `bytes=${5 * MiB}-${6 * MiB - 1}` }));
    const parts = await fixture.clients.s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'mp/target.bin', UploadId }));
    const done = await fixture.clients.s3.send(new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: 'mp/target.bin',
      UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part1.CopyPartResult!.ETag! }, { PartNumber: 2, ETag: part2.ETag! }, { PartNumber: 3, ETag: part3.CopyPartResult!.ETag! }] },
    }));

    // Assess
    expect(refused).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect(badRange).toEqual({ name: 'InvalidArgument', status: 400 });
    expect(parts.Parts?.map((part) => part.PartNumber)).toEqual([1, 2, 3]);
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-3"$/);
    const expected = Buffer.concat([source.subarray(0, 5 * MiB), middle, source.subarray(5 * MiB)]);
    expect(createHash('sha256').update(await bodyOf('mp/target.bin')).digest('hex')).toBe(createHash('sha256').update(expected).digest('hex'));
  });

  it('refuses a completion whose non-last part is under 5 MiB, and aborts uploads', async () => {
    const { UploadId } = await fixture.clients.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp/small.bin' }));
    const a = await fixture.clients.s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp/small.bin', UploadId, PartNumber: 1, Body: 'a' }));
    const b = await fixture.clients.s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'mp/small.bin', UploadId, PartNumber: 2, Body: 'b' }));
    const tooSmall = await failure(fixture.clients.s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'mp/small.bin', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: a.ETag! }, { PartNumber: 2, ETag: b.ETag! }] } })));
    await fixture.clients.s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'mp/small.bin', UploadId }));
    const gone = await failure(fixture.clients.s3.send(new ListPartsCommand({ Bucket: bucket, Key: 'mp/small.bin', UploadId })));
    expect(tooSmall).toEqual({ name: 'EntityTooSmall', status: 400 });
    expect(gone).toEqual({ name: 'NoSuchUpload', status: 404 });
  });

  it('keeps tags from x-amz-tagging and puts, gets and deletes object tags', async () => {
    await fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'tags/object.txt', Body: 'tagged', Tagging: 'state=new&owner=team%20a' }));
    const initial = await fixture.clients.s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'tags/object.txt' }));
    await fixture.clients.s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'tags/object.txt', Tagging: { TagSet: [{ Key: 'state', Value: 'refused' }] } }));
    const replaced = await fixture.clients.s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'tags/object.txt' }));
    const counted = await fixture.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'tags/object.txt' }));
    await fixture.clients.s3.send(new DeleteObjectTaggingCommand({ Bucket: bucket, Key: 'tags/object.txt' }));
    const cleared = await fixture.clients.s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: 'tags/object.txt' }));
    const invalid = await failure(fixture.clients.s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'tags/object.txt', Tagging: { TagSet: Array.from({ length: 11 }, (_unused, i) => ({ Key: `k${i}`, Value: 'v' })) } })));

    expect(initial.TagSet).toEqual([{ Key: 'state', Value: 'new' }, { Key: 'owner', Value: 'team a' }]);
    expect(replaced.TagSet).toEqual([{ Key: 'state', Value: 'refused' }]);
    expect(counted.TagCount).toBe(1);
    expect(cleared.TagSet ?? []).toEqual([]);
    expect(invalid).toEqual({ name: 'InvalidTag', status: 400 });
  });

  it('deletes many keys with DeleteObjects and lists with prefixes, delimiters and continuation', async () => {
    // Prepare
    const keys = ['list/a.txt', 'list/b c.txt', 'list/d+e.txt', 'list/sub/f.txt', 'list/sub/g.txt', 'list/é.txt', 'list/z.txt'];
    for (const key of keys) await fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));

    // Act
    const seen: string[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await fixture.clients.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/', Delimiter: '/', MaxKeys: 2, ContinuationToken: token }));
      seen.push(...(page.Contents ?? []).map((item) => item.Key!));
      prefixes.push(...(page.CommonPrefixes ?? []).map((item) => item.Prefix!));
      token = page.NextContinuationToken;
      pages += 1;
    } while (token);
    const deleted = await fixture.clients.s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
    const after = await fixture.clients.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'list/' }));

    // Assess
    expect(seen).toEqual(['list/a.txt', 'list/b c.txt', 'list/d+e.txt', 'list/z.txt', 'list/é.txt']);
    expect(prefixes).toEqual(['list/sub/']);
    expect(pages).toBe(3);
    expect(deleted.Deleted?.map((item) => item.Key).sort()).toEqual([...keys].sort());
    expect(after.KeyCount).toBe(0);
  });

  it('answers missing keys, missing buckets and unsatisfiable ranges with S3 errors', async () => {
    expect(await failure(fixture.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'missing' })))).toEqual({ name: 'NoSuchKey', status: 404 });
    expect(await failure(fixture.clients.s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'x' })))).toEqual({ name: 'NoSuchBucket', status: 404 });
    expect((await failure(fixture.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'copy/source.txt', Range: 'bytes=100-200' })))).status).toBe(416);
  });
});
