/**
 * The local stack's clock speed. Every wait that stands for real AWS time (visibility timeouts, batching
 * windows, the emulator's start-up delays, Step Functions `Wait` states) is multiplied by this factor, so a
 * deployment that polls every 30 s on AWS completes in seconds locally.
 *
 * Set it with the environment variable `SMHOST_TIME_SCALE` (for example `0.01` runs 100 times faster) or
 * pass `timeScale` to `startLocalStack`. `1` is real time, the default.
 */
export const TIME_SCALE_ENV = 'SMHOST_TIME_SCALE';

/** Raised when a time scale is not a finite number greater than 0 and at most 1000. */
export class InvalidTimeScaleError extends Error {
  constructor(source: string, value: unknown) {
    super(`${source} must be a number greater than 0 and at most 1000 (1 = real time, 0.01 = 100x faster); got ${JSON.stringify(value)}`);
    this.name = 'InvalidTimeScaleError';
  }
}

/** Checks a time scale and returns it; `source` names where it came from for the error message. */
export function validateTimeScale(value: unknown, source = 'timeScale'): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1000) {
    throw new InvalidTimeScaleError(source, value);
  }
  return value;
}

/**
 * The time scale in force: an explicit value wins, then `SMHOST_TIME_SCALE`, then 1 (real time).
 * A malformed environment value is an error rather than silently real time, since a typo would otherwise
 * make every local wait 100 times longer than the user asked for.
 */
export function resolveTimeScale(explicit?: number, env: NodeJS.ProcessEnv = process.env): number {
  if (explicit !== undefined) return validateTimeScale(explicit, 'timeScale');
  const raw = env[TIME_SCALE_ENV];
  if (raw === undefined || raw.trim() === '') return 1;
  const value = Number(raw);
  // The message quotes what was written: a word such as "fast" is not a number, and would read as `null`.
  if (!Number.isFinite(value) || value <= 0 || value > 1000) throw new InvalidTimeScaleError(TIME_SCALE_ENV, raw);
  return value;
}

/** A duration given in AWS seconds, as local milliseconds under `scale`. */
export function scaledMs(seconds: number, scale: number): number {
  return Math.max(0, Math.round(seconds * 1000 * scale));
}
