/**
 * Server-side copy of an artifact to its live key, pinned to the exact object the event announced:
 * every request carries `x-amz-copy-source-if-match` with its ETag, so if the drop was replaced in
 * the meantime S3 answers 412 and nothing half-new is written. `CopyObject` handles up to 5 GiB; larger
 * objects go through a multipart upload of `UploadPartCopy` parts, each pinned the same way, and the
 * upload is aborted if any step fails so no orphaned parts are left to bill.
 */
import {
  AbortMultipartUploadCommand,
  HeadObjectCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { errorName, httpStatus } from '../aws/errors';
import { MAX_PARTS, MAX_SINGLE_COPY_BYTES, MIN_PART_BYTES, type CopySettings } from './config';

/** The destination already exists and the copy was asked not to overwrite it. */
export class DestinationExistsError extends Error {
  override readonly name = 'DestinationExistsError';
  constructor(readonly destinationKey: string) {
    super(`destination "${destinationKey}" already exists; it was not overwritten`);
  }
}

/** The source object no longer has the ETag of the event: a newer upload replaced (or deleted) it. */
export class SourceSupersededError extends Error {
  override readonly name = 'SourceSupersededError';
  constructor(
    readonly sourceKey: string,
    readonly eTag: string,
  ) {
    super(`source "${sourceKey}" no longer has ETag ${eTag}: it was replaced or deleted after the event`);
  }
}

export interface PinnedCopyRequest {
  bucket: string;
  sourceKey: string;
  /** ETag of the object the event announced (quotes optional). */
  eTag: string;
  /** Size of that object, which decides between a single copy and a multipart copy. */
  sizeBytes: number;
  destinationKey: string;
  /** Stored as user metadata on the copy; values must be ASCII. */
  metadata?: Record<string, string>;
  contentType?: string;
  /**
   * Send `If-None-Match: *` with the write (CopyObject, or CompleteMultipartUpload), so S3 itself
   * refuses to overwrite an existing destination even when two copies race.
   */
  failIfExists?: boolean;
}

export interface PinnedCopyResult {
  method: 'copy-object' | 'multipart';
  parts: number;
}

/** How many `UploadPartCopy` requests run at once: S3 does the work, so a few in flight suffice. */
const PART_COPY_CONCURRENCY = 4;

/** `CopySource` is `<bucket>/<key>` URL-encoded, each segment on its own so `/` stays a separator. */
export function copySourceOf(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

function quoted(eTag: string): string {
  const bare = eTag.replace(/^"+|"+$/g, '');
  return `"${bare}"`;
}

function isPreconditionFailure(error: unknown): boolean {
  return httpStatus(error) === 412 || errorName(error) === 'PreconditionFailed' || errorName(error) === 'NoSuchKey';
}

/**
 * The part size for a multipart copy of `sizeBytes`: the configured size, raised when the object
 * would otherwise need more than S3's 10,000 parts, and never below S3's 5 MiB minimum.
 */
export function partSizeFor(sizeBytes: number, configured: number): number {
  const needed = Math.ceil(sizeBytes / MAX_PARTS);
  return Math.min(MAX_SINGLE_COPY_BYTES, Math.max(configured, needed, MIN_PART_BYTES));
}

/**
 * Copies `sourceKey` to `destinationKey` pinned to `eTag`.
 *
 * @throws SourceSupersededError when S3 answers 412 (or the source is gone).
 */
export async function copyPinned(s3: S3Client, request: PinnedCopyRequest, settings: CopySettings): Promise<PinnedCopyResult> {
  const copySource = copySourceOf(request.bucket, request.sourceKey);
  const ifMatch = quoted(request.eTag);
  const threshold = Math.min(settings.multipartThresholdBytes, MAX_SINGLE_COPY_BYTES);
  try {
    if (request.sizeBytes <= threshold) {
      await s3.send(
        new CopyObjectCommand({
          Bucket: request.bucket,
          Key: request.destinationKey,
          CopySource: copySource,
          CopySourceIfMatch: ifMatch,
          MetadataDirective: 'REPLACE',
          ContentType: request.contentType ?? 'application/gzip',
          ...(request.metadata ? { Metadata: request.metadata } : {}),
          ...(request.failIfExists ? { IfNoneMatch: '*' } : {}),
        }),
      );
      return { method: 'copy-object', parts: 1 };
    }
    return await multipartCopy(s3, request, copySource, ifMatch, partSizeFor(request.sizeBytes, settings.partSizeBytes));
  } catch (error) {
    if (!isPreconditionFailure(error)) throw error;
    // One 412 covers both conditions: the source changed, or (with failIfExists) the destination exists.
    if (request.failIfExists && (await destinationExists(s3, request))) throw new DestinationExistsError(request.destinationKey);
    throw new SourceSupersededError(request.sourceKey, request.eTag);
  }
}

async function destinationExists(s3: S3Client, request: PinnedCopyRequest): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: request.bucket, Key: request.destinationKey }));
    return true;
  } catch (error) {
    if (httpStatus(error) === 404 || errorName(error) === 'NotFound' || errorName(error) === 'NoSuchKey') return false;
    throw error;
  }
}

async function multipartCopy(
  s3: S3Client,
  request: PinnedCopyRequest,
  copySource: string,
  ifMatch: string,
  partSize: number,
): Promise<PinnedCopyResult> {
  const created = await s3.send(
    new CreateMultipartUploadCommand({
      Bucket: request.bucket,
      Key: request.destinationKey,
      ContentType: request.contentType ?? 'application/gzip',
      ...(request.metadata ? { Metadata: request.metadata } : {}),
    }),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error(`CreateMultipartUpload for "${request.destinationKey}" returned no UploadId`);
  const partCount = Math.ceil(request.sizeBytes / partSize);
  const parts: CompletedPart[] = new Array(partCount);
  try {
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (!failed && next < partCount) {
        const index = next;
        next += 1;
        const start = index * partSize;
        const end = Math.min(start + partSize, request.sizeBytes) - 1;
        const command = new UploadPartCopyCommand({
          Bucket: request.bucket,
          Key: request.destinationKey,
          UploadId: uploadId,
          PartNumber: index + 1,
          CopySource: copySource,
          CopySourceIfMatch: ifMatch,
          CopySourceRange: `bytes=${start}-${end}`,
        });
        let eTag: string | undefined;
        try {
          eTag = (await s3.send(command)).CopyPartResult?.ETag;
          if (!eTag) throw new Error(`UploadPartCopy part ${index + 1} of "${request.destinationKey}" returned no ETag`);
        } catch (error) {
          // Stop the other workers from starting parts that will be thrown away.
          failed = true;
          throw error;
        }
        parts[index] = { PartNumber: index + 1, ETag: eTag };
      }
    };
    // Wait for every worker (not just the first failure) so no part is still in flight when we abort.
    const settled = await Promise.allSettled(Array.from({ length: Math.min(PART_COPY_CONCURRENCY, partCount) }, worker));
    const failure = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failure) throw failure.reason;
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: request.bucket,
        Key: request.destinationKey,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
        ...(request.failIfExists ? { IfNoneMatch: '*' } : {}),
      }),
    );
    return { method: 'multipart', parts: partCount };
  } catch (error) {
    // Abort so no parts linger; its own failure must not hide the error that caused it.
    await s3
      .send(new AbortMultipartUploadCommand({ Bucket: request.bucket, Key: request.destinationKey, UploadId: uploadId }))
      .catch(() => undefined);
    throw error;
  }
}
