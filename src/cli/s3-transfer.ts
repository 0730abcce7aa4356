import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { errorName, httpStatus } from '../aws/errors';
import { InvalidInputError, NotFoundError, OperationFailedError } from './errors';

/** What an upload or copy wrote: the key and the ETag that identifies this very object. */
export interface StoredObject {
  bucket: string;
  key: string;
  etag: string;
  size: number;
}

/** CopyObject copies at most 5 GiB; larger objects need a multipart copy. */
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;
const MAX_PARTS = 10_000;
const MIN_UPLOAD_PART_BYTES = 8 * 1024 ** 2;
const MIN_COPY_PART_BYTES = 512 * 1024 ** 2;
const UPLOAD_CONCURRENCY = 4;
const COPY_CONCURRENCY = 4;

/** The smallest part size at least `minimum` that fits `size` into S3's 10,000 parts. */
export function partSizeFor(size: number, minimum: number): number {
  return Math.max(minimum, Math.ceil(size / MAX_PARTS));
}

/** True when `uploadFile` stores a file of this size with one PutObject (its ETag is then the MD5). */
export function isSinglePartUpload(size: number): boolean {
  return size < partSizeFor(size, MIN_UPLOAD_PART_BYTES);
}

/**
 * Uploads a local file, streaming: multipart in parallel parts when it is larger than one part, so a
 * multi-GB model never sits in memory. `inputName` names the argument in errors about the file.
 */
export async function uploadFile(
  s3: S3Client,
  file: string,
  target: { bucket: string; key: string; contentType?: string },
  inputName = 'file',
): Promise<StoredObject> {
  const size = await fileSize(file, inputName);
  const upload = new Upload({
    client: s3,
    params: {
      Bucket: target.bucket,
      Key: target.key,
      Body: createReadStream(file),
      ...(target.contentType ? { ContentType: target.contentType } : {}),
    },
    partSize: partSizeFor(size, MIN_UPLOAD_PART_BYTES),
    queueSize: UPLOAD_CONCURRENCY,
    leavePartsOnError: false,
  });
  const result = await upload.done();
  if (!result.ETag) throw new OperationFailedError(`upload of ${target.key} returned no ETag`);
  return { bucket: target.bucket, key: target.key, etag: result.ETag, size };
}

/** The size of a regular file, or an error naming the input when it is missing or not a file. */
export async function fileSize(file: string, inputName: string): Promise<number> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new InvalidInputError(`${inputName} "${file}"`, 'must be a regular file');
    return info.size;
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InvalidInputError(`${inputName} "${file}"`, 'no such file');
    if (code === 'EACCES') throw new InvalidInputError(`${inputName} "${file}"`, 'not readable (permission denied)');
    throw error;
  }
}

/**
 * Copies an object server-side: CopyObject up to 5 GiB, a multipart copy (UploadPartCopy) above. Every
 * part is pinned to the source's ETag, so a source replaced mid-copy fails the copy instead of mixing
 * two objects.
 */
export async function copyObject(
  s3: S3Client,
  source: { bucket: string; key: string },
  target: { bucket: string; key: string },
): Promise<StoredObject> {
  const head = await headSource(s3, source);
  const copySource = encodeCopySource(source.bucket, source.key);
  if (head.size <= MAX_SINGLE_COPY_BYTES) {
    const result = await s3.send(
      new CopyObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        CopySource: copySource,
        CopySourceIfMatch: head.etag,
      }),
    );
    const etag = result.CopyObjectResult?.ETag;
    if (!etag) throw new OperationFailedError(`copy to ${target.key} returned no ETag`);
    return { bucket: target.bucket, key: target.key, etag, size: head.size };
  }
  return multipartCopy(s3, copySource, head, target);
}

interface SourceHead {
  size: number;
  etag: string;
  contentType?: string;
}

async function headSource(s3: S3Client, source: { bucket: string; key: string }): Promise<SourceHead> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: source.bucket, Key: source.key }));
    if (head.ContentLength === undefined || !head.ETag) {
      throw new OperationFailedError(`s3://${source.bucket}/${source.key} has no size or ETag`);
    }
    return {
      size: head.ContentLength,
      etag: head.ETag,
      ...(head.ContentType ? { contentType: head.ContentType } : {}),
    };
  } catch (error) {
    const status = httpStatus(error);
    if (status === 404 || errorName(error) === 'NotFound' || errorName(error) === 'NoSuchBucket') {
      throw new NotFoundError(`source s3://${source.bucket}/${source.key} does not exist`, {
        source: `s3://${source.bucket}/${source.key}`,
      });
    }
    throw error;
  }
}

async function multipartCopy(
  s3: S3Client,
  copySource: string,
  head: SourceHead,
  target: { bucket: string; key: string },
): Promise<StoredObject> {
  const created = await s3.send(
    new CreateMultipartUploadCommand({
      Bucket: target.bucket,
      Key: target.key,
      ...(head.contentType ? { ContentType: head.contentType } : {}),
    }),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new OperationFailedError(`multipart copy to ${target.key} returned no upload id`);
  const partSize = partSizeFor(head.size, MIN_COPY_PART_BYTES);
  const partCount = Math.ceil(head.size / partSize);
  const parts: CompletedPart[] = new Array(partCount);
  try {
    let next = 0;
    const worker = async () => {
      while (next < partCount) {
        const index = next++;
        const start = index * partSize;
        const end = Math.min(head.size, start + partSize) - 1;
        const result = await s3.send(
          new UploadPartCopyCommand({
            Bucket: target.bucket,
            Key: target.key,
            UploadId: uploadId,
            PartNumber: index + 1,
            CopySource: copySource,
            CopySourceIfMatch: head.etag,
            CopySourceRange: `bytes=${start}-${end}`,
          }),
        );
        const etag = result.CopyPartResult?.ETag;
        if (!etag) throw new OperationFailedError(`part ${index + 1} of the copy to ${target.key} returned no ETag`);
        parts[index] = { PartNumber: index + 1, ETag: etag };
      }
    };
    await Promise.all(Array.from({ length: Math.min(COPY_CONCURRENCY, partCount) }, worker));
    const completed = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: target.bucket,
        Key: target.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    if (!completed.ETag) throw new OperationFailedError(`multipart copy to ${target.key} returned no ETag`);
    return { bucket: target.bucket, key: target.key, etag: completed.ETag, size: head.size };
  } catch (error) {
    // Parts left behind are billed storage and block nothing useful: abort, and report the original failure.
    await s3
      .send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId }))
      .catch(() => undefined);
    throw error;
  }
}

/** CopySource is `bucket/key` with the key URL-encoded, slashes kept. */
export function encodeCopySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}
