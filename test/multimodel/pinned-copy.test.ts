import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { copyPinned, copySourceOf, DestinationExistsError, partSizeFor, SourceSupersededError } from '../../src/multimodel/pinned-copy';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const s3 = new S3Client({ region: 'us-east-1' });
const s3Mock = mockClient(s3);
const settings = { multipartThresholdBytes: 5 * GiB, partSizeBytes: 512 * MiB };
const request = {
  bucket: 'bucket',
  sourceKey: 'incoming/ep/my model+1.tar.gz',
  eTag: 'abc123',
  sizeBytes: 10 * MiB,
  destinationKey: 'models/ep/my model+1/0123456789abcdef.tar.gz',
  metadata: { sha256: 'f'.repeat(64) },
};

function preconditionFailed(): S3ServiceException {
  return new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 }, message: 'At least one of the pre-conditions you specified did not hold' });
}

function throttled(): S3ServiceException {
  return new S3ServiceException({ name: 'SlowDown', $fault: 'server', $metadata: { httpStatusCode: 503 }, message: 'Please reduce your request rate.' });
}

describe('Function: copySourceOf', () => {
  it('URL-encodes each key segment, keeping the slashes', () => {
    expect(copySourceOf('b', 'incoming/ep/my model+1/é.tar.gz')).toBe('b/incoming/ep/my%20model%2B1/%C3%A9.tar.gz');
    expect(copySourceOf('b', 'a b/c+d/é.tar.gz')).toBe('b/a%20b/c%2Bd/%C3%A9.tar.gz');
  });
});

describe('Function: partSizeFor', () => {
  it('uses the configured part size when 10,000 parts suffice', () => {
    expect(partSizeFor(100 * GiB, 512 * MiB)).toBe(512 * MiB);
  });

  it('raises the part size so that no copy needs more than 10,000 parts', () => {
    const size = 5 * 1024 * GiB;
    const part = partSizeFor(size, 5 * MiB);
    expect(Math.ceil(size / part)).toBeLessThanOrEqual(10_000);
  });

  it('never goes under S3 minimum part size', () => {
    expect(partSizeFor(6 * GiB, 1)).toBe(5 * MiB);
  });
});

