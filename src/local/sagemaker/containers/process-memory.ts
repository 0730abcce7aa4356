/**
 * Resident memory of a container process and of the processes it started, read from `/proc` (Linux). This
 * is what the multi-model memory budget is compared with: what the processes really hold, not file sizes.
 */
import { readFileSync } from 'node:fs';

function vmRssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    // The process ended between listing and reading: it holds nothing any more.
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text === '' ? [] : text.split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

/** True when resident memory can be measured here (a Linux `/proc`). */
export function canMeasureResidentMemory(): boolean {
  try {
    readFileSync('/proc/self/status', 'utf8');
    return true;
  } catch {
    return false;
  }
}

/**
 * Resident bytes of `pid` and all its descendants (a user's container may be a shell starting workers).
 * 0 for a process that no longer exists.
 */
export function residentBytes(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let total = 0;
  const pending = [pid];
  const seen = new Set<number>();
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    total += vmRssBytes(next);
    pending.push(...childrenOf(next));
  }
  return total;
}
