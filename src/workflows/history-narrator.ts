/**
 * Turns an execution's history, event by event, into the progress lines `smhost run --wait` prints. A failed
 * task is not reported when it fails but when the history says what became of it: a Retry (the task is
 * scheduled again) or a Catch (the state exits) handled it, and it reads as handled; anything else (the
 * execution, a branch or an iteration failing) means nothing caught it, and it reads as the failure it is.
 * Expected failures (the endpoint a first deployment looks for, a redeployment's conditional write) are
 * then never mistaken for errors.
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';

/** A line to print: a step of the execution, a failure something handled, or one nothing handled. */
export interface ProgressLine {
  kind: 'step' | 'handled' | 'failure';
  text: string;
}

/** How an execution ended, read from its last event. */
export type ExecutionEnd =
  | { status: 'SUCCEEDED'; output?: unknown }
  | { status: 'FAILED' | 'TIMED_OUT' | 'ABORTED'; error?: string; cause?: string };

interface FailedTask {
  state: string;
  error: string;
  cause: string;
}

/** Events that report a failed task, and the field of each that carries its error and cause. */
const TASK_FAILURES: Record<string, keyof HistoryEvent> = {
  TaskFailed: 'taskFailedEventDetails',
  TaskTimedOut: 'taskTimedOutEventDetails',
  TaskStartFailed: 'taskStartFailedEventDetails',
  TaskSubmitFailed: 'taskSubmitFailedEventDetails',
  LambdaFunctionFailed: 'lambdaFunctionFailedEventDetails',
  LambdaFunctionTimedOut: 'lambdaFunctionTimedOutEventDetails',
  LambdaFunctionStartFailed: 'lambdaFunctionStartFailedEventDetails',
  LambdaFunctionScheduleFailed: 'lambdaFunctionScheduleFailedEventDetails',
  ActivityFailed: 'activityFailedEventDetails',
  ActivityTimedOut: 'activityTimedOutEventDetails',
  ActivityScheduleFailed: 'activityScheduleFailedEventDetails',
};

/** A task scheduled again right after it failed: its Retry took it. */
const RESCHEDULED = new Set(['TaskScheduled', 'LambdaFunctionScheduled', 'ActivityScheduled']);

/**
 * Plain words for the failures the project's state machines expect and handle, so a first deployment does
 * not print a SageMaker error for the endpoint it is about to create.
 */
const EXPECTED_FAILURES: { error: RegExp; cause: RegExp; words: (match: RegExpExecArray) => string }[] = [
  { error: /ValidationException$/, cause: /Could not find endpoint "(?:[^"]*\/)?([^"/]+)"/, words: (m) => `endpoint ${m[1]} does not exist yet` },
  { error: /ValidationException$/, cause: /ModelPackageGroup (\S+) does not exist/, words: (m) => `model package group ${m[1]} does not exist yet` },
  { error: /ConditionalCheckFailedException$/, cause: /./, words: () => 'the conditional write found the record already in place' },
];

/** Reads a history in order (ids ascending, each event once) and says what to print for each event. */
export class HistoryNarrator {
  private readonly stateOf = new Map<number, string>();
  private readonly pending = new Map<number, FailedTask>();
  private lastState = '';

  /** The lines this event gives (a handled or unhandled failure before it included), and the end it marks. */
  read(event: HistoryEvent): { lines: ProgressLine[]; end?: ExecutionEnd } {
    const lines: ProgressLine[] = [];
    const entered = event.stateEnteredEventDetails?.name;
    const state = entered ?? (event.previousEventId !== undefined ? this.stateOf.get(event.previousEventId) : undefined) ?? this.lastState;
    if (event.id !== undefined) this.stateOf.set(event.id, state);
    if (entered !== undefined) this.lastState = entered;

    const cause = this.pendingCause(event);
    if (cause !== undefined) {
      const failed = this.pending.get(cause)!;
      this.pending.delete(cause);
      lines.push(settle(failed, event.type ?? ''));
    }

    if (entered !== undefined) lines.push({ kind: 'step', text: `→ ${entered}` });
    const failure = taskFailure(event);
    if (failure && event.id !== undefined) this.pending.set(event.id, { state, ...failure });
    const status = endpointStatus(event);
    if (status) lines.push({ kind: 'step', text: status });

    const end = executionEnd(event);
    if (end) {
      // A failure the history never linked to a retry or catch, in an execution that then ended, was not handled.
      for (const failed of this.pending.values()) lines.push(settle(failed, event.type ?? ''));
      this.pending.clear();
      lines.push({ kind: 'step', text: endLine(end) });
    }
    return { lines, ...(end ? { end } : {}) };
  }

