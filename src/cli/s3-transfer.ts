import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { errorName, httpStatus } from '../aws/errors';
import { DEFAULT_COPY } from '../multimodel/config';
import { copyPinned, partSizeFor } from '../multimodel/pinned-copy';
import { InvalidInputError, NotFoundError, OperationFailedError } from './errors';

/** What an upload or copy wrote: the key and the ETag that identifies this very object. */
export interface StoredObject {
  bucket: string;
  key: string;
  etag: string;
  size: number;
}

const MIN_UPLOAD_PART_BYTES = 8 * 1024 ** 2;
const UPLOAD_CONCURRENCY = 4;

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
 * Copies an object server-side with the registration's pinned copy: CopyObject up to 5 GiB (keeping the
 * source's metadata), a multipart copy (UploadPartCopy) above. Every request is pinned to the source's ETag,
 * so a source replaced mid-copy fails the copy (`SourceSupersededError`) instead of mixing two objects.
 */
export async function copyObject(
  s3: S3Client,
  source: { bucket: string; key: string },
  target: { bucket: string; key: string },
): Promise<StoredObject> {
  const head = await headSource(s3, source);
  const copied = await copyPinned(
    s3,
    {
      sourceBucket: source.bucket,
      sourceKey: source.key,
      eTag: head.etag,
      sizeBytes: head.size,
      bucket: target.bucket,
      destinationKey: target.key,
      ...(head.contentType ? { sourceContentType: head.contentType } : {}),
    },
    DEFAULT_COPY,
  );
  if (!copied.eTag) throw new OperationFailedError(`copy to ${target.key} returned no ETag`);
  return { bucket: target.bucket, key: target.key, etag: copied.eTag, size: head.size };
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
