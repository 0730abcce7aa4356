import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError } from '../../src/cli/errors';
import { copyObject, fileSize, isSinglePartUpload, uploadFile } from '../../src/cli/s3-transfer';
import { MAX_SINGLE_COPY_BYTES } from '../../src/multimodel/config';
import { partSizeFor } from '../../src/multimodel/pinned-copy';

const GiB = 1024 ** 3;
const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const s3Mock = mockClient(s3);
let dir: string;

beforeEach(async () => {
  s3Mock.reset();
  dir = await mkdtemp(join(tmpdir(), 'smhost-transfer-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Function: partSizeFor', () => {
  it('keeps the minimum part size until 10,000 parts would not suffice', () => {
    // Assess
    expect(partSizeFor(1024, 8 * 1024 ** 2)).toBe(8 * 1024 ** 2);
    expect(partSizeFor(5000 * GiB, 512 * 1024 ** 2)).toBe(Math.ceil((5000 * GiB) / 10_000));
    expect(isSinglePartUpload(1024)).toBe(true);
    expect(isSinglePartUpload(8 * 1024 ** 2)).toBe(false);
  });
});

describe('Function: copyObject', () => {
  it('copies up to 5 GiB with one CopyObject pinned to the source ETag', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: MAX_SINGLE_COPY_BYTES, ETag: '"abc"' });
    s3Mock.on(CopyObjectCommand).resolves({ CopyObjectResult: { ETag: '"abc"' } });

    // Act
    const stored = await copyObject(s3, { bucket: 'src', key: 'job 1/model+x.tar.gz' }, { bucket: 'dst', key: 'incoming/ep/m.tar.gz' });

    // Assess
    expect(stored).toEqual({ bucket: 'dst', key: 'incoming/ep/m.tar.gz', etag: '"abc"', size: MAX_SINGLE_COPY_BYTES });
    expect(s3Mock.commandCalls(CopyObjectCommand)[0]!.args[0].input).toEqual({
      Bucket: 'dst',
      Key: 'incoming/ep/m.tar.gz',
      CopySource: 'src/job%201/model%2Bx.tar.gz',
      CopySourceIfMatch: '"abc"',
    });
    expect(s3Mock.commandCalls(UploadPartCopyCommand)).toHaveLength(0);
  });

  it('copies above 5 GiB with pinned UploadPartCopy ranges covering every byte once', async () => {
    // Prepare
    const size = 6 * GiB + 123;
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: size, ETag: '"big-2"', ContentType: 'application/gzip' });
    s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    s3Mock.on(UploadPartCopyCommand).callsFake(async (input: { PartNumber: number }) => ({
      CopyPartResult: { ETag: `"p${input.PartNumber}"` },
    }));
    s3Mock.on(CompleteMultipartUploadCommand).resolves({ ETag: '"final-13"' });

    // Act
    const stored = await copyObject(s3, { bucket: 'src', key: 'big.tar.gz' }, { bucket: 'dst', key: 'incoming/ep/big.tar.gz' });

    // Assess
    expect(stored.etag).toBe('"final-13"');
    const parts = s3Mock.commandCalls(UploadPartCopyCommand).map((c) => c.args[0].input);
    const ranges = parts
      .map((p) => /^bytes=(\d+)-(\d+)$/.exec(p.CopySourceRange!)!.slice(1).map(Number) as [number, number])
      .sort((a, b) => a[0] - b[0]);
    expect(ranges[0]![0]).toBe(0);
    for (let i = 1; i < ranges.length; i += 1) expect(ranges[i]![0]).toBe(ranges[i - 1]![1] + 1);
    expect(ranges.at(-1)![1]).toBe(size - 1);
    expect(parts.every((p) => p.CopySourceIfMatch === '"big-2"' && p.UploadId === 'u1')).toBe(true);
    const completed = s3Mock.commandCalls(CompleteMultipartUploadCommand)[0]!.args[0].input;
    expect(completed.MultipartUpload!.Parts!.map((p) => p.PartNumber)).toEqual(parts.map((_, i) => i + 1));
    expect(s3Mock.commandCalls(CreateMultipartUploadCommand)[0]!.args[0].input.ContentType).toBe('application/gzip');
  });

  it('aborts the multipart copy when a part fails, and reports the source as replaced', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 6 * GiB, ETag: '"big"' });
    s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u2' });
    s3Mock
      .on(UploadPartCopyCommand)
      .rejects(Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), { name: 'PreconditionFailed' }));
    s3Mock.on(AbortMultipartUploadCommand).resolves({});

    // Act
    const copy = copyObject(s3, { bucket: 'src', key: 'big.tar.gz' }, { bucket: 'dst', key: 'k.tar.gz' });

    // Assess
    await expect(copy).rejects.toMatchObject({ name: 'SourceSupersededError', cause: { name: 'PreconditionFailed' } });
    expect(s3Mock.commandCalls(AbortMultipartUploadCommand)[0]!.args[0].input).toEqual({ Bucket: 'dst', Key: 'k.tar.gz', UploadId: 'u2' });
    expect(s3Mock.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });

  it('reports a missing source as not found, naming it', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).rejects(Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }));

    // Act
    const copy = copyObject(s3, { bucket: 'src', key: 'gone.tar.gz' }, { bucket: 'dst', key: 'k.tar.gz' });

    // Assess
    await expect(copy).rejects.toThrow(NotFoundError);
    await expect(copy).rejects.toThrow('source s3://src/gone.tar.gz does not exist');
  });
});

describe('Function: uploadFile', () => {
  it('uploads a small file with one PutObject and returns its ETag and size', async () => {
    // Prepare
    const path = join(dir, 'm.tar.gz');
    await writeFile(path, 'hello');
    s3Mock.on(PutObjectCommand).resolves({ ETag: '"5d41402abc4b2a76b9719d911017c592"' });

    // Act
    const stored = await uploadFile(s3, path, { bucket: 'b', key: 'incoming/ep/m.tar.gz', contentType: 'application/gzip' });

    // Assess
    expect(stored).toEqual({ bucket: 'b', key: 'incoming/ep/m.tar.gz', etag: '"5d41402abc4b2a76b9719d911017c592"', size: 5 });
    const put = s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(put).toMatchObject({ Bucket: 'b', Key: 'incoming/ep/m.tar.gz', ContentType: 'application/gzip' });
  });

  it('names the input when the file is missing or a directory', async () => {
    // Act / Assess
    await expect(fileSize(join(dir, 'nope'), '--sample')).rejects.toThrow(InvalidInputError);
    await expect(fileSize(join(dir, 'nope'), '--sample')).rejects.toThrow(/^invalid --sample ".*nope": no such file$/);
    await expect(fileSize(dir, 'file')).rejects.toThrow(/^invalid file ".*": must be a regular file$/);
  });
});
