/** Settings of the registration function, read from its environment (set by `serverless.yml`). */
import { archiveLimitsFromEnv, type ArchiveLimits } from '../artifacts';
import { prefixProblem } from './layout';

/** S3's limit on one CopyObject (and on one UploadPartCopy part). */
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;
/** S3's smallest part (except the last) and largest part count in a multipart upload. */
export const MIN_PART_BYTES = 5 * 1024 ** 2;
export const MAX_PARTS = 10_000;

export interface WarmUpSettings {
  /** Attempts at `InvokeEndpoint` while the endpoint answers `ModelNotReadyException`. */
  maxAttempts: number;
  /** Delay before the second attempt; each later delay doubles, up to `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface CopySettings {
  /** Objects larger than this are copied with multipart `UploadPartCopy` (at most 5 GiB). */
  multipartThresholdBytes: number;
  /** Part size for `UploadPartCopy`; raised automatically so a copy never needs more than 10,000 parts. */
  partSizeBytes: number;
}

export interface RegistrationConfig {
  bucket: string;
  registryTable: string;
  incomingPrefix: string;
  modelsPrefix: string;
  archiveLimits: Partial<ArchiveLimits>;
  warmUp: WarmUpSettings;
  copy: CopySettings;
  /** When set, registration keeps the newest N versions of the model and deletes older non-current ones. */
  retainVersions?: number;
}

/** A setting is missing or has a value the function cannot work with. */
export class RegistrationConfigError extends Error {
  override readonly name = 'RegistrationConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable} ${message}`);
  }
}

export const DEFAULT_INCOMING_PREFIX = 'incoming/';
export const DEFAULT_MODELS_PREFIX = 'models/';
export const DEFAULT_WARM_UP: WarmUpSettings = { maxAttempts: 6, initialDelayMs: 1_000, maxDelayMs: 8_000 };
export const DEFAULT_COPY: CopySettings = { multipartThresholdBytes: MAX_SINGLE_COPY_BYTES, partSizeBytes: 512 * 1024 ** 2 };

function required(env: NodeJS.ProcessEnv, variable: string): string {
  const value = env[variable]?.trim();
  if (!value) throw new RegistrationConfigError(variable, 'is required and is not set');
  return value;
}

function integer(env: NodeJS.ProcessEnv, variable: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[variable]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new RegistrationConfigError(variable, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) {
    throw new RegistrationConfigError(variable, `must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function prefix(env: NodeJS.ProcessEnv, variable: string, fallback: string): string {
  const value = env[variable]?.trim() || fallback;
  const problem = prefixProblem(value);
  if (problem) throw new RegistrationConfigError(variable, `must be a key prefix ending in "/": ${problem}`);
  return value;
}

/**
 * Reads the settings from the environment:
 * `ARTIFACTS_BUCKET`, `REGISTRY_TABLE` (required); `INCOMING_PREFIX` (`incoming/`), `MODELS_PREFIX`
 * (`models/`); the `ARCHIVE_MAX_*` limits (see `archiveLimitsFromEnv`); `WARMUP_MAX_ATTEMPTS` (6),
 * `WARMUP_INITIAL_DELAY_MS` (1000), `WARMUP_MAX_DELAY_MS` (8000); `COPY_MULTIPART_THRESHOLD_BYTES`
 * (5 GiB, S3's CopyObject limit), `COPY_PART_SIZE_BYTES` (512 MiB); `RETAIN_VERSIONS` (unset: keep all).
 *
 * @throws RegistrationConfigError naming the variable and the rule it breaks.
 */
export function registrationConfigFromEnv(env: NodeJS.ProcessEnv = process.env): RegistrationConfig {
  const incomingPrefix = prefix(env, 'INCOMING_PREFIX', DEFAULT_INCOMING_PREFIX);
  const modelsPrefix = prefix(env, 'MODELS_PREFIX', DEFAULT_MODELS_PREFIX);
  // Overlapping prefixes would make live copies look like drops (and drops like live copies).
  if (incomingPrefix.startsWith(modelsPrefix) || modelsPrefix.startsWith(incomingPrefix)) {
    throw new RegistrationConfigError(
      'MODELS_PREFIX',
      `must not overlap INCOMING_PREFIX ("${modelsPrefix}" and "${incomingPrefix}")`,
    );
  }
  const retainRaw = env.RETAIN_VERSIONS?.trim();
  const warmUp: WarmUpSettings = {
    maxAttempts: integer(env, 'WARMUP_MAX_ATTEMPTS', DEFAULT_WARM_UP.maxAttempts, 1, 100),
    initialDelayMs: integer(env, 'WARMUP_INITIAL_DELAY_MS', DEFAULT_WARM_UP.initialDelayMs, 0, 600_000),
    maxDelayMs: integer(env, 'WARMUP_MAX_DELAY_MS', DEFAULT_WARM_UP.maxDelayMs, 0, 600_000),
  };
  return {
    bucket: required(env, 'ARTIFACTS_BUCKET'),
    registryTable: required(env, 'REGISTRY_TABLE'),
    incomingPrefix,
    modelsPrefix,
    archiveLimits: archiveLimitsFromEnv(env),
    warmUp,
    copy: {
      multipartThresholdBytes: integer(
        env,
        'COPY_MULTIPART_THRESHOLD_BYTES',
        DEFAULT_COPY.multipartThresholdBytes,
        MIN_PART_BYTES,
        MAX_SINGLE_COPY_BYTES,
      ),
      partSizeBytes: integer(env, 'COPY_PART_SIZE_BYTES', DEFAULT_COPY.partSizeBytes, MIN_PART_BYTES, MAX_SINGLE_COPY_BYTES),
    },
    ...(retainRaw ? { retainVersions: integer(env, 'RETAIN_VERSIONS', 0, 1, 10_000) } : {}),
  };
}
