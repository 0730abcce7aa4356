/**
 * `smhost run <state machine> --input file.json [--wait] [--timeout s] [--name exec]`: the command CI runs.
 * The input is validated locally with the workflow's schema before anything is called; the state machine is
 * found by name (the stack's own, `<service>-<stage>-<workflow>`, first); with `--wait` the execution is
 * followed state by state until it ends. The exit code tells CI what happened.
 */
import { readFile } from 'node:fs/promises';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import { errorName } from '../../aws/errors';
import { type ExecutionOutcome, findStateMachine, runExecution, StateMachineNotFoundError } from '../../workflows/run-execution';
import { type InputProblem, parseWorkflowInput, WORKFLOW_NAMES, WorkflowInputError } from '../../workflows/workflow-schemas';
import type { CommandHost } from '../command';
import { CliError, ExitCode, InvalidInputError, NotFoundError, OperationFailedError, WaitTimeoutError } from '../errors';
import { parseInput, secondsSchema } from '../inputs';
import { formatFields } from '../output';

/** The input file breaks the workflow's schema; nothing was started. */
export class WorkflowInputRefusedError extends CliError {
  constructor(file: string, error: WorkflowInputError) {
    super(`invalid --input ${JSON.stringify(file)}: ${error.message}`, ExitCode.Usage, {
      input: '--input',
      problems: error.problems satisfies InputProblem[],
    });
  }
}

/** The execution ended without succeeding; the message carries Step Functions' error and cause. */
export class ExecutionFailedError extends OperationFailedError {}

export interface RunCommandOptions {
  input?: string;
  wait?: boolean;
  timeout?: string;
  name?: string;
  poll?: string;
}

/** What `run` reports on success (or, without `--wait`, once the execution started). */
export interface RunResult {
  status: 'STARTED' | 'SUCCEEDED';
  stateMachineArn: string;
  executionArn: string;
  output?: unknown;
}

const DEFAULT_POLL_SECONDS = 2;
// Step Functions' rule for execution names.
const EXECUTION_NAME_FORBIDDEN = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/u;

/** Checks `--name` against the rule Step Functions applies to execution names. */
export function parseExecutionName(name: string): string {
  if (name.length < 1 || name.length > 80) throw new InvalidInputError(`--name ${JSON.stringify(name)}`, 'must be 1-80 characters');
  const bad = EXECUTION_NAME_FORBIDDEN.exec(name);
  if (bad) {
    throw new InvalidInputError(
      `--name ${JSON.stringify(name)}`,
      `must not contain ${JSON.stringify(bad[0])} (no whitespace, brackets, wildcards, control characters or any of " # % \\ ^ | ~ \` $ & , ; : /)`,
    );
  }
  return name;
}

/** Reads the input file as JSON, naming the file and what is wrong with it. */
export async function readInputFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new InvalidInputError(
      `--input ${JSON.stringify(path)}`,
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a JSON file' : `cannot be read (${code ?? (error as Error).message})`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`--input ${JSON.stringify(path)}`, `is not a JSON document (${(error as Error).message})`);
  }
}

/** The project workflow a state machine name stands for (`batch-transform`, `smhost-dev-batch-transform`). */
export function workflowPart(name: string): (typeof WORKFLOW_NAMES)[number] | undefined {
  return WORKFLOW_NAMES.find((workflow) => name === workflow || name.endsWith(`-${workflow}`));
}

/**
 * The name to start: `<service>-<stage>-<name>` when that state machine exists (so `--stage` picks the stack
 * when several share the account), else the name as given.
 */
export async function stageQualifiedName(sfn: SFNClient, name: string, prefix: string): Promise<string> {
  if (name.startsWith(prefix)) return name;
  try {
    await findStateMachine(sfn, `${prefix}${name}`);
    return `${prefix}${name}`;
  } catch (error) {
    if (error instanceof StateMachineNotFoundError) return name;
    throw error;
  }
}

function renderRun(result: RunResult): string {
  const fields = formatFields([
    ['status', result.status.toLowerCase()],
    ['state machine', result.stateMachineArn],
    ['execution', result.executionArn],
  ]);
  return result.output === undefined ? fields : `${fields}output:\n${JSON.stringify(result.output, null, 2)}\n`;
}

