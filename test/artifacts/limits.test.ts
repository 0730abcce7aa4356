import { describe, expect, it } from 'vitest';
import { ArchiveLimitsError } from '../../src/artifacts/errors';
import { archiveLimitsFromEnv, DEFAULT_ARCHIVE_LIMITS, resolveArchiveLimits } from '../../src/artifacts/limits';

const GiB = 1024 ** 3;

describe('Function: archiveLimitsFromEnv', () => {
  it('returns the defaults when no variable is set or a variable is empty', () => {
    // Prepare
    const env = { ARCHIVE_MAX_ENTRIES: '', UNRELATED: 'x' };

    // Act
    const limits = archiveLimitsFromEnv(env);

    // Assess
    expect(limits).toEqual(DEFAULT_ARCHIVE_LIMITS);
    expect(limits).not.toBe(DEFAULT_ARCHIVE_LIMITS);
  });

  it('reads every variable, with binary units for byte limits and a decimal ratio', () => {
    // Prepare
    const env = {
      ARCHIVE_MAX_COMPRESSED_BYTES: '5GiB',
      ARCHIVE_MAX_UNCOMPRESSED_BYTES: '12 GiB',
      ARCHIVE_MAX_FILE_BYTES: '1048576',
      ARCHIVE_MAX_ENTRIES: '500',
      ARCHIVE_MAX_DEPTH: ' 12 ',
      ARCHIVE_MAX_EXPANSION_RATIO: '150.5',
    };

    // Act
    const limits = archiveLimitsFromEnv(env);

    // Assess
    expect(limits).toEqual({
      maxCompressedBytes: 5 * GiB,
      maxUncompressedBytes: 12 * GiB,
      maxFileBytes: 1048576,
      maxEntries: 500,
      maxDepth: 12,
      maxExpansionRatio: 150.5,
    });
  });

  it.each([
    ['ARCHIVE_MAX_COMPRESSED_BYTES', '10GB', /ARCHIVE_MAX_COMPRESSED_BYTES must be a whole number of bytes, optionally with KiB, MiB, GiB or TiB, got "10GB"/],
    ['ARCHIVE_MAX_UNCOMPRESSED_BYTES', '-1', /ARCHIVE_MAX_UNCOMPRESSED_BYTES must be a whole number of bytes/],
    ['ARCHIVE_MAX_FILE_BYTES', '0', /ARCHIVE_MAX_FILE_BYTES must be a whole number of at least 1, got "0"/],
    ['ARCHIVE_MAX_ENTRIES', '1e4', /ARCHIVE_MAX_ENTRIES must be a whole number, got "1e4"/],
    ['ARCHIVE_MAX_ENTRIES', '5KiB', /ARCHIVE_MAX_ENTRIES must be a whole number, got "5KiB"/],
    ['ARCHIVE_MAX_DEPTH', 'deep', /ARCHIVE_MAX_DEPTH must be a whole number, got "deep"/],
    ['ARCHIVE_MAX_EXPANSION_RATIO', 'ten', /ARCHIVE_MAX_EXPANSION_RATIO must be a number of at least 1, got "ten"/],
    ['ARCHIVE_MAX_EXPANSION_RATIO', '0.5', /ARCHIVE_MAX_EXPANSION_RATIO must be a number of at least 1, got "0.5"/],
    ['ARCHIVE_MAX_COMPRESSED_BYTES', '99999999999TiB', /ARCHIVE_MAX_COMPRESSED_BYTES must be a whole number of at least 1/],
  ])('refuses %s=%j with an error naming the variable', (variable, value, message) => {
    // Prepare
    const env = { [variable]: value };

    // Act
    const read = (): unknown => archiveLimitsFromEnv(env);

    // Assess
    expect(read).toThrow(ArchiveLimitsError);
    expect(read).toThrow(message);
    try {
      read();
    } catch (error) {
      expect((error as ArchiveLimitsError).setting).toBe(variable);
    }
  });
});

describe('Function: resolveArchiveLimits', () => {
  it('completes partial limits with the defaults', () => {
    // Act
    const limits = resolveArchiveLimits({ maxEntries: 3 });

    // Assess
    expect(limits).toEqual({ ...DEFAULT_ARCHIVE_LIMITS, maxEntries: 3 });
  });

  it.each([
    [{ maxEntries: 0 }, /archive limit maxEntries must be a whole number of at least 1, got 0/],
    [{ maxDepth: 2.5 }, /archive limit maxDepth must be a whole number of at least 1, got 2.5/],
    [{ maxFileBytes: Number.NaN }, /archive limit maxFileBytes must be a whole number of at least 1/],
    [{ maxExpansionRatio: 0 }, /archive limit maxExpansionRatio must be a number of at least 1, got 0/],
    [{ maxCompressedBytes: '5' as unknown as number }, /archive limit maxCompressedBytes must be a whole number of at least 1, got "5"/],
  ])('refuses %j naming the field', (overrides, message) => {
    // Act
    const resolve = (): unknown => resolveArchiveLimits(overrides);

    // Assess
    expect(resolve).toThrow(ArchiveLimitsError);
    expect(resolve).toThrow(message);
  });

  it('keeps defaults sized for multi-GB models', () => {
    // Assess
    expect(DEFAULT_ARCHIVE_LIMITS.maxCompressedBytes).toBeGreaterThanOrEqual(10 * GiB);
    expect(DEFAULT_ARCHIVE_LIMITS.maxFileBytes).toBeGreaterThanOrEqual(10 * GiB);
    expect(DEFAULT_ARCHIVE_LIMITS.maxExpansionRatio).toBeLessThan(1000);
  });
});
