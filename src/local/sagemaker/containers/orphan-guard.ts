/**
 * Containers run in process groups of their own (so that Ctrl-C, which signals the terminal's whole
 * foreground group, leaves stopping them to the emulator). The price is that nothing stops them any more
 * when the emulator's process is killed outright, since a signal to the emulator's group no longer reaches
 * them. The guard restores that: a small shell, in a group of its own too, that is told the group of every
 * container as it starts and ends, and stops the groups still there once its input closes, which happens
 * however the emulator's process ends. The built-in container also watches its parent itself; the guard
 * covers the commands users map images to, which may not.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';

/** Real seconds between SIGTERM and SIGKILL to a container group left behind. */
const GRACE_SECONDS = 2;

/**
 * POSIX shell only (no external commands while it waits), so the guard costs a shell's memory and nothing
 * per container. Lines are `+<group>` (started) and `-<group>` (ended).
 */
const GUARD_SCRIPT = `
groups=' '
while IFS= read -r line; do
  case "$line" in
    +*) groups="$groups\${line#+} " ;;
    -*) kept=' '; for g in $groups; do [ "$g" = "\${line#-}" ] || kept="$kept$g "; done; groups=$kept ;;
  esac
done
[ -z "\${groups# }" ] && exit 0
for g in $groups; do kill -s TERM -- "-$g" 2>/dev/null; done
sleep ${GRACE_SECONDS}
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done
exit 0
`;

let guard: ChildProcess | undefined;

function started(): ChildProcess | undefined {
  if (guard && guard.exitCode === null && guard.signalCode === null && guard.stdin?.writable) return guard;
  try {
    const child = spawn('/bin/sh', ['-c', GUARD_SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    // A guard that cannot run (no /bin/sh) leaves the built-in container's own parent watch as the only check.
    child.once('error', () => undefined);
    child.stdin!.on('error', () => undefined);
    // The guard must not keep the emulator's process alive: it is there for when that process ends.
    child.unref();
    (child.stdin as unknown as Socket).unref?.();
    guard = child;
    return child;
  } catch {
    return undefined;
  }
}

/** Has the process group `pid` stopped if the emulator's process ends while the group is still running. */
export function guardProcessGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  started()?.stdin!.write(`+${pid}\n`);
}

/** The group `pid` ended (or was stopped by the emulator): the guard forgets it, so a reused pid is never signalled. */
export function releaseProcessGroup(pid: number | undefined): void {
  if (pid === undefined || !guard?.stdin?.writable) return;
  guard.stdin.write(`-${pid}\n`);
}

/** The guard's pid, if it runs: a local view for tests. */
export function orphanGuardPid(): number | undefined {
  return guard && guard.exitCode === null ? guard.pid : undefined;
}
