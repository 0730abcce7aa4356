import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalCommand, type LocalCommand } from './support/local-command';

/** True when something accepts connections on the URL's port. */
function listening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('Function: npm run local stopped by a signal to npm alone', () => {
  let local: LocalCommand | undefined;

  afterEach(() => {
    local?.kill();
  });

  it('stops cleanly on SIGTERM sent to the npm process only, as a supervisor sends it, freeing its port and data dir', async () => {
    // Prepare
    local = await startLocalCommand(['--ephemeral', '--port', '0']);
    const dataDir = /data: ephemeral \((.+), removed at stop\)/.exec(local.banner.join('\n'))?.[1];
    expect(dataDir).toBeDefined();

    // Act
    const stopped = await local.stop('SIGTERM', 30_000, 'npm');

    // Assess: the signal reached the stack itself, not just npm, and nothing was left running.
    expect(stopped.output).toMatch(/\[local\] SIGTERM: stopping\n(.*\n)*\[local\] stopped/);
    expect(stopped.leftovers).toEqual([]);
    expect(existsSync(dataDir!)).toBe(false);
    expect(await listening(local.url)).toBe(false);
  }, 60_000);

  it('stops when npm dies of a signal it does not pass on (SIGHUP to npm alone), rather than serving on as an orphan', async () => {
    // Prepare
    local = await startLocalCommand(['--ephemeral', '--port', '0']);
    const dataDir = /data: ephemeral \((.+), removed at stop\)/.exec(local.banner.join('\n'))?.[1];

    // Act
    const stopped = await local.stop('SIGHUP', 30_000, 'npm');

    // Assess
    expect(stopped.leftovers).toEqual([]);
    expect(stopped.output).toMatch(/\[local\] npm exited: stopping\n(.*\n)*\[local\] stopped/);
    expect(existsSync(dataDir!)).toBe(false);
    expect(await listening(local.url)).toBe(false);
  }, 60_000);
});
