import { describe, expect, it } from 'vitest';
import { EntryChecks } from '../../src/artifacts/entry-checks';
import { ArchiveRejectedError, ARCHIVE_RULES, isArchiveRejected } from '../../src/artifacts/errors';
import { DEFAULT_ARCHIVE_LIMITS } from '../../src/artifacts/limits';
import type { TarEntry } from '../../src/artifacts/tar-parser';

const file = (name: string, size = 1): TarEntry => ({ kind: 'file', typeflag: '0', name, linkname: '', size, mode: 0o644, offset: 0 });
const directory = (name: string): TarEntry => ({ ...file(name, 0), kind: 'directory', typeflag: '5' });

function refusal(checks: EntryChecks, entry: TarEntry): ArchiveRejectedError {
  try {
    checks.check(entry);
  } catch (error) {
    expect(error).toBeInstanceOf(ArchiveRejectedError);
    return error as ArchiveRejectedError;
  }
  throw new Error(`expected ${entry.name} to be refused`);
}

describe('Class: EntryChecks', () => {
  it('normalises ./, repeated slashes and trailing slashes', () => {
    // Prepare
    const checks = new EntryChecks(DEFAULT_ARCHIVE_LIMITS);

    // Act
    const paths = [directory('./'), directory('./model//'), file('./model//./weights.bin'), file('model/sub/x')].map(
      (entry) => checks.check(entry).path,
    );

    // Assess
    expect(paths).toEqual(['', 'model', 'model/weights.bin', 'model/sub/x']);
    expect(checks).toMatchObject({ entryCount: 4, fileCount: 2, fileBytes: 2 });
  });

  it('allows a directory listed twice, or after files inside it', () => {
    // Prepare
    const checks = new EntryChecks(DEFAULT_ARCHIVE_LIMITS);

    // Act
    const act = (): void => {
      for (const entry of [directory('a/'), file('a/b/c'), directory('a/b/'), directory('a/')]) checks.check(entry);
    };

    // Assess
    expect(act).not.toThrow();
  });

  it.each([
    ['a file where a directory was', [directory('model/')], file('model'), 'duplicate-entry', /the path "model" appears twice/],
    ['a file where a directory is implied', [file('model/x')], file('model'), 'duplicate-entry', /appears twice/],
    ['a directory where a file was', [file('model')], directory('model/'), 'duplicate-entry', /appears twice/],
    ['the same file via ./', [file('a/b')], file('./a//b'), 'duplicate-entry', /the path "a\/b" appears twice/],
    ['a path component over 255 bytes', [], file(`dir/${'c'.repeat(256)}`), 'name-length', /a path component over 255 bytes/],
    ['a file named "."', [], file('./'), 'corrupt-tar', /a regular file without a name/],
    ['".." even when it stays inside', [], file('a/../b'), 'parent-traversal', /".." is not allowed in paths/],
    ['an unknown type', [], { ...file('x'), kind: 'unknown', typeflag: 'V' } as TarEntry, 'entry-type', /an unknown entry type "V"; only regular files/],
    ['a GNU sparse file', [], { ...file('x'), kind: 'gnu-sparse', typeflag: 'S' } as TarEntry, 'entry-type', /a GNU sparse file/],
  ])('refuses %s', (_what, before, entry, rule, message) => {
    // Prepare
    const checks = new EntryChecks(DEFAULT_ARCHIVE_LIMITS);
    for (const earlier of before) checks.check(earlier);

    // Act
    const error = refusal(checks, entry);

    // Assess
    expect(error.rule).toBe(rule);
    expect(error.entry).toBe(entry.name);
    expect(error.message).toMatch(message);
  });

  it('counts directories towards the entry limit and names the first entry over it', () => {
    // Prepare
    const checks = new EntryChecks({ ...DEFAULT_ARCHIVE_LIMITS, maxEntries: 2 });
    checks.check(directory('a/'));
    checks.check(file('a/1'));

    // Act
    const error = refusal(checks, file('a/2'));

    // Assess
    expect(error).toMatchObject({ rule: 'entry-count', entry: 'a/2', limit: 2, actual: 3 });
    expect(error.message).toBe('entry "a/2" rejected: entry-count (more than 2 entries (ARCHIVE_MAX_ENTRIES))');
  });

  it('accepts exactly the depth limit and refuses one more', () => {
    // Prepare
    const checks = new EntryChecks({ ...DEFAULT_ARCHIVE_LIMITS, maxDepth: 3 });

    // Act
    const atLimit = checks.check(file('a/b/c')).path;
    const error = refusal(checks, file('a/b/c2/d'));

    // Assess
    expect(atLimit).toBe('a/b/c');
    expect(error).toMatchObject({ rule: 'depth', limit: 3, actual: 4 });
  });

  it('refuses an archive without regular files when finishing', () => {
    // Prepare
    const checks = new EntryChecks(DEFAULT_ARCHIVE_LIMITS);
    checks.check(directory('only/'));

    // Act
    const finish = (): void => checks.finish();

    // Assess
    expect(finish).toThrow("archive rejected: no-files (the archive's 1 entries are all directories; a model artifact needs at least one regular file)");
  });
});

describe('Class: ArchiveRejectedError', () => {
  it('names the rule, the entry (JSON-quoted) and the reason', () => {
    // Act
    const error = new ArchiveRejectedError('parent-traversal', '".." is not allowed in paths', { entry: '../x' });

    // Assess
    expect(error.message).toBe('entry "../x" rejected: parent-traversal (".." is not allowed in paths)');
    expect(error.name).toBe('ArchiveRejectedError');
    expect(isArchiveRejected(error)).toBe(true);
    expect(isArchiveRejected(error, 'parent-traversal')).toBe(true);
    expect(isArchiveRejected(error, 'depth')).toBe(false);
    expect(isArchiveRejected(new Error('x'))).toBe(false);
  });

  it('lists every rule once, in kebab-case', () => {
    // Assess
    expect(new Set(ARCHIVE_RULES).size).toBe(ARCHIVE_RULES.length);
    for (const rule of ARCHIVE_RULES) expect(rule).toMatch(/^[a-z]+(-[a-z]+)*$/);
  });
});
