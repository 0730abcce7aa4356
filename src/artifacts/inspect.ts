import { scanArchive, type ArchiveSource } from './archive-scan';
import type { ArchiveLimits } from './limits';

/** What reading an accepted archive found. */
export interface ArchiveInspection {
  /** SHA-256 of the compressed bytes (the object as stored), lowercase hex. */
  sha256: string;
  /** Bytes of the `.tar.gz` object. */
  compressedBytes: number;
  /** Bytes gunzip produced: the whole tar stream, as `gzip -dc | wc -c` counts them. */
  uncompressedBytes: number;
  /** Files and directories. */
  entryCount: number;
  /** Regular files. */
  fileCount: number;
  /** Sum of the regular files' sizes. */
  fileBytes: number;
}

/**
 * Checks a `.tar.gz` artifact against the archive rules of DESIGN.md §6 while computing its SHA-256, reading
 * the source exactly once and to its end. Memory stays flat whatever the size; a refusal stops reading at
 * once (a decompression bomb is refused within its first megabytes).
 *
 * @param source - the archive bytes: a file stream, an S3 `Body`, or any async iterable of chunks.
 * @param limits - overrides of {@link DEFAULT_ARCHIVE_LIMITS}; see {@link archiveLimitsFromEnv}.
 * @throws {ArchiveRejectedError} with the rule, the entry and the limit when the archive is refused.
 * @throws {ArchiveLimitsError} when a given limit is not a positive number.
 * Errors of the source stream itself are rethrown unchanged (they may be transient). On a refusal the source
 * stream is destroyed rather than read on.
 */
export function inspectArchive(source: ArchiveSource, limits?: Partial<ArchiveLimits>): Promise<ArchiveInspection> {
  return scanArchive(source, limits);
}
