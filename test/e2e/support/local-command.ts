/**
 * `npm run local` run as a user runs it: a child process in the repository, whose banner is read from its
 * stdout up to `ready: <url>`, and stopped as Ctrl-C stops it (SIGINT to its whole process group).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Raised when `npm run local` exits or stays silent before printing `ready:`; carries what it printed. */
export class LocalCommandStartError extends Error {
  constructor(what: string, readonly output: string) {
    super(`npm run local ${what}\n--- output ---\n${output}`);
    this.name = 'LocalCommandStartError';
  }
}

export interface StoppedCommand {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Everything it printed on stdout and stderr, interleaved as it came. */
  output: string;
  /** Processes it started (its group, and descendants in groups of their own) still alive after it exited and a grace period (`pid command`); killed since. */
  leftovers: string[];
}

export interface LocalCommand {
  /** The `ready:` URL. */
  url: string;
  /** Lines printed on stdout up to and including `ready:`. */
  banner: string[];
  /** The variables of the banner's `export` lines. */
  exported: Record<string, string>;
  /** Everything printed so far. */
  output(): string;
  /**
   * Sends `signal` to the process group (Ctrl-C is SIGINT to the group), or with `to: 'npm'` to npm's process
   * alone (as a supervisor or `kill <pid>` does), and resolves once npm has exited.
   */
  stop(signal?: NodeJS.Signals, timeoutMs?: number, to?: 'group' | 'npm'): Promise<StoppedCommand>;
  /** SIGKILL to the group, for clean-up after a failure; no-op once it has exited. */
  kill(): void;
}

/** The processes of group `pgid` as `pid command` lines; empty once all have exited. */
function groupMembers(pgid: number): string[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,args=', '-g', String(pgid)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
  } catch {
    // ps exits 1 when it lists nothing.
    return [];
  }
}

/**
 * Every process descended from `root` (its children, theirs, ...), as `pid command` lines. The emulator starts
 * its containers in process groups of their own (so Ctrl-C reaches the stack, which then stops them), so the
 * terminal's group alone no longer shows them: the tree does.
 */
function descendants(root: number): Map<number, string> {
  const parentOf = new Map<number, number>();
  const commandOf = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command (field 2) is parenthesised and may hold spaces; the parent pid is the 2nd field after it.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(entry), Number(fields[1]));
      commandOf.set(Number(entry), readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim());
    } catch {
      // Exited while we looked.
    }
  }
  const found = new Map<number, string>();
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [pid, ppid] of parentOf) {
      if (ppid === parent && !found.has(pid)) {
        found.set(pid, `${pid} ${commandOf.get(pid) ?? ''}`);
        queue.push(pid);
      }
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Reads `export A=1 B=2` lines into a map; values in the banner hold no spaces or quotes. */
export function parseExports(lines: readonly string[]): Record<string, string> {
  const exported: Record<string, string> = {};
  for (const line of lines) {
    if (!line.startsWith('export ')) continue;
    for (const assignment of line.slice('export '.length).trim().split(/\s+/)) {
      const at = assignment.indexOf('=');
      if (at > 0) exported[assignment.slice(0, at)] = assignment.slice(at + 1);
    }
  }
  return exported;
}

/** Starts `npm run local -- <args>` in the repository and resolves once it prints `ready:`. */
export async function startLocalCommand(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<LocalCommand> {
  const child: ChildProcess = spawn('npm', ['run', 'local', '--', ...args], { cwd: REPO_ROOT, env: options.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stdoutText = '';
  let exit: Omit<StoppedCommand, 'output' | 'leftovers'> | undefined;
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    }),
  );
  const wakers = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
    stdoutText += chunk;
    for (const wake of wakers) wake();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  void exited.then(() => {
    for (const wake of wakers) wake();
  });
  const kill = () => {
    if (exit && groupMembers(child.pid!).length === 0) return;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };

  const timeoutMs = options.timeoutMs ?? 60_000;
  const banner = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      wakers.delete(check);
      kill();
      reject(new LocalCommandStartError(`printed no ready: line within ${timeoutMs} ms`, output));
    }, timeoutMs);
    function check() {
      const lines = stdoutText.split('\n');
      const ready = lines.findIndex((line) => line.startsWith('ready: '));
      if (ready >= 0) {
        clearTimeout(timer);
        wakers.delete(check);
        resolve(lines.slice(0, ready + 1));
      } else if (exit) {
        clearTimeout(timer);
        wakers.delete(check);
        reject(new LocalCommandStartError(`exited (code ${exit.code}, signal ${exit.signal}) before it was ready`, output));
      }
    }
    wakers.add(check);
    check();
  });

  return {
    url: banner[banner.length - 1]!.slice('ready: '.length).trim(),
    banner,
    exported: parseExports(banner),
    output: () => output,
    async stop(signal = 'SIGINT', stopTimeoutMs = 30_000, to = 'group') {
      // Everything the stack started, whatever its process group, as it is just before the signal.
      const tree = descendants(child.pid!);
      if (!exit) process.kill(to === 'group' ? -child.pid! : child.pid!, signal);
      const timer = setTimeout(kill, stopTimeoutMs);
      await exited;
      clearTimeout(timer);
      // npm can exit before what it started has: wait for the whole group, as a terminal's prompt would not.
      const deadline = Date.now() + 10_000;
      let members = groupMembers(child.pid!);
      while (members.length > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        members = groupMembers(child.pid!);
      }
      // Processes in groups of their own (the emulator's containers) are stopped by the stack itself: wait for them too.
      let strays = [...tree].filter(([pid]) => alive(pid)).map(([, line]) => line);
      while (strays.length > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        strays = [...tree].filter(([pid]) => alive(pid)).map(([, line]) => line);
      }
      if (members.length > 0) {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // Gone meanwhile.
        }
      }
      for (const [pid] of tree) {
        if (alive(pid)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // Gone meanwhile.
          }
        }
      }
      return { ...exit!, output, leftovers: [...new Set([...members, ...strays])] };
    },
    kill,
  };
}
