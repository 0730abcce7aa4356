/**
 * The library behind `smhost run <state machine> --input file.json [--wait] [--timeout]`, for CI: validate
 * the input locally with the workflow's schema, find the state machine by name, start an execution and,
 * when asked, follow its history (each state as it is entered, an endpoint's status while the deployment
 * waits) until it ends. Works the same against AWS and the local stack: it only speaks the Step
 * Functions API through the client it is given.
 */
import { ListStateMachinesCommand, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { followExecution } from './follow-execution';
import { parseWorkflowInput, workflowOfStateMachine } from './workflow-schemas';

/** Raised when no state machine answers to the name given. */
export class StateMachineNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateMachineNotFoundError';
  }
}

export interface RunExecutionOptions {
  /** A state machine's full name (`smhost-dev-batch-transform`) or ARN. */
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

/** Where progress lines go (the demo passes its step's progress). */
export type OutputSink = (line: string) => void;

const DEFAULT_POLL_INTERVAL_MS = 2000;

/**
 * The ARN of the state machine with exactly this name (or this ARN). No partial match: a name that could
 * stand for several stages' machines must never pick one (`smhost run` resolves workflow names per stage).
 */
export async function findStateMachine(sfn: SFNClient, name: string): Promise<string> {
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListStateMachinesCommand({ ...(nextToken ? { nextToken } : {}) }));
    const found = (page.stateMachines ?? []).find((machine) => machine.name === name || machine.stateMachineArn === name);
    if (found?.stateMachineArn) return found.stateMachineArn;
    nextToken = page.nextToken;
  } while (nextToken);
  throw new StateMachineNotFoundError(`no state machine is called "${name}"`);
}

/**
 * Validates the input (when the state machine is one of the project's workflows), starts the execution
 * and, with `wait`, prints its progress until it ends or `timeoutSeconds` pass: each state, an endpoint's
 * status while waiting, and failed tasks as handled (a Retry or Catch took them) or not.
 * @throws WorkflowInputError before anything starts, for an input the workflow refuses
 * @throws StateMachineNotFoundError when no state machine has the name
 */
export async function runExecution(sfn: SFNClient, options: RunExecutionOptions, sink: OutputSink): Promise<ExecutionOutcome> {
  const workflow = workflowOfStateMachine(options.stateMachine);
  if (workflow !== undefined) parseWorkflowInput(workflow, options.input);

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

  const followed = await followExecution(
    sfn,
    {
      executionArn,
      pollIntervalMs: options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      ...(options.timeoutSeconds !== undefined ? { timeoutMs: options.timeoutSeconds * 1000 } : {}),
    },
    (line) => sink(line.text),
  );
  if (followed.status === 'STILL_RUNNING' || followed.status === 'INTERRUPTED') {
    sink(`still running after ${options.timeoutSeconds} s; stopped following (the execution goes on)`);
    return { status: 'STILL_RUNNING', stateMachineArn, executionArn };
  }
  return { ...followed, stateMachineArn, executionArn };
}