  /**
   * Failures whose fate the history does not tell yet (a Retry may still be waiting out its interval), for
   * when following stops before it does.
   */
  unresolved(): ProgressLine[] {
    return [...this.pending.values()].map((failed) => ({
      kind: 'failure',
      text: `  ${failed.state}: ${failed.error}: ${failed.cause} (no retry or catch seen yet)`,
    }));
  }

  /** The id of the pending failure this event follows: by `previousEventId`, or the latest when it is absent. */
  private pendingCause(event: HistoryEvent): number | undefined {
    if (this.pending.size === 0) return undefined;
    if (event.previousEventId !== undefined) return this.pending.has(event.previousEventId) ? event.previousEventId : undefined;
    return [...this.pending.keys()].at(-1);
  }
}

function settle(failed: FailedTask, nextType: string): ProgressLine {
  if (RESCHEDULED.has(nextType)) return { kind: 'handled', text: `  ${failed.state}: ${plainWords(failed)} (${failed.error}), retrying` };
  if (nextType.endsWith('StateExited')) {
    return { kind: 'handled', text: `  ${failed.state}: ${plainWords(failed)} (${failed.error}), handled by its Catch` };
  }
  return { kind: 'failure', text: `  ${failed.state} failed: ${failed.error}: ${failed.cause}` };
}

function plainWords(failed: FailedTask): string {
  for (const expected of EXPECTED_FAILURES) {
    if (!expected.error.test(failed.error)) continue;
    const match = expected.cause.exec(failed.cause);
    if (match) return expected.words(match);
  }
  return shortCause(failed.cause) || 'failed';
}

/** The cause without the request metadata AWS appends (`(Service: SageMaker, Status Code: 400, Request ID: ...)`). */
function shortCause(cause: string): string {
  return cause.replace(/\s*\(Service: [^()]*(\([^()]*\)[^()]*)*\)\s*$/, '').trim();
}

function taskFailure(event: HistoryEvent): { error: string; cause: string } | undefined {
  const field = TASK_FAILURES[event.type ?? ''];
  const details = (field ? event[field] : event.taskFailedEventDetails) as { error?: string; cause?: string } | undefined;
  if (!details) return undefined;
  return { error: details.error ?? event.type ?? 'task failed', cause: details.cause ?? '' };
}

function endpointStatus(event: HistoryEvent): string | undefined {
  const task = event.taskSucceededEventDetails;
  if (task?.resource !== 'describeEndpoint') return undefined;
  const endpoint = parseJson(task.output) as { EndpointName?: string; EndpointStatus?: string } | undefined;
  return endpoint?.EndpointStatus ? `  endpoint ${endpoint.EndpointName ?? ''}: ${endpoint.EndpointStatus}`.replace(' :', ':') : undefined;
}

function executionEnd(event: HistoryEvent): ExecutionEnd | undefined {
  if (event.type === 'ExecutionSucceeded' || event.executionSucceededEventDetails) {
    return { status: 'SUCCEEDED', output: parseJson(event.executionSucceededEventDetails?.output) };
  }
  const failure = event.executionFailedEventDetails ?? event.executionTimedOutEventDetails ?? event.executionAbortedEventDetails;
  if (!failure && event.type !== 'ExecutionFailed' && event.type !== 'ExecutionTimedOut' && event.type !== 'ExecutionAborted') {
    return undefined;
  }
  const status =
    event.type === 'ExecutionTimedOut' || event.executionTimedOutEventDetails
      ? 'TIMED_OUT'
      : event.type === 'ExecutionAborted' || event.executionAbortedEventDetails
        ? 'ABORTED'
        : 'FAILED';
  return {
    status,
    ...(failure?.error !== undefined ? { error: failure.error } : {}),
    ...(failure?.cause !== undefined ? { cause: failure.cause } : {}),
  };
}

function endLine(end: ExecutionEnd): string {
  if (end.status === 'SUCCEEDED') return 'succeeded';
  return [end.status.toLowerCase(), end.error, end.cause].filter((part) => part !== undefined && part !== '').join(': ');
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
