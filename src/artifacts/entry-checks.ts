import { ArchiveRejectedError } from './errors';
import { ARCHIVE_LIMIT_VARIABLES, type ArchiveLimits } from './limits';
import type { TarEntry, TarEntryKind } from './tar-parser';

/** An entry that passed every check, with its path normalised (`./a//b` → `a/b`; `''` is the root). */
export interface CheckedEntry {
  kind: 'file' | 'directory';
  /** The name as written in the archive (what messages show). */
  name: string;
  /** Normalised relative path, `/`-separated, no `.`, `..` or empty segments. */
  path: string;
  size: number;
  mode: number;
}

/** Longest name a Linux path can hold (PATH_MAX), and the longest single component (NAME_MAX). */
export const MAX_NAME_BYTES = 4096;
export const MAX_COMPONENT_BYTES = 255;

const REFUSED_KINDS: Record<Exclude<TarEntryKind, 'file' | 'directory'>, string> = {
  hardlink: 'a hard link',
  symlink: 'a symbolic link',
  'character-device': 'a character device',
  'block-device': 'a block device',
  fifo: 'a FIFO (named pipe)',
  'gnu-sparse': 'a GNU sparse file',
  unknown: 'an unknown entry type',
};

/**
 * The per-entry rules of DESIGN.md §6: only regular files and directories, no absolute paths, `..`,
 * backslashes or NUL, and the caps on entries, depth and file size. Also refuses a path given twice (or a file
 * used as a directory): extraction would have to pick one, and what was inspected must be what is extracted.
 */
export class EntryChecks {
  private readonly files = new Set<string>();
  private readonly directories = new Set<string>();
  entryCount = 0;
  fileCount = 0;
  fileBytes = 0;

  constructor(private readonly limits: ArchiveLimits) {}

  /** Checks one entry. @throws {ArchiveRejectedError} naming the entry and the rule it breaks. */
  check(entry: TarEntry): CheckedEntry {
    const name = entry.name;
    this.entryCount += 1;
    if (this.entryCount > this.limits.maxEntries) {
      throw new ArchiveRejectedError('entry-count', `more than ${this.limits.maxEntries} entries (${ARCHIVE_LIMIT_VARIABLES.maxEntries})`, {
        entry: name,
        limit: this.limits.maxEntries,
        actual: this.entryCount,
      });
    }
    if (entry.kind !== 'file' && entry.kind !== 'directory') {
      const link = entry.kind === 'hardlink' || entry.kind === 'symlink' ? ` to ${JSON.stringify(entry.linkname)}` : '';
      const flag = entry.kind === 'unknown' ? ` ${JSON.stringify(entry.typeflag)}` : '';
      throw new ArchiveRejectedError('entry-type', `${REFUSED_KINDS[entry.kind]}${flag}${link}; only regular files and directories are allowed`, {
        entry: name,
      });
    }

    const path = this.checkName(name, entry.kind);

    if (entry.kind === 'file' && entry.size > this.limits.maxFileBytes) {
      throw new ArchiveRejectedError(
        'file-size',
        `${entry.size} bytes, over the ${this.limits.maxFileBytes}-byte limit per file (${ARCHIVE_LIMIT_VARIABLES.maxFileBytes})`,
        { entry: name, limit: this.limits.maxFileBytes, actual: entry.size },
      );
    }

    this.claim(path, entry.kind, name);
    if (entry.kind === 'file') {
      this.fileCount += 1;
      this.fileBytes += entry.size;
    }
    return { kind: entry.kind, name, path, size: entry.size, mode: entry.mode };
  }

  /** @throws {ArchiveRejectedError} `no-files` when the archive held no regular file. */
  finish(): void {
    if (this.fileCount === 0) {
      const what = this.entryCount === 0 ? 'the archive has no entries' : `the archive's ${this.entryCount} entries are all directories`;
      throw new ArchiveRejectedError('no-files', `${what}; a model artifact needs at least one regular file`);
    }
  }

  private checkName(name: string, kind: 'file' | 'directory'): string {
    const bytes = Buffer.byteLength(name);
    if (bytes > MAX_NAME_BYTES) {
      throw new ArchiveRejectedError('name-length', `a name of ${bytes} bytes, over ${MAX_NAME_BYTES}`, {
        entry: name,
        limit: MAX_NAME_BYTES,
        actual: bytes,
      });
    }
    if (name.includes('\u0000')) throw new ArchiveRejectedError('nul-in-name', 'NUL is not allowed in names', { entry: name });
    if (name.includes('\\')) {
      throw new ArchiveRejectedError('backslash', 'backslashes are not allowed in paths (they separate paths on Windows)', { entry: name });
    }
    if (name.startsWith('/')) throw new ArchiveRejectedError('absolute-path', 'paths must be relative', { entry: name });

    const segments: string[] = [];
    for (const segment of name.split('/')) {
      if (segment === '' || segment === '.') continue;
      if (segment === '..') throw new ArchiveRejectedError('parent-traversal', '".." is not allowed in paths', { entry: name });
      if (Buffer.byteLength(segment) > MAX_COMPONENT_BYTES) {
        throw new ArchiveRejectedError('name-length', `a path component over ${MAX_COMPONENT_BYTES} bytes`, {
          entry: name,
          limit: MAX_COMPONENT_BYTES,
          actual: Buffer.byteLength(segment),
        });
      }
      segments.push(segment);
    }
    if (segments.length > this.limits.maxDepth) {
      throw new ArchiveRejectedError('depth', `${segments.length} levels deep, over ${this.limits.maxDepth} (${ARCHIVE_LIMIT_VARIABLES.maxDepth})`, {
        entry: name,
        limit: this.limits.maxDepth,
        actual: segments.length,
      });
    }
    if (segments.length === 0 && kind === 'file') {
      throw new ArchiveRejectedError('corrupt-tar', 'a regular file without a name', { entry: name });
    }
    return segments.join('/');
  }

  private claim(path: string, kind: 'file' | 'directory', name: string): void {
    if (path === '') return;
    if (this.files.has(path) || (kind === 'file' && this.directories.has(path))) {
      throw new ArchiveRejectedError('duplicate-entry', `the path ${JSON.stringify(path)} appears twice`, { entry: name });
    }
    // Deepest parent first: once one is known, its own parents were checked and recorded when it was.
    // Memory stays bounded by the entry and depth caps, whatever the archive's size.
    for (let slash = path.lastIndexOf('/'); slash !== -1; slash = path.lastIndexOf('/', slash - 1)) {
      const parent = path.slice(0, slash);
      if (this.directories.has(parent)) break;
      if (this.files.has(parent)) {
        throw new ArchiveRejectedError('duplicate-entry', `its parent ${JSON.stringify(parent)} is a file in this archive`, { entry: name });
      }
      this.directories.add(parent);
    }
    (kind === 'file' ? this.files : this.directories).add(path);
  }
}