/** Turns an outcome that is not a success into the error (and exit code) CI sees. */
function outcomeError(outcome: ExecutionOutcome, timeoutSeconds: number | undefined): CliError | undefined {
  const details = { executionArn: outcome.executionArn, status: outcome.status };
  switch (outcome.status) {
    case 'STARTED':
    case 'SUCCEEDED':
      return undefined;
    case 'STILL_RUNNING':
      return new WaitTimeoutError(
        `execution still running after ${timeoutSeconds} s; stopped waiting (it goes on: ${outcome.executionArn})`,
        details,
      );
    default: {
      const what = outcome.status === 'TIMED_OUT' ? 'timed out' : outcome.status === 'ABORTED' ? 'was aborted' : 'failed';
      const reason = [outcome.error, outcome.cause].filter((part) => part !== undefined && part !== '').join(': ');
      return new ExecutionFailedError(`execution ${what}${reason ? `: ${reason}` : ''}`, {
        ...details,
        ...(outcome.error !== undefined ? { error: outcome.error } : {}),
        ...(outcome.cause !== undefined ? { cause: outcome.cause } : {}),
      });
    }
  }
}

/** `smhost run <state machine> --input <file> [--wait] [--timeout <s>] [--name <execution>]` */
export function registerRunCommand(program: Command, host: CommandHost): void {
  program
    .command('run')
    .description('start a state machine with an input validated first; with --wait, follow it to the end (for CI)')
    .argument('<state-machine>', `a workflow (${WORKFLOW_NAMES.join(', ')}) or a full state machine name`)
    .option('--input <file>', 'JSON file with the execution input')
    .option('--wait', 'follow the execution until it ends; the exit code says how it ended')
    .option('--timeout <seconds>', 'with --wait: stop following after this long (exit 4; the execution goes on)')
    .option('--name <execution>', 'execution name (unique per state machine; the same name and input while it runs follows that execution)')
    .option('--poll <seconds>', `with --wait: pause between history reads (default ${DEFAULT_POLL_SECONDS})`)
    .action(
      host.run(async ({ context, output }, stateMachine: string, opts: RunCommandOptions) => {
        if (stateMachine.trim() === '') throw new InvalidInputError('state-machine', 'must not be empty');
        if (opts.input === undefined) throw new InvalidInputError('--input', 'is required: the JSON file with the execution input');
        if (opts.timeout !== undefined && !opts.wait) throw new InvalidInputError('--timeout', 'needs --wait (it bounds the wait)');
        if (opts.poll !== undefined && !opts.wait) throw new InvalidInputError('--poll', 'needs --wait');
        const timeoutSeconds = opts.timeout === undefined ? undefined : parseInput(secondsSchema, opts.timeout, '--timeout');
        const pollSeconds = opts.poll === undefined ? DEFAULT_POLL_SECONDS : parseInput(secondsSchema, opts.poll, '--poll');
        const executionName = opts.name === undefined ? undefined : parseExecutionName(opts.name);
        const input = await readInputFile(opts.input);

        // Validated here first, so a bad input fails before any request, even the state machine lookup.
        const workflow = workflowPart(stateMachine);
        try {
          if (workflow !== undefined) parseWorkflowInput(workflow, input);
        } catch (error) {
          if (error instanceof WorkflowInputError) throw new WorkflowInputRefusedError(opts.input, error);
          throw error;
        }

        const ctx = context();
        const sfn = ctx.clients.sfn;
        let outcome: ExecutionOutcome;
        try {
          const name = await stageQualifiedName(sfn, stateMachine, `${ctx.names.service}-${ctx.names.stage}-`);
          outcome = await runExecution(
            sfn,
            {
              stateMachine: name,
              input,
              wait: Boolean(opts.wait),
              ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}),
              ...(executionName !== undefined ? { executionName } : {}),
              pollIntervalMs: pollSeconds * 1000,
            },
            (line) => output.log(line),
          );
        } catch (error) {
          if (error instanceof StateMachineNotFoundError) throw new NotFoundError(error.message, { stateMachine });
          if (error instanceof WorkflowInputError) throw new WorkflowInputRefusedError(opts.input, error);
          if (errorName(error) === 'ExecutionAlreadyExists') {
            throw new OperationFailedError(
              // Step Functions reattaches to a running execution of the same name and input; it refuses a name
              // whose execution has ended, or that was started with another input.
              `an execution named "${executionName}" already exists (it has ended, or it ran with another input); pick another --name`,
              { executionName },
            );
          }
          if (errorName(error) === 'StateMachineDoesNotExist') throw new NotFoundError((error as Error).message, { stateMachine });
          throw error;
        }
        const failure = outcomeError(outcome, timeoutSeconds);
        if (failure) throw failure;
        const result: RunResult = {
          status: outcome.status as RunResult['status'],
          stateMachineArn: outcome.stateMachineArn,
          executionArn: outcome.executionArn,
          ...(outcome.output !== undefined ? { output: outcome.output } : {}),
        };
        output.result(result, renderRun(result));
      }),
    );
}
