/** Content-addressed versions and the ordering of S3 events on one key. */
import { VERSION_LENGTH } from './layout';

/** A value that should be a SHA-256 or an S3 sequencer is not one. */
export class InvalidVersionInputError extends Error {
  override readonly name = 'InvalidVersionInputError';
  constructor(message: string) {
    super(message);
  }
}

const SHA256_PATTERN = /^[0-9a-fA-F]{64}$/;
const HEX_PATTERN = /^[0-9a-fA-F]+$/;

/**
 * The version of an artifact: the first 16 hex digits of its SHA-256. 64 bits keep accidental
 * collisions out of reach for any realistic number of versions of one model, while the name stays
 * short enough to read in a `TargetModel`.
 */
export function versionFromSha256(sha256: string): string {
  if (!SHA256_PATTERN.test(sha256)) {
    throw new InvalidVersionInputError(`sha256 "${sha256}" is not 64 hex digits`);
  }
  return sha256.slice(0, VERSION_LENGTH).toLowerCase();
}

/** True when `value` can be compared by `compareSequencers`. */
export function isSequencer(value: unknown): value is string {
  return typeof value === 'string' && HEX_PATTERN.test(value);
}

/**
 * Orders two S3 event sequencers of the same key: negative when `a` happened first, positive when
 * `b` did, 0 when they are the same event. Sequencers are hex strings of varying length; the S3 user
 * guide says to right-pad the shorter with zeros and then compare lexicographically (a plain string
 * comparison gets `"AB" < "AB0"` wrong, and a numeric one gets `"B" < "AB"` wrong), case-insensitively.
 */
export function compareSequencers(a: string, b: string): number {
  for (const [name, value] of [['a', a], ['b', b]] as const) {
    if (!isSequencer(value)) throw new InvalidVersionInputError(`sequencer ${name} "${value}" is not a hex string`);
  }
  const width = Math.max(a.length, b.length);
  const left = a.toUpperCase().padEnd(width, '0');
  const right = b.toUpperCase().padEnd(width, '0');
  return left < right ? -1 : left > right ? 1 : 0;
}
