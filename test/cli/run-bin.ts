/**
 * The command line as a user runs it: `bin/smhost.js` in a child process whose environment holds only
 * PATH, HOME and what the test gives (so nothing of the test process configures it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const SMHOST_BIN = fileURLToPath(new URL('../../bin/smhost.js', import.meta.url));

export interface BinRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface BinOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** The interpreter; this process's by default. */
  node?: string;
  /** Called with all of stderr so far each time more arrives, e.g. to signal the child at some point. */
  onStderr?: (stderr: string, child: ChildProcess) => void;
}

/** Runs `smhost <args>` to its end. */
export function runBin(args: string[], options: BinOptions): Promise<BinRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(options.node ?? process.execPath, [SMHOST_BIN, ...args], {
      ...(options.cwd ? { cwd: options.cwd } : {}),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      options.onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
