/**
 * Finds the state machine `smhost run` starts. A workflow name (`batch-transform`) means the machine of the
 * stage the command runs for (`<service>-<stage>-batch-transform`) and nothing else: a CI job aimed at prod
 * must never start dev's machine because prod's is missing. Any other name is taken as a full name, exactly.
 */
import { ListStateMachinesCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { isWorkflowName, workflowOfStateMachine } from '../../workflows/workflow-schemas';
import { InvalidInputError, NotFoundError } from '../errors';

/** A state machine as ListStateMachines names it. */
export interface StateMachineRef {
  name: string;
  arn: string;
}

/** The stack the command runs for: its machines are `<service>-<stage>-<workflow>`. */
export interface StackRef {
  service: string;
  stage: string;
}

/** No state machine has the name looked for; `existing` lists the machines of the same workflow that do exist. */
export class StateMachineMissingError extends NotFoundError {
  constructor(wanted: string, requested: string, existing: string[], stage: string | undefined) {
    const where = stage !== undefined ? ` (workflow ${requested} of stage "${stage}")` : '';
    const hint =
      existing.length > 0
        ? `; the machines of this workflow that exist: ${existing.join(', ')} (pick the stage with --stage)`
        : stage !== undefined
          ? `; is the stack deployed for stage "${stage}"?`
          : '';
    super(`no state machine ${wanted}${where}${hint}`, { stateMachine: wanted, existing });
  }
}

/** Every state machine of the account and region, across pages. */
export async function listStateMachines(sfn: SFNClient, signal?: AbortSignal): Promise<StateMachineRef[]> {
  const machines: StateMachineRef[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(
      new ListStateMachinesCommand({ ...(nextToken ? { nextToken } : {}) }),
      ...(signal ? [{ abortSignal: signal }] : []),
    );
    for (const machine of page.stateMachines ?? []) {
      if (machine.name && machine.stateMachineArn) machines.push({ name: machine.name, arn: machine.stateMachineArn });
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return machines;
}

/** The name `run` looks for: the stage's machine for a workflow name, the name itself otherwise. */
export function wantedStateMachineName(requested: string, stack: StackRef): string {
  return isWorkflowName(requested) ? `${stack.service}-${stack.stage}-${requested}` : requested;
}

/**
 * The state machine named exactly as {@link wantedStateMachineName} says (or whose ARN was given).
 * @throws StateMachineMissingError naming what was looked for and, as a hint, the machines that exist for
 *   the same workflow under other stages or stacks
 */
export async function resolveStateMachine(sfn: SFNClient, requested: string, stack: StackRef): Promise<StateMachineRef> {
  const machines = await listStateMachines(sfn);
  const byArn = requested.startsWith('arn:') ? machines.find((m) => m.arn === requested) : undefined;
  if (byArn) return byArn;
  const wanted = wantedStateMachineName(requested, stack);
  const found = machines.find((m) => m.name === wanted);
  if (found) return found;
  const suffix = `-${workflowOfStateMachine(requested) ?? requested}`;
  const existing = machines
    .map((m) => m.name)
    .filter((name) => name.endsWith(suffix))
    .sort();
  throw new StateMachineMissingError(wanted, requested, existing, isWorkflowName(requested) ? stack.stage : undefined);
}

/**
 * Refuses a full name (or ARN) of another stage's machine when `--stage` names a stage: the command line
 * would contradict itself, and a CI job aimed at one stage must not touch another.
 */
export function checkStageAgrees(requested: string, stack: StackRef, stageOption: string | undefined): void {
  if (stageOption === undefined) return;
  const name = requested.startsWith('arn:') ? requested.slice(requested.lastIndexOf(':') + 1) : requested;
  const workflow = workflowOfStateMachine(name);
  const prefix = `${stack.service}-`;
  if (workflow === undefined || name === workflow || !name.startsWith(prefix)) return;
  const stage = name.slice(prefix.length, name.length - workflow.length - 1);
  if (stage !== '' && stage !== stageOption) {
    throw new InvalidInputError(
      `state-machine ${JSON.stringify(requested)}`,
      `is the ${workflow} machine of stage "${stage}", but --stage is "${stageOption}"; ` +
        `give the workflow name (${workflow}) to run stage "${stageOption}"'s, or leave out --stage`,
    );
  }
}