describe('Function: copyPinned', () => {
  beforeEach(() => s3Mock.reset());

  it('copies up to the threshold with one CopyObject pinned to the ETag', async () => {
    // Prepare
    s3Mock.on(CopyObjectCommand).resolves({});

    // Act
    const result = await copyPinned(s3, request, settings);

    // Assess
    expect(result).toEqual({ method: 'copy-object', parts: 1 });
    const calls = s3Mock.commandCalls(CopyObjectCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toMatchObject({
      Bucket: 'bucket',
      Key: request.destinationKey,
      CopySource: 'bucket/incoming/ep/my%20model%2B1.tar.gz',
      CopySourceIfMatch: '"abc123"',
      MetadataDirective: 'REPLACE',
      ContentType: 'application/gzip',
      Metadata: { sha256: 'f'.repeat(64) },
    });
  });

  it('copies from another bucket keeping the source metadata when none is given, and returns the new ETag', async () => {
    // Prepare
    s3Mock.on(CopyObjectCommand).resolves({ CopyObjectResult: { ETag: '"new"' } });
    const { metadata: _metadata, ...plain } = request;

    // Act
    const result = await copyPinned(s3, { ...plain, sourceBucket: 'elsewhere' }, settings);

    // Assess
    expect(result).toEqual({ method: 'copy-object', parts: 1, eTag: '"new"' });
    expect(s3Mock.commandCalls(CopyObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'bucket',
      Key: request.destinationKey,
      CopySource: 'elsewhere/incoming/ep/my%20model%2B1.tar.gz',
      CopySourceIfMatch: '"abc123"',
    });
  });

  it('turns 412 into SourceSupersededError', async () => {
    s3Mock.on(CopyObjectCommand).rejects(preconditionFailed());
    await expect(copyPinned(s3, request, settings)).rejects.toBeInstanceOf(SourceSupersededError);
  });

  it('asks S3 not to overwrite with If-None-Match when told, on the copy and on the multipart completion', async () => {
    s3Mock.on(CopyObjectCommand).resolves({});
    await copyPinned(s3, { ...request, failIfExists: true }, settings);
    expect(s3Mock.commandCalls(CopyObjectCommand)[0]?.args[0].input.IfNoneMatch).toBe('*');
    s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'up' });
    s3Mock.on(UploadPartCopyCommand).resolves({ CopyPartResult: { ETag: '"e"' } });
    s3Mock.on(CompleteMultipartUploadCommand).resolves({});
    await copyPinned(s3, { ...request, sizeBytes: 6 * GiB, failIfExists: true }, settings);
    expect(s3Mock.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input.IfNoneMatch).toBe('*');
  });

  it('tells an existing destination from a replaced source when a guarded copy answers 412', async () => {
    // Prepare
    s3Mock.on(CopyObjectCommand).rejects(preconditionFailed());
    s3Mock.on(HeadObjectCommand).resolvesOnce({}).rejectsOnce(new S3ServiceException({ name: 'NotFound', $fault: 'client', $metadata: { httpStatusCode: 404 }, message: '' }));

    // Act / Assess
    await expect(copyPinned(s3, { ...request, failIfExists: true }, settings)).rejects.toBeInstanceOf(DestinationExistsError);
    await expect(copyPinned(s3, { ...request, failIfExists: true }, settings)).rejects.toBeInstanceOf(SourceSupersededError);
    s3Mock.on(HeadObjectCommand).rejects(throttled());
    await expect(copyPinned(s3, { ...request, failIfExists: true }, settings)).rejects.toMatchObject({ name: 'SlowDown' });
  });

  it('treats a source deleted meanwhile as superseded too', async () => {
    s3Mock.on(CopyObjectCommand).rejects(new S3ServiceException({ name: 'NoSuchKey', $fault: 'client', $metadata: { httpStatusCode: 404 }, message: 'gone' }));
    await expect(copyPinned(s3, request, settings)).rejects.toThrow(/no longer has ETag abc123/);
  });

  it('passes transient errors through untouched', async () => {
    s3Mock.on(CopyObjectCommand).rejects(throttled());
    await expect(copyPinned(s3, request, settings)).rejects.toMatchObject({ name: 'SlowDown' });
  });

  it('copies above the threshold with UploadPartCopy parts, each pinned and ranged, then completes', async () => {
    // Prepare
    const big = { ...request, sizeBytes: 5 * GiB + 1 };
    s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'up-1' });
    s3Mock.on(UploadPartCopyCommand).callsFake((input: { PartNumber: number }) => ({ CopyPartResult: { ETag: `"etag-${input.PartNumber}"` } }));
    s3Mock.on(CompleteMultipartUploadCommand).resolves({});

    // Act
    const result = await copyPinned(s3, big, settings);

    // Assess
    expect(result).toEqual({ method: 'multipart', parts: 11 });
    expect(s3Mock.commandCalls(CopyObjectCommand)).toHaveLength(0);
    expect(s3Mock.commandCalls(CreateMultipartUploadCommand)[0]?.args[0].input).toMatchObject({
      Key: big.destinationKey,
      ContentType: 'application/gzip',
      Metadata: { sha256: 'f'.repeat(64) },
    });
    const parts = s3Mock.commandCalls(UploadPartCopyCommand).map((call) => call.args[0].input);
    expect(parts).toHaveLength(11);
    for (const part of parts) {
      expect(part).toMatchObject({ UploadId: 'up-1', CopySourceIfMatch: '"abc123"', CopySource: 'bucket/incoming/ep/my%20model%2B1.tar.gz' });
    }
    const ranges = parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0)).map((p) => p.CopySourceRange);
    expect(ranges[0]).toBe(`bytes=0-${512 * MiB - 1}`);
    expect(ranges[10]).toBe(`bytes=${10 * 512 * MiB}-${5 * GiB}`);
    const complete = s3Mock.commandCalls(CompleteMultipartUploadCommand)[0]?.args[0].input;
    expect(complete?.MultipartUpload?.Parts?.map((p) => p.PartNumber)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(complete?.MultipartUpload?.Parts?.[0]?.ETag).toBe('"etag-1"');
    expect(s3Mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(0);
  });

  it('honours a lower multipart threshold', async () => {
    s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'up-2' });
    s3Mock.on(UploadPartCopyCommand).resolves({ CopyPartResult: { ETag: '"e"' } });
    s3Mock.on(CompleteMultipartUploadCommand).resolves({});
    const result = await copyPinned(s3, { ...request, sizeBytes: 12 * MiB }, { multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB });
    expect(result).toEqual({ method: 'multipart', parts: 3 });
  });

  it('aborts the upload and reports superseded when a part answers 412', async () => {
    // Prepare
    s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'up-3' });
    s3Mock.on(UploadPartCopyCommand).resolves({ CopyPartResult: { ETag: '"e"' } });
    s3Mock.on(UploadPartCopyCommand, { PartNumber: 3 }).rejects(preconditionFailed());
    s3Mock.on(AbortMultipartUploadCommand).resolves({});

    // Act
    const copying = copyPinned(s3, { ...request, sizeBytes: 20 * GiB }, settings);

    // Assess
    await expect(copying).rejects.toBeInstanceOf(SourceSupersededError);
    expect(s3Mock.commandCalls(AbortMultipartUploadCommand)[0]?.args[0].input).toEqual({ Bucket: 'bucket', Key: request.destinationKey, UploadId: 'up-3' });
    expect(s3Mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    // The failure stops the workers: far fewer than the 40 parts were attempted.
    expect(s3Mock.commandCalls(UploadPartCopyCommand).length).toBeLessThan(40);
  });

  it('aborts and rethrows a transient failure of the completion', async () => {
    s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'up-4' });
    s3Mock.on(UploadPartCopyCommand).resolves({ CopyPartResult: { ETag: '"e"' } });
    s3Mock.on(CompleteMultipartUploadCommand).rejects(throttled());
    s3Mock.on(AbortMultipartUploadCommand).rejects(new Error('abort failed too'));
    await expect(copyPinned(s3, { ...request, sizeBytes: 6 * GiB }, settings)).rejects.toMatchObject({ name: 'SlowDown' });
    expect(s3Mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
  });

  it('refuses a part answer without an ETag, aborting', async () => {
    s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'up-5' });
    s3Mock.on(UploadPartCopyCommand).resolves({ CopyPartResult: {} });
    s3Mock.on(AbortMultipartUploadCommand).resolves({});
    await expect(copyPinned(s3, { ...request, sizeBytes: 6 * GiB }, settings)).rejects.toThrow(/returned no ETag/);
    expect(s3Mock.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
  });

  it('refuses a CreateMultipartUpload answer without an UploadId', async () => {
    s3Mock.on(CreateMultipartUploadCommand).resolves({});
    await expect(copyPinned(s3, { ...request, sizeBytes: 6 * GiB }, settings)).rejects.toThrow(/returned no UploadId/);
  });
});
