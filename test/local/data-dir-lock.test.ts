import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirInUseError, LOCK_FILE_NAME, lockDataDir } from '../../src/local/data-dir-lock';
import { LocalPortInUseError } from '../../src/local/stack';
import { startFixtureStack } from './fixture-stack';

/** The pid of a process that has exited: what a killed stack leaves in its lock. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'data-dir-lock-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Function: lockDataDir', () => {
  it('refuses a data dir a live process holds, naming the dir, the holder, its URL and the ways out', async () => {
    // Prepare
    const held = await lockDataDir(dir);
    await held.describe('http://127.0.0.1:4566');

    // Act
    const refused = await lockDataDir(dir).catch((error: unknown) => error);

    // Assess
    expect(refused).toBeInstanceOf(DataDirInUseError);
    expect((refused as Error).message).toBe(
      `the data dir ${dir} is in use by another local stack (pid ${process.pid}, http://127.0.0.1:4566): stop it, or start this one with another --data-dir or with --ephemeral (if no stack runs, delete ${join(dir, LOCK_FILE_NAME)})`,
    );
    await held.release();
  });

  it('takes over a lock whose holder has exited, or a lock cut short', async () => {
    // Prepare
    await writeFile(join(dir, LOCK_FILE_NAME), JSON.stringify({ pid: deadPid(), url: 'http://127.0.0.1:1' }));

    // Act
    const taken = await lockDataDir(dir);

    // Assess
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE_NAME), 'utf8'))).toEqual({ pid: process.pid, token: expect.any(String) });
    await taken.release();
    await writeFile(join(dir, LOCK_FILE_NAME), '{"pid": 12');
    await (await lockDataDir(dir)).release();
  });

  it('removes its lock at release, and leaves a lock another process took meanwhile', async () => {
    const first = await lockDataDir(dir);
    await first.release();
    expect(existsSync(join(dir, LOCK_FILE_NAME))).toBe(false);
    const second = await lockDataDir(dir);
    await first.release();
    expect(existsSync(join(dir, LOCK_FILE_NAME))).toBe(true);
    await second.release();
  });
});

describe('Function: startLocalStack, one stack per data dir and port', () => {
  it('refuses a second stack on the data dir of a running one, and starts once the first has stopped', async () => {
    // Prepare
    const first = await startFixtureStack({ runFunctions: false, ephemeral: false, dataDir: dir });

    // Act
    const second = await startFixtureStack({ runFunctions: false, ephemeral: false, dataDir: dir }).catch((error: unknown) => error);
    await first.close();
    const third = await startFixtureStack({ runFunctions: false, ephemeral: false, dataDir: dir });
    await third.close();

    // Assess
    expect(second).toBeInstanceOf(DataDirInUseError);
    expect((second as Error).message).toContain(`(pid ${process.pid}, ${first.stack.url})`);
    expect(existsSync(join(dir, LOCK_FILE_NAME))).toBe(false);
  });

  it('refuses a port in use, naming it and --port 0, and releases the data dir', async () => {
    // Prepare
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as AddressInfo).port;

    try {
      // Act
      const refused = await startFixtureStack({ runFunctions: false, ephemeral: false, dataDir: dir, port }).catch((error: unknown) => error);

      // Assess
      expect(refused).toBeInstanceOf(LocalPortInUseError);
      expect((refused as Error).message).toBe(`port ${port} on 127.0.0.1 is in use (another npm run local?): stop what holds it, or pass --port 0 for a free port or --port <another>`);
      expect(existsSync(join(dir, LOCK_FILE_NAME))).toBe(false);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });

  it('removes a data dir its failed first start created, and keeps one that was there before', async () => {
    // Prepare
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as AddressInfo).port;
    const fresh = join(dir, 'fresh');

    try {
      // Act
      const refusedFresh = await startFixtureStack({ runFunctions: false, ephemeral: false, dataDir: fresh, port }).catch((error: unknown) => error);
      const refusedExisting = await startFixtureStack({ runFunctions: false, ephemeral: false, dataDir: dir, port }).catch((error: unknown) => error);

      // Assess
      expect(refusedFresh).toBeInstanceOf(LocalPortInUseError);
      expect(existsSync(fresh)).toBe(false);
      expect(refusedExisting).toBeInstanceOf(LocalPortInUseError);
      expect(existsSync(dir)).toBe(true);
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });
});
