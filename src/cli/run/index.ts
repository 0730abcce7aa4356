/**
 * `smhost run <state machine> --input file.json [--wait] [--timeout s] [--poll s] [--name exec]`: the command
 * CI runs. The input is validated locally with the workflow's schema before anything is called; a workflow
 * name means the machine of the command's stage and no other (state-machine-lookup.ts); with `--wait` the
 * execution is followed state by state until it ends, `--timeout` passes or the user interrupts. The exit code
 * tells CI what happened.
 */
import { readFile } from 'node:fs/promises';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { Command } from 'commander';
import { errorName } from '../../aws/errors';
import { type InputProblem, parseWorkflowInput, WORKFLOW_NAMES, WorkflowInputError } from '../../workflows/workflow-schemas';
import type { CommandHost } from '../command';
import { CliError, ExitCode, InterruptedError, InvalidInputError, NotFoundError, OperationFailedError, WaitTimeoutError } from '../errors';
import { parseInput, secondsSchema } from '../inputs';
import { formatFields, type Output } from '../output';
import { followExecution, type FollowOutcome } from '../../workflows/follow-execution';
import { checkStageAgrees, resolveStateMachine } from './state-machine-lookup';

/** The input file breaks the workflow's schema; nothing was started. */
export class WorkflowInputRefusedError extends CliError {
  constructor(file: string, workflow: string, error: WorkflowInputError) {
    const problems: InputProblem[] = error.problems;
    const listed = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
    super(`invalid --input ${JSON.stringify(file)}: ${workflow} input is invalid: ${listed}`, ExitCode.Usage, {
      input: '--input',
      problems,
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

/**
 * The project workflow a state machine name (or ARN) stands for (`batch-transform`, `smhost-dev-batch-transform`),
 * whose schema the input must pass.
 */
export function workflowPart(name: string): (typeof WORKFLOW_NAMES)[number] | undefined {
  return WORKFLOW_NAMES.find((workflow) => name === workflow || name.endsWith(`-${workflow}`));
}

function renderRun(result: RunResult): string {
  const fields = formatFields([
    ['status', result.status.toLowerCase()],
    ['state machine', result.stateMachineArn],
    ['execution', result.executionArn],
  ]);
  return result.output === undefined ? fields : `${fields}output:\n${JSON.stringify(result.output, null, 2)}\n`;
}

/** How to stop an execution the command stopped following, as a command the user can paste. */
export function stopCommand(executionArn: string, endpointUrl: string | undefined): string {
  return `aws stepfunctions stop-execution --execution-arn ${executionArn}${endpointUrl ? ` --endpoint-url ${endpointUrl}` : ''}`;
}

/** Turns an outcome that is not a success into the error (and exit code) CI sees. */
function outcomeError(
  outcome: FollowOutcome,
  executionArn: string,
  timeoutSeconds: number | undefined,
  endpointUrl: string | undefined,
): CliError | undefined {
  const details = { executionArn, status: outcome.status };
  const goesOn = `it goes on: ${executionArn}; to stop it: ${stopCommand(executionArn, endpointUrl)}`;
  switch (outcome.status) {
    case 'SUCCEEDED':
      return undefined;
    case 'STILL_RUNNING':
      return new WaitTimeoutError(`execution still running after ${timeoutSeconds} s; stopped waiting (${goesOn})`, details);
    case 'INTERRUPTED':
      return new InterruptedError(`interrupted; stopped following the execution (${goesOn})`, details);
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

/** Prints a progress line: handled failures as secondary lines, the rest as they are. */
function progress(output: Output) {
  return (line: { kind: string; text: string }) => (line.kind === 'handled' ? output.note(line.text) : output.log(line.text));
}

/** `smhost run <state machine> --input <file> [--wait] [--timeout <s>] [--poll <s>] [--name <execution>]` */
export function registerRunCommand(program: Command, host: CommandHost): void {
  program
    .command('run')
    .description('start a state machine with an input validated first; with --wait, follow it to the end (for CI)')
    .argument(
      '<state-machine>',
      `a workflow (${WORKFLOW_NAMES.join(', ')}), meaning the machine of --stage (<service>-<stage>-<workflow>), ` +
        'or a full state machine name or ARN',
    )
    .option('--input <file>', 'JSON file with the execution input')
    .option('--wait', 'follow the execution until it ends; the exit code says how it ended')
    .option('--timeout <seconds>', 'with --wait: stop following after this long (exit 4; the execution goes on)')
    .option('--poll <seconds>', `with --wait: seconds between reads of the execution's history, i.e. how often progress lines appear (default: ${DEFAULT_POLL_SECONDS})`)
    .option('--name <execution>', 'execution name (unique per state machine; the same name and input while it runs follows that execution)')
    .addHelpText(
      'after',
      '\nWith --wait, Ctrl-C stops following (exit 130) and prints how to stop the execution, which goes on.\n' +
        'A failed task that a Retry or Catch handles is shown as handled (dim on a terminal), not as an error.',
    )
    .action(
      host.run(async ({ context, output, globals, interruptible }, stateMachine: string, opts: RunCommandOptions) => {
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
          if (error instanceof WorkflowInputError) throw new WorkflowInputRefusedError(opts.input, workflow!, error);
          throw error;
        }

        const ctx = context();
        const sfn = ctx.clients.sfn;
        const stack = { service: ctx.names.service, stage: ctx.names.stage };
        checkStageAgrees(stateMachine, stack, globals.stage);
        const machine = await resolveStateMachine(sfn, stateMachine, stack);
        let executionArn: string;
        try {
          const started = await sfn.send(
            new StartExecutionCommand({
              stateMachineArn: machine.arn,
              input: JSON.stringify(input),
              ...(executionName !== undefined ? { name: executionName } : {}),
            }),
          );
          executionArn = started.executionArn!;
        } catch (error) {
          if (errorName(error) === 'ExecutionAlreadyExists') {
            throw new OperationFailedError(
              // Step Functions reattaches to a running execution of the same name and input; it refuses a name
              // whose execution has ended, or that was started with another input.
              `an execution named "${executionName}" already exists (it has ended, or it ran with another input); pick another --name`,
              { executionName },
            );
          }
          if (errorName(error) === 'StateMachineDoesNotExist') throw new NotFoundError((error as Error).message, { stateMachine: machine.name });
          throw error;
        }
        output.log(`started ${executionArn}`);

        let result: RunResult = { status: 'STARTED', stateMachineArn: machine.arn, executionArn };
        if (opts.wait) {
          const outcome = await interruptible((signal) =>
            followExecution(
              sfn,
              {
                executionArn,
                pollIntervalMs: pollSeconds * 1000,
                signal,
                ...(timeoutSeconds !== undefined ? { timeoutMs: timeoutSeconds * 1000 } : {}),
              },
              progress(output),
            ),
          );
          const failure = outcomeError(outcome, executionArn, timeoutSeconds, globals.endpointUrl);
          if (failure) throw failure;
          const ended = outcome.status === 'SUCCEEDED' ? outcome.output : undefined;
          result = { status: 'SUCCEEDED', stateMachineArn: machine.arn, executionArn, ...(ended !== undefined ? { output: ended } : {}) };
        }
        output.result(result, renderRun(result));
      }),
    );
}
