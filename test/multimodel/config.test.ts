import { describe, expect, it } from 'vitest';
import { ArchiveLimitsError } from '../../src/artifacts';
import { DEFAULT_COPY, DEFAULT_WARM_UP, registrationConfigFromEnv, RegistrationConfigError } from '../../src/multimodel/config';

const base = { ARTIFACTS_BUCKET: 'bucket', REGISTRY_TABLE: 'table' };

describe('Function: registrationConfigFromEnv', () => {
  it('applies the defaults', () => {
    // Act
    const config = registrationConfigFromEnv({ ...base });

    // Assess
    expect(config).toMatchObject({
      bucket: 'bucket',
      registryTable: 'table',
      incomingPrefix: 'incoming/',
      modelsPrefix: 'models/',
      warmUp: DEFAULT_WARM_UP,
      copy: DEFAULT_COPY,
    });
    expect(config.retainVersions).toBeUndefined();
    expect(config.archiveLimits.maxExpansionRatio).toBeGreaterThan(1);
  });

  it('reads every setting', () => {
    const config = registrationConfigFromEnv({
      ...base,
      INCOMING_PREFIX: 'drop/',
      MODELS_PREFIX: 'live/',
      WARMUP_MAX_ATTEMPTS: '3',
      WARMUP_INITIAL_DELAY_MS: '10',
      WARMUP_MAX_DELAY_MS: '40',
      COPY_MULTIPART_THRESHOLD_BYTES: String(100 * 1024 ** 2),
      COPY_PART_SIZE_BYTES: String(10 * 1024 ** 2),
      RETAIN_VERSIONS: '5',
      ARCHIVE_MAX_ENTRIES: '7',
    });
    expect(config).toMatchObject({
      incomingPrefix: 'drop/',
      modelsPrefix: 'live/',
      warmUp: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 40 },
      copy: { multipartThresholdBytes: 100 * 1024 ** 2, partSizeBytes: 10 * 1024 ** 2 },
      retainVersions: 5,
    });
    expect(config.archiveLimits.maxEntries).toBe(7);
  });

  it.each([
    [{ REGISTRY_TABLE: 't' }, /ARTIFACTS_BUCKET is required/],
    [{ ARTIFACTS_BUCKET: 'b' }, /REGISTRY_TABLE is required/],
    [{ ...base, INCOMING_PREFIX: 'incoming' }, /INCOMING_PREFIX must be a key prefix ending in "\/"/],
    [{ ...base, MODELS_PREFIX: '/models/' }, /MODELS_PREFIX .*starts with "\/"/],
    [{ ...base, MODELS_PREFIX: 'incoming/models/' }, /MODELS_PREFIX must not overlap INCOMING_PREFIX/],
    [{ ...base, WARMUP_MAX_ATTEMPTS: 'three' }, /WARMUP_MAX_ATTEMPTS must be a whole number, got "three"/],
    [{ ...base, WARMUP_MAX_ATTEMPTS: '0' }, /WARMUP_MAX_ATTEMPTS must be between 1 and 100, got 0/],
    [{ ...base, COPY_MULTIPART_THRESHOLD_BYTES: String(6 * 1024 ** 3) }, /COPY_MULTIPART_THRESHOLD_BYTES must be between/],
    [{ ...base, COPY_PART_SIZE_BYTES: '1024' }, /COPY_PART_SIZE_BYTES must be between/],
    [{ ...base, RETAIN_VERSIONS: '0' }, /RETAIN_VERSIONS must be between 1 and/],
  ])('refuses %j naming the variable and the rule', (env, message) => {
    expect(() => registrationConfigFromEnv(env)).toThrow(RegistrationConfigError);
    expect(() => registrationConfigFromEnv(env)).toThrow(message);
  });

  it('passes archive limit errors through with their variable', () => {
    expect(() => registrationConfigFromEnv({ ...base, ARCHIVE_MAX_ENTRIES: 'many' })).toThrow(ArchiveLimitsError);
  });
});
