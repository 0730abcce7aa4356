/**
 * One execution of a state machine on `aws-local-stepfunctions`: every Task is answered by the task
 * dispatcher, every Wait by a wait on the time scale, and the engine's event log is turned into the
 * execution history AWS keeps (`TaskStateEntered`, `TaskScheduled`, `TaskSucceeded`, `ExecutionFailed`, ...).
 */
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { collectStates, engineDefinition, type Definition, type State } from './definition';
import { SleepAbortedError, sleep } from './sleep';
import { parseResource, resourceNames, TaskFailedError, type TaskDispatcher } from './task-dispatcher';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** One history event, in the shape GetExecutionHistory answers (`<type>EventDetails` beside the common fields). */
export interface HistoryEvent {
  timestamp: Date;
  type: string;
  id: number;
  previousEventId: number;
  [details: string]: unknown;
}

/** What DescribeExecution and ListExecutions tell about an execution. */
export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  stateMachineName: string;
  name: string;
  status: ExecutionStatus;
  startDate: Date;
  stopDate?: Date;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  events: HistoryEvent[];
}

export interface ExecutionOptions {
  definition: Definition;
  stateMachineArn: string;
  stateMachineName: string;
  roleArn: string;
  executionArn: string;
  name: string;
  /** The execution input as StartExecution received it (JSON text). */
  input: string;
  region: string;
  timeScale: number;
  dispatcher: TaskDispatcher;
  /** Told once, when the execution has ended (whatever the outcome). */
  onEnd?: (record: ExecutionRecord) => void;
}

/** The engine's event log entries, as far as this module reads them. */
interface EngineEvent {
  type: string;
  timestamp: number;
  input?: unknown;
  output?: unknown;
  Error?: string;
  Cause?: unknown;
  index?: number;
  state?: { name: string; type: string; input: unknown; output?: unknown };
  parentState?: { name: string; type: string };
}

interface RunningTask {
  controller: AbortController;
  timedOut: boolean;
}

