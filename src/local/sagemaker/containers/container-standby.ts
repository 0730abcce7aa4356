/**
 * One built-in container process kept on standby (see `onnx-container/standby.ts`): started ahead of need
 * with Node, onnxruntime and its environment already loaded, so the next built-in container starts in the
 * time its own model takes to load instead of a few hundred milliseconds more.
 *
 * Starting a standby takes a core for 150 to 300 ms, so when it starts matters. Right after a start from
 * scratch, at once: that start is slow anyway, and containers come in runs (a pipeline's, an update's, a
 * test suite's). After a start from the standby, not at once, since the new container's first requests
 * (a transform job's first batches) would share the CPU with it: when a built-in container stops (a job
 * done, an endpoint gone), or a second after the new container is healthy, whichever comes first.
 *
 * A standby is used only when nothing in the container's environment acts at process start (see
 * {@link standbyCanServe}); it is not counted as a container anywhere, holds no port, and ends when the
 * emulator's process does (its IPC channel closes). Like a container it runs in a process group of its own, so
 * Ctrl-C does not reach it before the emulator discards it. `SMHOST_CONTAINER_STANDBY=off` turns it off.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { STANDBY_ARG, type StandbyAssignment } from '../onnx-container/standby';

/** Set to `off` to start every built-in container from scratch. */
export const CONTAINER_STANDBY_ENV = 'SMHOST_CONTAINER_STANDBY';

/**
 * Variables read when a process starts (by Node, libuv, the C library, the dynamic loader, onnxruntime's
 * thread pools), which setting in an already running process would not honour.
 */
const READ_AT_START = /^(NODE_|UV_|LD_|MALLOC_|GLIBC_|OMP_|KMP_|MKL_|OPENBLAS_|ORT_)/;

interface Standby {
  argv: string[];
  child: ChildProcess;
  /** The variables read at process start it was started with. */
  startVariables: string;
}

let standby: Standby | undefined;
let pending: { timer: NodeJS.Timeout; due: number } | undefined;

function enabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env[CONTAINER_STANDBY_ENV] ?? '').toLowerCase() !== 'off';
}

/** True when a container with this environment can be served by a standby process. */
export function standbyCanServe(environment: Record<string, string>): boolean {
  return enabled() && !Object.keys(environment).some((name) => READ_AT_START.test(name));
}

/** The emulator's variables that act at process start, as one comparable string. */
function startVariables(env: NodeJS.ProcessEnv = process.env): string {
  return JSON.stringify(
    Object.keys(env)
      .filter((name) => READ_AT_START.test(name))
      .sort()
      .map((name) => [name, env[name]]),
  );
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.connected;
}

/** While on standby the process must not keep the emulator's process alive. */
function setHeld(child: ChildProcess, held: boolean): void {
  const handles: Array<{ ref(): unknown; unref(): unknown } | null | undefined> = [child, child.channel, child.stdout as Socket | null, child.stderr as Socket | null];
  for (const handle of handles) {
    if (held) handle?.ref();
    else handle?.unref();
  }
}

/**
 * Starts a standby for `argv` (the built-in container's command) unless one is there already; with
 * `delayMs`, that long from now (an earlier request wins; `discardStandby` cancels it).
 */
export function prepareStandby(argv: string[], delayMs = 0): void {
  if (!enabled()) return;
  if (standby && alive(standby.child) && sameArgv(standby.argv, argv)) return;
  if (delayMs > 0) {
    const due = Date.now() + delayMs;
    if (pending && pending.due <= due) return;
    if (pending) clearTimeout(pending.timer);
    pending = { timer: setTimeout(() => prepareStandby(argv), delayMs).unref(), due };
    return;
  }
  discardStandby();
  const child = spawn(argv[0]!, [...argv.slice(1), STANDBY_ARG], { cwd: process.cwd(), env: process.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true });
  const entry: Standby = { argv, child, startVariables: startVariables() };
  standby = entry;
  child.once('exit', () => {
    if (standby === entry) standby = undefined;
  });
  // A standby that fails (it cannot load onnxruntime, say) just ends: the next container starts from scratch
  // and shows the reason in its own log.
  child.once('error', () => undefined);
  setHeld(child, false);
}

/**
 * Hands the standby process over as the container started with `environment` (the whole of it), or
 * `undefined` when there is none for `argv`, or the emulator's own variables that act at process start
 * changed since it started (a start from scratch then). The process is the caller's from then on.
 */
export async function takeStandby(argv: string[], environment: Record<string, string>): Promise<ChildProcess | undefined> {
  const entry = standby;
  if (!entry || !sameArgv(entry.argv, argv) || !alive(entry.child)) return undefined;
  if (entry.startVariables !== startVariables()) {
    discardStandby();
    return undefined;
  }
  standby = undefined;
  const child = entry.child;
  const assignment: StandbyAssignment = { environment };
  const sent = await new Promise<boolean>((resolve) => {
    try {
      child.send(assignment, (error) => resolve(!error));
    } catch {
      resolve(false);
    }
  });
  if (!sent) {
    child.kill('SIGKILL');
    return undefined;
  }
  setHeld(child, true);
  return child;
}

/** The pid of the process on standby now, if any: a local view for diagnostics and tests. */
export function standbyPid(): number | undefined {
  return standby && alive(standby.child) ? standby.child.pid : undefined;
}

/** Stops the standby process, if any, and cancels one planned (the emulator does on close). */
export function discardStandby(): void {
  if (pending) clearTimeout(pending.timer);
  pending = undefined;
  const entry = standby;
  standby = undefined;
  if (entry && entry.child.exitCode === null && entry.child.signalCode === null) entry.child.kill('SIGTERM');
}

function sameArgv(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((arg, i) => arg === b[i]);
}
