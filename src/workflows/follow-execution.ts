/**
 * Follows a started execution through its history until it ends, the wait runs out, or the user interrupts
 * (Ctrl-C): the last two leave the execution running, and say so.
 */
import { GetExecutionHistoryCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { HistoryNarrator, type ExecutionEnd, type ProgressLine } from './history-narrator';

export interface FollowOptions {
  executionArn: string;
  /** Stop following after this long (the execution goes on). */
  timeoutMs?: number;
  /** Pause between reads of the history. */
  pollIntervalMs: number;
  /** Aborted when the user interrupts: following stops at once, the execution goes on. */
  signal?: AbortSignal;
}

/** How following ended: the execution's own end, or why following stopped before it. */
export type FollowOutcome = ExecutionEnd | { status: 'STILL_RUNNING' } | { status: 'INTERRUPTED' };

/** Where progress lines go, by kind (the command line dims handled failures on a terminal). */
export type ProgressSink = (line: ProgressLine) => void;

/** A pause that ends early, without error, when `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Reads the execution's history every `pollIntervalMs`, printing each new event's lines through `sink`.
 * Requests in flight are cancelled when `signal` aborts.
 */
export async function followExecution(sfn: SFNClient, options: FollowOptions, sink: ProgressSink): Promise<FollowOutcome> {
  const narrator = new HistoryNarrator();
  const deadline = options.timeoutMs !== undefined ? Date.now() + options.timeoutMs : Number.POSITIVE_INFINITY;
  const seen = new Set<number>();
  const stop = (status: 'STILL_RUNNING' | 'INTERRUPTED'): FollowOutcome => {
    for (const line of narrator.unresolved()) sink(line);
    return { status };
  };
  for (;;) {
    let nextToken: string | undefined;
    do {
      let page;
      try {
        page = await sfn.send(
          new GetExecutionHistoryCommand({ executionArn: options.executionArn, maxResults: 1000, ...(nextToken ? { nextToken } : {}) }),
          ...(options.signal ? [{ abortSignal: options.signal }] : []),
        );
      } catch (error) {
        if (options.signal?.aborted) return stop('INTERRUPTED');
        throw error;
      }
      for (const event of page.events ?? []) {
        if (event.id === undefined || seen.has(event.id)) continue;
        seen.add(event.id);
        const { lines, end } = narrator.read(event);
        for (const line of lines) sink(line);
        if (end) return end;
      }
      nextToken = page.nextToken;
    } while (nextToken);
    if (options.signal?.aborted) return stop('INTERRUPTED');
    const left = deadline - Date.now();
    if (left <= 0) return stop('STILL_RUNNING');
    await pause(Math.min(options.pollIntervalMs, left), options.signal);
    if (options.signal?.aborted) return stop('INTERRUPTED');
  }
}