/** Text of a history payload; the engine gives `Cause` as a string or as an error. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.message;
  return JSON.stringify(value ?? null);
}

/** Lets the event-log consumer (microtasks) catch up, so a task's events follow its state's `...Entered`. */
function settleEventLog(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A running or finished execution. */
export class Execution {
  readonly record: ExecutionRecord;
  /** Resolves when the execution has ended and its history is complete. */
  readonly done: Promise<ExecutionRecord>;
  private readonly states: Map<string, State>;
  private readonly controller = new AbortController();
  private readonly running = new Map<string, RunningTask[]>();
  private abortEngine?: () => void;
  private stopReason?: { error?: string; cause?: string };
  private closed = false;

  constructor(private readonly options: ExecutionOptions) {
    this.states = collectStates(options.definition);
    this.record = {
      executionArn: options.executionArn,
      stateMachineArn: options.stateMachineArn,
      stateMachineName: options.stateMachineName,
      name: options.name,
      status: 'RUNNING',
      startDate: new Date(),
      input: options.input,
      events: [],
    };
    this.done = this.run();
  }

  /** Stops the execution (StopExecution): tasks in flight are cancelled and `.sync` jobs stopped. */
  stop(error?: string, cause?: string): void {
    if (this.record.status !== 'RUNNING') return;
    this.stopReason = { ...(error !== undefined ? { error } : {}), ...(cause !== undefined ? { cause } : {}) };
    this.controller.abort();
    this.abortEngine?.();
  }

  private push(type: string, details?: Record<string, unknown>, at = new Date()): void {
    if (this.closed) return;
    const id = this.record.events.length + 1;
    // Every `<Type>StateEntered`/`Exited` event shares one details member; the others are named after themselves.
    const detailsKey = type.endsWith('StateEntered')
      ? 'stateEnteredEventDetails'
      : type.endsWith('StateExited')
        ? 'stateExitedEventDetails'
        : `${type.charAt(0).toLowerCase()}${type.slice(1)}EventDetails`;
    this.record.events.push({ timestamp: at, type, id, previousEventId: id - 1, ...(details ? { [detailsKey]: details } : {}) });
  }

  private async run(): Promise<ExecutionRecord> {
    type Handlers = NonNullable<NonNullable<Parameters<StateMachine['run']>[1]>['overrides']>['taskResourceLocalHandlers'];
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    for (const [name, state] of this.states) {
      if (state.Type === 'Task') handlers[name] = (input) => this.runTask(name, state, input);
      if (state.Type === 'Wait') handlers[name] = (input) => this.runWait(input);
    }
    const input = JSON.parse(this.options.input) as never;
    const machine = new StateMachine(engineDefinition(this.options.definition, this.options.timeScale) as unknown as StateMachineDefinition, {
      validationOptions: { noValidate: true },
    });
    const execution = machine.run(input, {
      overrides: { taskResourceLocalHandlers: handlers as unknown as Handlers },
      noThrowOnAbort: true,
      context: {
        Execution: { Id: this.options.executionArn, Name: this.options.name, RoleArn: this.options.roleArn, RedriveCount: 0 },
        StateMachine: { Id: this.options.stateMachineArn, Name: this.options.stateMachineName },
      },
    });
    this.abortEngine = execution.abort;
    if (this.controller.signal.aborted) execution.abort();
    const consumed = (async () => {
      for await (const event of execution.eventLogs) this.onEngineEvent(event as EngineEvent);
    })();
    await execution.result.catch(() => undefined);
    await consumed;
    if (this.record.status === 'RUNNING') {
      // The engine closes its log with a terminal event; reaching here without one is an engine fault.
      this.finish('FAILED', new Date(), { error: 'States.Runtime', cause: 'the local engine ended without a result' });
    }
    this.controller.abort();
    this.options.onEnd?.(this.record);
    return this.record;
  }

  private stateType(name: string, fallback: string): string {
    return this.states.get(name)?.Type ?? fallback;
  }

  private onEngineEvent(event: EngineEvent): void {
    const at = new Date(event.timestamp);
    switch (event.type) {
      case 'ExecutionStarted':
        this.record.startDate = at;
        this.push('ExecutionStarted', { input: this.options.input, inputDetails: { truncated: false }, roleArn: this.options.roleArn }, at);
        return;
      case 'StateEntered': {
        const { name, input } = event.state!;
        const type = this.stateType(name, event.state!.type);
        this.push(`${type}StateEntered`, { name, input: text(input), inputDetails: { truncated: false } }, at);
        if (type === 'Parallel') this.push('ParallelStateStarted', undefined, at);
        return;
      }
      case 'StateExited': {
        const { name, output } = event.state!;
        const type = this.stateType(name, event.state!.type);
        if (type === 'Map') this.push('MapStateSucceeded', undefined, at);
        if (type === 'Parallel') this.push('ParallelStateSucceeded', undefined, at);
        this.push(`${type}StateExited`, { name, output: text(output), outputDetails: { truncated: false } }, at);
        return;
      }
      case 'StateFailed': {
        const { name } = event.state!;
        const type = this.stateType(name, event.state!.type);
        if (type === 'Task' && event.Error === 'States.Timeout') this.onTaskTimeout(name, text(event.Cause), at);
        if (type === 'Map') this.push('MapStateFailed', undefined, at);
        if (type === 'Parallel') this.push('ParallelStateFailed', undefined, at);
        return;
      }
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const details: Record<string, unknown> = { name: event.parentState?.name, index: event.index };
        if (event.type === 'MapIterationStarted' && event.index === 0) this.push('MapStateStarted', undefined, at);
        this.push(event.type, details, at);
        return;
      }
      case 'ExecutionSucceeded': {
        const output = text(event.output);
        this.record.output = output;
        this.push('ExecutionSucceeded', { output, outputDetails: { truncated: false } }, at);
        this.finish('SUCCEEDED', at);
        return;
      }
      case 'ExecutionFailed': {
        const failure = failureOf(event);
        this.push('ExecutionFailed', failure, at);
        this.finish('FAILED', at, failure);
        return;
      }
      case 'ExecutionAborted': {
        const reason = this.stopReason ?? {};
        this.push('ExecutionAborted', reason, at);
        this.finish('ABORTED', at, reason);
        return;
      }
      case 'ExecutionTimeout': {
        const failure = { error: 'States.Timeout', cause: 'The execution ran past the state machine\'s TimeoutSeconds' };
        this.push('ExecutionTimedOut', failure, at);
        this.finish('TIMED_OUT', at, failure);
        return;
      }
      default:
        // StateRetried, StateCaught and the Parallel branch events have no counterpart in AWS's history.
        return;
    }
  }

  private finish(status: ExecutionStatus, at: Date, failure?: { error?: string; cause?: string }): void {
    if (this.record.status !== 'RUNNING') return;
    this.record.status = status;
    this.record.stopDate = at;
    if (failure?.error !== undefined) this.record.error = failure.error;
    if (failure?.cause !== undefined) this.record.cause = failure.cause;
    this.closed = true;
    this.controller.abort();
  }

  /** The engine timed the task out: the oldest invocation of the state still running is the one. */
  private onTaskTimeout(stateName: string, cause: string, at: Date): void {
    const task = this.running.get(stateName)?.find((candidate) => !candidate.timedOut);
    if (!task) return;
    task.timedOut = true;
    task.controller.abort();
    const state = this.states.get(stateName)!;
    const resource = String(state.Resource);
    const failure = { error: 'States.Timeout', ...(cause && cause !== 'States.Timeout' ? { cause } : {}) };
    if (parseResource(resource).kind === 'lambda-function') this.push('LambdaFunctionTimedOut', failure, at);
    else this.push('TaskTimedOut', { ...resourceNames(resource), ...failure }, at);
  }

  private async runTask(stateName: string, state: State, parameters: unknown): Promise<unknown> {
    if (this.controller.signal.aborted) throw new TaskFailedError('States.Runtime', 'the execution has ended');
    const task: RunningTask = { controller: new AbortController(), timedOut: false };
    const list = this.running.get(stateName) ?? [];
    list.push(task);
    this.running.set(stateName, list);
    const signal = AbortSignal.any([this.controller.signal, task.controller.signal]);
    const resource = String(state.Resource);
    const names = resourceNames(resource);
    const lambda = parseResource(resource).kind === 'lambda-function';
    const timeout = typeof state.TimeoutSeconds === 'number' ? { timeoutInSeconds: state.TimeoutSeconds } : {};
    const record = (type: string, details?: Record<string, unknown>) => {
      if (!task.timedOut && !this.controller.signal.aborted) this.push(type, details);
    };
    try {
      await settleEventLog();
      if (lambda) {
        record('LambdaFunctionScheduled', { resource, input: text(parameters), inputDetails: { truncated: false }, ...timeout });
        record('LambdaFunctionStarted');
      } else {
        record('TaskScheduled', { ...names, region: this.options.region, parameters: text(parameters), ...timeout });
        record('TaskStarted', names);
      }
      let result: unknown;
      try {
        result = await this.options.dispatcher.dispatch(resource, parameters, {
          signal,
          onSubmitted: (output) => record('TaskSubmitted', { ...names, output: text(output), outputDetails: { truncated: false } }),
        });
      } catch (error) {
        const failure =
          error instanceof TaskFailedError
            ? error
            : error instanceof SleepAbortedError
              ? new TaskFailedError('States.Runtime', error.message)
              : new TaskFailedError('States.TaskFailed', (error as Error).message ?? String(error));
        if (lambda) record('LambdaFunctionFailed', { error: failure.name, cause: failure.message });
        else record('TaskFailed', { ...names, error: failure.name, cause: failure.message });
        throw failure;
      }
      const output = text(result);
      if (lambda) record('LambdaFunctionSucceeded', { output, outputDetails: { truncated: false } });
      else record('TaskSucceeded', { ...names, output, outputDetails: { truncated: false } });
      return result ?? null;
    } finally {
      list.splice(list.indexOf(task), 1);
    }
  }

  /** A Wait state, rewritten as a task (see `engineDefinition`): waits on the time scale, passes its input on. */
  private async runWait(parameters: unknown): Promise<unknown> {
    const { input, seconds, timestamp } = (parameters ?? {}) as { input?: unknown; seconds?: unknown; timestamp?: unknown };
    let waitSeconds = 0;
    if (seconds !== undefined) {
      if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0) {
        throw new TaskFailedError('States.Runtime', `The Wait state's seconds must be a non-negative integer; got ${JSON.stringify(seconds)}`);
      }
      waitSeconds = seconds;
    } else if (timestamp !== undefined) {
      const time = typeof timestamp === 'string' ? Date.parse(timestamp) : Number.NaN;
      if (Number.isNaN(time)) throw new TaskFailedError('States.Runtime', `The Wait state's timestamp must be an RFC 3339 timestamp; got ${JSON.stringify(timestamp)}`);
      waitSeconds = Math.max(0, (time - Date.now()) / 1000);
    }
    try {
      await sleep(waitSeconds * 1000 * this.options.timeScale, this.controller.signal);
    } catch (error) {
      throw new TaskFailedError('States.Runtime', (error as Error).message);
    }
    return (input ?? null) as unknown;
  }
}

function failureOf(event: EngineEvent): { error?: string; cause?: string } {
  const error = event.Error ?? 'States.Runtime';
  // A Fail state without Error/Cause leaves the engine's placeholder name, which AWS would not report.
  if (error === 'FailStateError') return {};
  return { error, cause: text(event.Cause) };
}
