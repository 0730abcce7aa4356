/**
 * Why an artifact archive was refused. One kebab-case name per rule of DESIGN.md §6 "Archive checks", so the
 * registry, the S3 tag and the command line can all record and match the same word.
 */
export type ArchiveRule =
  | 'empty'
  | 'not-gzip'
  | 'truncated-gzip'
  | 'corrupt-gzip'
  | 'not-tar'
  | 'truncated-tar'
  | 'corrupt-tar'
  | 'entry-type'
  | 'absolute-path'
  | 'parent-traversal'
  | 'backslash'
  | 'nul-in-name'
  | 'name-encoding'
  | 'name-length'
  | 'duplicate-entry'
  | 'compressed-size'
  | 'uncompressed-size'
  | 'file-size'
  | 'entry-count'
  | 'depth'
  | 'expansion-ratio'
  | 'no-files';

/** Every rule, in a stable order (for schemas, docs and exhaustive tests). */
export const ARCHIVE_RULES: readonly ArchiveRule[] = Object.freeze([
  'empty',
  'not-gzip',
  'truncated-gzip',
  'corrupt-gzip',
  'not-tar',
  'truncated-tar',
  'corrupt-tar',
  'entry-type',
  'absolute-path',
  'parent-traversal',
  'backslash',
  'nul-in-name',
  'name-encoding',
  'name-length',
  'duplicate-entry',
  'compressed-size',
  'uncompressed-size',
  'file-size',
  'entry-count',
  'depth',
  'expansion-ratio',
  'no-files',
] as const);

/** Details a rejection carries beyond its rule, so callers can record them without parsing the message. */
export interface ArchiveRejectionDetails {
  /** The entry's name as written in the archive, when the rule is about one entry. */
  entry?: string;
  /** The configured limit that was exceeded, for the size and count rules. */
  limit?: number;
  /** The value that exceeded it (bytes, entries, levels or the ratio), when there is one. */
  actual?: number;
  cause?: unknown;
}

/**
 * The archive breaks one of the artifact rules. This is a verdict on the content, never a transient failure:
 * errors of the source stream itself (network, S3) are passed through unwrapped, so a caller can retry those.
 *
 * The message names the rule, the entry (JSON-quoted, so a NUL or a newline in a hostile name stays visible)
 * and the limit, e.g. `entry "../x" rejected: parent-traversal (".." is not allowed in paths)`.
 */
export class ArchiveRejectedError extends Error {
  override readonly name = 'ArchiveRejectedError';
  readonly rule: ArchiveRule;
  readonly entry?: string;
  readonly limit?: number;
  readonly actual?: number;

  constructor(rule: ArchiveRule, reason: string, details: ArchiveRejectionDetails = {}) {
    const subject = details.entry === undefined ? 'archive' : `entry ${JSON.stringify(details.entry)}`;
    super(`${subject} rejected: ${rule} (${reason})`, details.cause === undefined ? undefined : { cause: details.cause });
    this.rule = rule;
    if (details.entry !== undefined) this.entry = details.entry;
    if (details.limit !== undefined) this.limit = details.limit;
    if (details.actual !== undefined) this.actual = details.actual;
  }
}

/** True when `error` is an archive rejection (optionally: for this rule). */
export function isArchiveRejected(error: unknown, rule?: ArchiveRule): error is ArchiveRejectedError {
  return error instanceof ArchiveRejectedError && (rule === undefined || error.rule === rule);
}

/** A limit given in code or in the environment is not usable (not a number, zero, negative, ...). */
export class ArchiveLimitsError extends Error {
  override readonly name = 'ArchiveLimitsError';
  /** The environment variable or the `ArchiveLimits` field that holds the bad value. */
  readonly setting: string;

  constructor(setting: string, message: string) {
    super(message);
    this.setting = setting;
  }
}

/** The extraction target cannot be used (it is not empty, not a directory, ...); the archive was not read. */
export class ExtractDestinationError extends Error {
  override readonly name = 'ExtractDestinationError';
  readonly destDir: string;

  constructor(destDir: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.destDir = destDir;
  }
}
