/**
 * One bash process that runs shell snippets in order, as a user pastes them into one terminal: variables set by a
 * snippet are seen by the next. `set -eo pipefail` stops at the first failing command, and the failure names the
 * snippet with what it printed. Each snippet's stdout and stderr are captured apart; its stdin is /dev/null, so
 * nothing it runs can eat the next snippet.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SnippetRun {
  stdout: string;
  stderr: string;
  /** Real milliseconds the snippet took. */
  ms: number;
}

/** Raised when a snippet fails, ends the shell, or runs past its time; carries what it printed. */
export class SnippetFailedError extends Error {
  constructor(
    what: string,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`${what}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`);
    this.name = 'SnippetFailedError';
  }
}

export class BashSession {
  private count = 0;
  private output = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly shell: ChildProcessWithoutNullStreams,
    private readonly dir: string,
  ) {
    shell.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      this.output += chunk;
      for (const wake of this.waiters) wake();
    });
    shell.stderr.resume();
    shell.on('exit', (code, signal) => {
      this.exited = { code, signal };
      for (const wake of this.waiters) wake();
    });
  }

  /** Starts bash (no profile, no rc files) in `cwd` with exactly `env`. */
  static async start(options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<BashSession> {
    const dir = await mkdtemp(join(tmpdir(), 'bash-session-'));
    // Its own process group, so a snippet stuck in a loop can be stopped with everything it started.
    const shell = spawn('bash', ['--noprofile', '--norc'], { cwd: options.cwd, env: options.env, detached: true, stdio: 'pipe' });
    const session = new BashSession(shell, dir);
    shell.stdin.write('set -eo pipefail\n');
    return session;
  }

  /** Runs one snippet; resolves with its output, rejects with `SnippetFailedError` naming `label`. */
  async run(code: string, options: { label: string; timeoutMs: number }): Promise<SnippetRun> {
    if (this.exited) throw new SnippetFailedError(`${options.label}: the shell has already ended (code ${this.exited.code})`, '', '');
    const n = (this.count += 1);
    const file = join(this.dir, `snippet-${n}.sh`);
    const out = join(this.dir, `snippet-${n}.out`);
    const err = join(this.dir, `snippet-${n}.err`);
    await writeFile(file, code);
    const done = `__snippet_done__ ${n}\n`;
    const started = Date.now();
    this.shell.stdin.write(`source '${file}' < /dev/null > '${out}' 2> '${err}'; printf '${done.replace('\n', '\\n')}'\n`);
    const outcome = await new Promise<'done' | 'exited' | 'timeout'>((resolve) => {
      const check = () => {
        if (this.output.includes(done)) finish('done');
        else if (this.exited) finish('exited');
      };
      const timer = setTimeout(() => finish('timeout'), options.timeoutMs);
      const finish = (result: 'done' | 'exited' | 'timeout') => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(result);
      };
      this.waiters.add(check);
      check();
    });
    if (outcome === 'timeout') this.kill();
    const stdout = await readFile(out, 'utf8').catch(() => '');
    const stderr = await readFile(err, 'utf8').catch(() => '');
    if (outcome === 'exited') throw new SnippetFailedError(`${options.label}: a command failed (exit code ${this.exitCode()})`, stdout, stderr);
    if (outcome === 'timeout') throw new SnippetFailedError(`${options.label}: still running after ${options.timeoutMs} ms`, stdout, stderr);
    return { stdout, stderr, ms: Date.now() - started };
  }

  /** Ends the shell and whatever it still runs, and deletes the snippet files. */
  async close(): Promise<void> {
    if (!this.exited) {
      this.shell.stdin.end();
      const ended = new Promise<void>((resolve) => this.shell.once('exit', () => resolve()));
      const timer = setTimeout(() => this.kill(), 2000);
      await ended;
      clearTimeout(timer);
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Read through a method: the compiler would otherwise keep `exited` narrowed to undefined across awaits. */
  private exitCode(): number | null | undefined {
    return this.exited?.code;
  }

  private kill(): void {
    try {
      process.kill(-this.shell.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
