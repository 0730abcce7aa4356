/**
 * Server-side copy of an object pinned to the exact object its caller saw (registration: the artifact the
 * event announced; the command line: the source it looked up): every request carries
 * `x-amz-copy-source-if-match` with its ETag, so if the source was replaced in the meantime S3 answers 412
 * and nothing half-new is written. `CopyObject` handles up to 5 GiB; larger objects go through a multipart
 * upload of `UploadPartCopy` parts, each pinned the same way, and the upload is aborted if any step fails so
 * no orphaned parts are left to bill.
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

/** The source object no longer has the ETag the copy was pinned to: a newer upload replaced (or deleted) it. */
export class SourceSupersededError extends Error {
  override readonly name = 'SourceSupersededError';
  constructor(
    readonly sourceKey: string,
    readonly eTag: string,
    options?: { cause: unknown },
  ) {
    super(`source "${sourceKey}" no longer has ETag ${eTag}: it was replaced or deleted after that ETag was read`, options);
  }
}

export interface PinnedCopyRequest {
  /** Bucket of the source; the destination's (`bucket`) when absent. */
  sourceBucket?: string;
  sourceKey: string;
  /** ETag of the source object the copy is pinned to (quotes optional). */
  eTag: string;
  /** Size of that object, which decides between a single copy and a multipart copy. */
  sizeBytes: number;
  /** Bucket of the destination. */
  bucket: string;
  destinationKey: string;
  /**
   * With `metadata` or `contentType`, the copy stores these (content type `application/gzip` unless given)
   * instead of the source's. Without either, a single CopyObject keeps the source's metadata, and a
   * multipart copy, which copies none, stores `sourceContentType`. Metadata values must be ASCII.
   */
  metadata?: Record<string, string>;
  contentType?: string;
  /** The source's content type, for a multipart copy that does not replace it (see `metadata`). */
  sourceContentType?: string;
  /**
   * Send `If-None-Match: *` with the write (CopyObject, or CompleteMultipartUpload), so S3 itself
   * refuses to overwrite an existing destination even when two copies race.
   */
  failIfExists?: boolean;
}

export interface PinnedCopyResult {
  method: 'copy-object' | 'multipart';
  parts: number;
  /** ETag of the new object, as S3 answered it (quoted); absent when the answer carried none. */
  eTag?: string;
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

/** What the copy stores as content type and metadata: replaced when the caller gives either, else the source's. */
function replacedMetadata(request: PinnedCopyRequest): { ContentType: string; Metadata?: Record<string, string> } | undefined {
  if (request.metadata === undefined && request.contentType === undefined) return undefined;
  return { ContentType: request.contentType ?? 'application/gzip', ...(request.metadata ? { Metadata: request.metadata } : {}) };
}

function isPreconditionFailure(error: unknown): boolean {
  return httpStatus(error) === 412 || errorName(error) === 'PreconditionFailed' || errorName(error) === 'NoSuchKey';
}

/**
 * The part size for a multipart copy (or upload) of `sizeBytes`: the configured size, raised when the
 * object would otherwise need more than S3's 10,000 parts, never below S3's 5 MiB minimum nor above its
 * 5 GiB maximum.
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
  const copySource = copySourceOf(request.sourceBucket ?? request.bucket, request.sourceKey);
  const ifMatch = quoted(request.eTag);
  const threshold = Math.min(settings.multipartThresholdBytes, MAX_SINGLE_COPY_BYTES);
  try {
    if (request.sizeBytes <= threshold) {
      const replaced = replacedMetadata(request);
      const result = await s3.send(
        new CopyObjectCommand({
          Bucket: request.bucket,
          Key: request.destinationKey,
          CopySource: copySource,
          CopySourceIfMatch: ifMatch,
          ...(replaced ? { MetadataDirective: 'REPLACE', ...replaced } : {}),
          ...(request.failIfExists ? { IfNoneMatch: '*' } : {}),
        }),
      );
      const eTag = result.CopyObjectResult?.ETag;
      return { method: 'copy-object', parts: 1, ...(eTag ? { eTag } : {}) };
    }
    return await multipartCopy(s3, request, copySource, ifMatch, partSizeFor(request.sizeBytes, settings.partSizeBytes));
  } catch (error) {
    if (!isPreconditionFailure(error)) throw error;
    // One 412 covers both conditions: the source changed, or (with failIfExists) the destination exists.
    if (request.failIfExists && (await destinationExists(s3, request))) throw new DestinationExistsError(request.destinationKey);
    throw new SourceSupersededError(request.sourceKey, request.eTag, { cause: error });
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
  const stored = replacedMetadata(request) ?? (request.sourceContentType ? { ContentType: request.sourceContentType } : {});
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: request.bucket, Key: request.destinationKey, ...stored }));
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
    const completed = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: request.bucket,
        Key: request.destinationKey,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
        ...(request.failIfExists ? { IfNoneMatch: '*' } : {}),
      }),
    );
    return { method: 'multipart', parts: partCount, ...(completed.ETag ? { eTag: completed.ETag } : {}) };
  } catch (error) {
    // Abort so no parts linger; its own failure must not hide the error that caused it.
    await s3
      .send(new AbortMultipartUploadCommand({ Bucket: request.bucket, Key: request.destinationKey, UploadId: uploadId }))
      .catch(() => undefined);
    throw error;
  }
}
