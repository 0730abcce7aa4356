import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, rm, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { scanArchive, type ArchiveSource } from './archive-scan';
import type { CheckedEntry } from './entry-checks';
import { ExtractDestinationError } from './errors';
import type { ArchiveInspection } from './inspect';
import { resolveArchiveLimits, type ArchiveLimits } from './limits';

interface Destination {
  root: string;
  /** The highest directory this call created, removed whole on failure. */
  createdTop: string | undefined;
}

async function prepareDestination(destDir: string): Promise<Destination> {
  const wanted = resolve(destDir);
  let createdTop: string | undefined;
  try {
    const stats = await lstat(wanted).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (stats === undefined) {
      createdTop = await mkdir(wanted, { recursive: true, mode: 0o755 });
    } else {
      const target = stats.isSymbolicLink() ? await lstat(await realpath(wanted)) : stats;
      if (!target.isDirectory()) throw new ExtractDestinationError(destDir, `extraction target ${JSON.stringify(destDir)} is not a directory`);
      const existing = await readdir(wanted);
      if (existing.length > 0) {
        throw new ExtractDestinationError(
          destDir,
          `extraction target ${JSON.stringify(destDir)} is not empty (${existing.length} entries); extract into a new or empty directory`,
        );
      }
    }
    return { root: await realpath(wanted), createdTop };
  } catch (error) {
    if (error instanceof ExtractDestinationError) throw error;
    throw new ExtractDestinationError(destDir, `extraction target ${JSON.stringify(destDir)} cannot be used: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** Regular files keep only whether they are executable: no set-uid, no world-writable bits from an archive. */
function fileMode(mode: number): number {
  return mode & 0o111 ? 0o755 : 0o644;
}

async function writeFully(handle: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
    offset += bytesWritten;
  }
}

/**
 * Extracts a `.tar.gz` artifact under `destDir` with the same single streaming read and the same checks as
 * {@link inspectArchive}: only regular files and directories are written, each path is resolved again and must
 * stay under `destDir`, files are created exclusively without following links, and modes are reduced to
 * 0644/0755. Ownership and timestamps are not restored.
 *
 * `destDir` must be missing (it is created) or empty, so that cleaning up can never touch anything this call
 * did not write: when the archive is refused, or writing fails, everything written is removed before the error
 * is rethrown.
 *
 * @returns the same figures {@link inspectArchive} returns.
 * @throws {ArchiveRejectedError} when the archive breaks a rule (nothing is left behind).
 * @throws {ExtractDestinationError} when `destDir` is not a directory or not empty (the source is not read).
 * @throws {ArchiveLimitsError} when a given limit is not usable (nothing is created).
 * On a refusal the source stream is destroyed rather than read on; other errors of the source are rethrown
 * unchanged, after the same clean-up.
 */
export async function extractArchive(
  source: ArchiveSource,
  destDir: string,
  limits?: Partial<ArchiveLimits>,
): Promise<ArchiveInspection> {
  const checkedLimits = resolveArchiveLimits(limits); // a bad limit must fail before anything is created
  const { root, createdTop } = await prepareDestination(destDir);
  const topLevel = new Set<string>();
  const knownDirectories = new Set<string>([root]);
  let handle: FileHandle | undefined;

  const inside = (path: string): string => {
    const target = resolve(root, path);
    const back = relative(root, target);
    if (back === '' || back.startsWith(`..${sep}`) || back === '..' || isAbsolute(back)) {
      throw new ExtractDestinationError(destDir, `entry path ${JSON.stringify(path)} resolves outside ${JSON.stringify(root)}`);
    }
    return target;
  };

  const ensureDirectory = async (directory: string): Promise<void> => {
    if (knownDirectories.has(directory)) return;
    await mkdir(directory, { recursive: true, mode: 0o755 });
    // Nothing here creates links, but the tree could have been changed under us: check before writing into it.
    if ((await realpath(directory)) !== directory) {
      throw new ExtractDestinationError(destDir, `directory ${JSON.stringify(directory)} resolves elsewhere; refusing to write through a link`);
    }
    knownDirectories.add(directory);
  };

  const visitor = {
    async onEntry(entry: CheckedEntry): Promise<void> {
      if (entry.path === '') return;
      const target = inside(entry.path);
      topLevel.add(entry.path.split('/', 1)[0] as string);
      if (entry.kind === 'directory') {
        await ensureDirectory(target);
        return;
      }
      await ensureDirectory(dirname(target));
      handle = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, fileMode(entry.mode));
    },
    async onData(chunk: Buffer): Promise<void> {
      if (handle) await writeFully(handle, chunk);
    },
    async onEntryEnd(): Promise<void> {
      const open = handle;
      handle = undefined;
      await open?.close();
    },
  };

  try {
    return await scanArchive(source, checkedLimits, visitor);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    if (createdTop !== undefined) await rm(createdTop, { recursive: true, force: true });
    else await Promise.all([...topLevel].map((name) => rm(join(root, name), { recursive: true, force: true })));
    throw error;
  }
}
