import { ArchiveLimitsError } from './errors';

/** Caps applied while an archive streams through; every one is checked as bytes arrive, never afterwards. */
export interface ArchiveLimits {
  /** Bytes of the `.tar.gz` object itself. */
  maxCompressedBytes: number;
  /** Bytes gunzip produces (the whole tar stream: headers, padding and file contents). */
  maxUncompressedBytes: number;
  /** Bytes of any one regular file. */
  maxFileBytes: number;
  /** Tar entries (files and directories; pax and GNU long-name records are part of their entry). */
  maxEntries: number;
  /** Path components of an entry: `model.onnx` is 1, `code/lib/util.py` is 3. */
  maxDepth: number;
  /**
   * Uncompressed over compressed bytes, checked once more than {@link EXPANSION_RATIO_GRACE_BYTES} have been
   * inflated. Real weights compress about 1.1:1 and even zero-heavy checkpoints stay well under 100:1; gzip's
   * ceiling is about 1030:1, which only long runs of identical bytes (a bomb) approach.
   */
  maxExpansionRatio: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/**
 * Uncompressed bytes inflated before the expansion ratio is enforced. Small legitimate archives (a config or a
 * tokenizer file compresses 100:1 and more) never reach it; a bomb at gzip's ~1000:1 has cost at most 64 KiB of
 * compressed input by then, so it is refused within the first megabytes read.
 */
export const EXPANSION_RATIO_GRACE_BYTES = 64 * MiB;

/**
 * Sized for real models: multi-GB weights pass (and a Lambda can stream 20 GiB within its 15 minutes), GB of
 * zeros do not (the ratio cap), and neither do archives shaped like directory floods.
 */
export const DEFAULT_ARCHIVE_LIMITS: Readonly<ArchiveLimits> = Object.freeze({
  maxCompressedBytes: 20 * GiB,
  maxUncompressedBytes: 64 * GiB,
  maxFileBytes: 32 * GiB,
  maxEntries: 10_000,
  maxDepth: 32,
  maxExpansionRatio: 200,
});

/** The environment variable that sets each limit (also named in rejection messages). */
export const ARCHIVE_LIMIT_VARIABLES: Readonly<Record<keyof ArchiveLimits, string>> = Object.freeze({
  maxCompressedBytes: 'ARCHIVE_MAX_COMPRESSED_BYTES',
  maxUncompressedBytes: 'ARCHIVE_MAX_UNCOMPRESSED_BYTES',
  maxFileBytes: 'ARCHIVE_MAX_FILE_BYTES',
  maxEntries: 'ARCHIVE_MAX_ENTRIES',
  maxDepth: 'ARCHIVE_MAX_DEPTH',
  maxExpansionRatio: 'ARCHIVE_MAX_EXPANSION_RATIO',
});

const LIMIT_KEYS = Object.keys(ARCHIVE_LIMIT_VARIABLES) as (keyof ArchiveLimits)[];
const BYTE_KEYS = new Set<keyof ArchiveLimits>(['maxCompressedBytes', 'maxUncompressedBytes', 'maxFileBytes']);
const UNITS: Record<string, number> = { '': 1, KiB, MiB, GiB, TiB: 1024 * GiB };

function checkLimit(key: keyof ArchiveLimits, value: unknown, setting: string, shown: string): number {
  if (key === 'maxExpansionRatio') {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 1) {
      throw new ArchiveLimitsError(setting, `${setting} must be a number of at least 1, got ${shown}`);
    }
    return value;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ArchiveLimitsError(setting, `${setting} must be a whole number of at least 1, got ${shown}`);
  }
  return value;
}

/**
 * Completes partial limits with the defaults and validates every value.
 *
 * @throws {ArchiveLimitsError} naming the field when a value is not a positive whole number (or, for the
 *   ratio, a number of at least 1).
 */
export function resolveArchiveLimits(overrides: Partial<ArchiveLimits> = {}): ArchiveLimits {
  const limits = { ...DEFAULT_ARCHIVE_LIMITS };
  for (const key of LIMIT_KEYS) {
    const value = overrides[key];
    if (value === undefined) continue;
    limits[key] = checkLimit(key, value, `archive limit ${key}`, JSON.stringify(value) ?? String(value));
  }
  return limits;
}

function parseVariable(key: keyof ArchiveLimits, variable: string, raw: string): number {
  const text = raw.trim();
  const shown = JSON.stringify(raw);
  if (key === 'maxExpansionRatio') {
    if (!/^\d+(\.\d+)?$/.test(text)) {
      throw new ArchiveLimitsError(variable, `${variable} must be a number of at least 1, got ${shown}`);
    }
    return checkLimit(key, Number(text), variable, shown);
  }
  const match = BYTE_KEYS.has(key) ? /^(\d+)\s*(KiB|MiB|GiB|TiB)?$/.exec(text) : /^(\d+)$/.exec(text);
  if (match === null) {
    const form = BYTE_KEYS.has(key) ? 'a whole number of bytes, optionally with KiB, MiB, GiB or TiB' : 'a whole number';
    throw new ArchiveLimitsError(variable, `${variable} must be ${form}, got ${shown}`);
  }
  return checkLimit(key, Number(match[1]) * (UNITS[match[2] ?? ''] ?? 1), variable, shown);
}

/**
 * Reads the limits from `ARCHIVE_MAX_*` variables, defaulting each one that is unset or empty. Byte limits
 * accept a binary unit (`20GiB`); the ratio accepts a decimal (`150.5`).
 *
 * @throws {ArchiveLimitsError} naming the variable and the expected form when a value is malformed.
 */
export function archiveLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): ArchiveLimits {
  const limits = { ...DEFAULT_ARCHIVE_LIMITS };
  for (const key of LIMIT_KEYS) {
    const variable = ARCHIVE_LIMIT_VARIABLES[key];
    const raw = env[variable];
    if (raw === undefined || raw.trim() === '') continue;
    limits[key] = parseVariable(key, variable, raw);
  }
  return limits;
}
