/**
 * Follows a started execution through its history until it ends, the wait runs out, or the user interrupts
 * (Ctrl-C): the last two leave the execution running, and say so.
 */
import { setTimeout as delay } from 'node:timers/promises';
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
    // An interrupt ends the pause at once; the check below then stops following.
    await delay(Math.min(options.pollIntervalMs, left), undefined, options.signal ? { signal: options.signal } : {}).catch((error: unknown) => {
      if (!options.signal?.aborted) throw error;
    });
    if (options.signal?.aborted) return stop('INTERRUPTED');
  }
}
