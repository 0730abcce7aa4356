/**
 * One local stack per data dir. Two stacks writing the same S3 store, DynamoDB files, queues and SageMaker state
 * would overwrite each other's files without either noticing, so a stack holds `<data dir>/local-stack.lock`
 * (its pid and URL) while it runs. A lock left by a process that no longer exists (a killed stack) is taken over.
 */
import { randomUUID } from 'node:crypto';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const LOCK_FILE_NAME = 'local-stack.lock';

/** Raised when another running local stack holds the data dir; names the dir, the holder and the way out. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
    holderUrl: string | undefined,
  ) {
    super(
      `the data dir ${dataDir} is in use by another local stack (pid ${holderPid}${holderUrl ? `, ${holderUrl}` : ''}): ` +
        `stop it, or start this one with another --data-dir or with --ephemeral (if no stack runs, delete ${join(dataDir, LOCK_FILE_NAME)})`,
    );
    this.name = 'DataDirInUseError';
  }
}

export interface DataDirLock {
  /** Records the URL the stack serves, for the message another stack would give. */
  describe(url: string): Promise<void>;
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Holder {
  pid: number;
  /** Tells apart two stacks of one process (tests start several). */
  token?: string;
  url?: string;
}

async function readHolder(file: string): Promise<Holder | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as { pid?: unknown; token?: unknown; url?: unknown };
    if (typeof parsed.pid === 'number' && Number.isInteger(parsed.pid) && parsed.pid > 0) {
      return {
        pid: parsed.pid,
        ...(typeof parsed.token === 'string' ? { token: parsed.token } : {}),
        ...(typeof parsed.url === 'string' ? { url: parsed.url } : {}),
      };
    }
  } catch {
    // A lock cut short by a crash while it was written holds no live pid.
  }
  return { pid: 0 };
}

/** Takes the data dir's lock, or throws `DataDirInUseError` when a live process holds it. */
export async function lockDataDir(dataDir: string, pid = process.pid): Promise<DataDirLock> {
  const file = join(dataDir, LOCK_FILE_NAME);
  const token = randomUUID();
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(JSON.stringify({ pid, token }));
      await handle.close();
      let released = false;
      return {
        async describe(url) {
          if (released) return;
          // Written aside and renamed, so another stack never reads half a lock (which it would take as stale).
          await writeFile(`${file}.${token}`, JSON.stringify({ pid, token, url }));
          await rename(`${file}.${token}`, file);
        },
        async release() {
          released = true;
          const holder = await readHolder(file);
          if (holder?.token === token) await rm(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readHolder(file);
    if (holder && holder.pid > 0 && alive(holder.pid)) throw new DataDirInUseError(dataDir, holder.pid, holder.url);
    // The holder is gone: its lock is stale.
    await rm(file, { force: true });
  }
  throw new Error(`could not take the lock ${file}: it kept reappearing`);
}
