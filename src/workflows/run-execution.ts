/**
 * The library behind `smhost run <state machine> --input file.json [--wait] [--timeout]`, for CI: validate
 * the input locally with the workflow's schema, find the state machine by name, start an execution and,
 * when asked, follow its history (each state as it is entered, an endpoint's status while the deployment
 * waits) until it ends. Works the same against AWS and the local stack: it only speaks the Step
 * Functions API through the client it is given.
 */
import {
  GetExecutionHistoryCommand,
  ListStateMachinesCommand,
  StartExecutionCommand,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { isWorkflowName, parseWorkflowInput } from './workflow-schemas';

/** Raised when no state machine, or more than one, answers to the name given. */
export class StateMachineNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateMachineNotFoundError';
  }
}

export interface RunExecutionOptions {
  /** A state machine name: exact (`smhost-dev-batch-transform`) or the workflow part (`batch-transform`). */
  stateMachine: string;
  input: unknown;
  /** Follow the execution until it ends; otherwise return once it started. */
  wait?: boolean;
  /** Stop following after this many seconds (the execution keeps running). */
  timeoutSeconds?: number;
  /** A name for the execution (unique per state machine); Step Functions picks one when absent. */
  executionName?: string;
  /** Pause between history reads while following. */
  pollIntervalMs?: number;
}

export type ExecutionStatus = 'STARTED' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'STILL_RUNNING';

export interface ExecutionOutcome {
  status: ExecutionStatus;
  stateMachineArn: string;
  executionArn: string;
  output?: unknown;
  error?: string;
  cause?: string;
}

/** Where progress lines go (the CLI passes a writer to stdout). */
export type OutputSink = (line: string) => void;

const DEFAULT_POLL_INTERVAL_MS = 2000;

/** The ARN of the one state machine called `name`, or whose name ends in `-<name>`. */
export async function findStateMachine(sfn: SFNClient, name: string): Promise<string> {
  const exact: string[] = [];
  const suffixed: { name: string; arn: string }[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListStateMachinesCommand({ ...(nextToken ? { nextToken } : {}) }));
    for (const machine of page.stateMachines ?? []) {
      if (!machine.name || !machine.stateMachineArn) continue;
      if (machine.name === name) exact.push(machine.stateMachineArn);
      else if (machine.name.endsWith(`-${name}`)) suffixed.push({ name: machine.name, arn: machine.stateMachineArn });
    }
    nextToken = page.nextToken;
  } while (nextToken);
  if (exact.length === 1) return exact[0]!;
  if (suffixed.length === 1) return suffixed[0]!.arn;
  if (suffixed.length > 1) {
    throw new StateMachineNotFoundError(
      `"${name}" matches several state machines (${suffixed.map((m) => m.name).join(', ')}); give the full name`,
    );
  }
  throw new StateMachineNotFoundError(`no state machine is called "${name}" or ends in "-${name}"`);
}

/** The workflow part of a state machine name (`smhost-dev-batch-transform` → `batch-transform`), if any. */
function workflowOf(name: string): string | undefined {
  if (isWorkflowName(name)) return name;
  const match = /-(deploy-multi-model-endpoint|deploy-pipeline-model|register-model-package|batch-transform)$/.exec(name);
  return match?.[1];
}

function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The progress line an event gives, if it is one a user follows. */
function describeEvent(event: HistoryEvent): string | undefined {
  if (event.stateEnteredEventDetails?.name) return `→ ${event.stateEnteredEventDetails.name}`;
  const task = event.taskSucceededEventDetails;
  if (task?.resource === 'describeEndpoint') {
    const endpoint = parseJson(task.output) as { EndpointName?: string; EndpointStatus?: string } | undefined;
    if (endpoint?.EndpointStatus) return `  endpoint ${endpoint.EndpointName ?? ''}: ${endpoint.EndpointStatus}`.trimEnd();
  }
  if (event.taskFailedEventDetails) return `  ${event.taskFailedEventDetails.error ?? 'task failed'}: ${event.taskFailedEventDetails.cause ?? ''}`;
  return undefined;
}

/**
 * Validates the input (when the state machine is one of the project's workflows), starts the execution
 * and, with `wait`, prints its progress until it ends or `timeoutSeconds` pass.
 * @throws WorkflowInputError before anything starts, for an input the workflow refuses
 * @throws StateMachineNotFoundError when the name matches no state machine or several
 */
export async function runExecution(
  sfn: SFNClient,
  options: RunExecutionOptions,
  sink: OutputSink,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<ExecutionOutcome> {
  const workflow = workflowOf(options.stateMachine);
  if (workflow !== undefined && isWorkflowName(workflow)) parseWorkflowInput(workflow, options.input);

  const stateMachineArn = await findStateMachine(sfn, options.stateMachine);
  const started = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn,
      input: JSON.stringify(options.input),
      ...(options.executionName ? { name: options.executionName } : {}),
    }),
  );
  const executionArn = started.executionArn!;
  sink(`started ${executionArn}`);
  if (!options.wait) return { status: 'STARTED', stateMachineArn, executionArn };

  const deadline = options.timeoutSeconds !== undefined ? Date.now() + options.timeoutSeconds * 1000 : Number.POSITIVE_INFINITY;
  const seen = new Set<number>();
  for (;;) {
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(
        new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, ...(nextToken ? { nextToken } : {}) }),
      );
      for (const event of page.events ?? []) {
        if (event.id === undefined || seen.has(event.id)) continue;
        seen.add(event.id);
        const line = describeEvent(event);
        if (line) sink(line);
        if (event.executionSucceededEventDetails || event.type === 'ExecutionSucceeded') {
          sink('succeeded');
          return { status: 'SUCCEEDED', stateMachineArn, executionArn, output: parseJson(event.executionSucceededEventDetails?.output) };
        }
        const failure = event.executionFailedEventDetails ?? event.executionTimedOutEventDetails ?? event.executionAbortedEventDetails;
        if (failure || event.type === 'ExecutionFailed' || event.type === 'ExecutionTimedOut' || event.type === 'ExecutionAborted') {
          const status: ExecutionStatus =
            event.type === 'ExecutionTimedOut' ? 'TIMED_OUT' : event.type === 'ExecutionAborted' ? 'ABORTED' : 'FAILED';
          sink(`${status.toLowerCase()}: ${failure?.error ?? ''}${failure?.cause ? `: ${failure.cause}` : ''}`);
          return {
            status,
            stateMachineArn,
            executionArn,
            ...(failure?.error !== undefined ? { error: failure.error } : {}),
            ...(failure?.cause !== undefined ? { cause: failure.cause } : {}),
          };
        }
      }
      nextToken = page.nextToken;
    } while (nextToken);
    if (Date.now() >= deadline) {
      sink(`still running after ${options.timeoutSeconds} s; stopped following (the execution goes on)`);
      return { status: 'STILL_RUNNING', stateMachineArn, executionArn };
    }
    await sleep(options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
  }
}
