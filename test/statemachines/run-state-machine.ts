/**
 * Runs a state machine file on `aws-local-stepfunctions` with every Task answered by a {@link FakeAws},
 * Wait states and retry pauses cut to nothing, and returns the outcome with the states entered.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import type { FakeAws } from './fake-aws';

export const STATEMACHINES_DIRECTORY = join(import.meta.dirname, '..', '..', 'statemachines');

type Json = Record<string, any>;

export function loadDefinition(workflow: string): Json {
  return JSON.parse(readFileSync(join(STATEMACHINES_DIRECTORY, `${workflow}.asl.json`), 'utf8')) as Json;
}

/** Every state of a definition by name, those inside Map item processors included. */
export function allStates(definition: Json): [string, Json][] {
  return Object.entries(definition.States as Json).flatMap(([name, state]): [string, Json][] => [
    [name, state as Json],
    ...((state as Json).ItemProcessor ? allStates((state as Json).ItemProcessor) : []),
    ...((state as Json).Iterator ? allStates((state as Json).Iterator) : []),
  ]);
}

function handlerFor(resource: string, fake: FakeAws): (input: any) => Promise<any> {
  const sdk = /^arn:aws:states:::aws-sdk:(sagemaker|s3):(\w+)$/.exec(resource);
  if (sdk) {
    const [, service, action] = sdk;
    if (service === 's3' && action === 'listObjectsV2') return async (input) => fake.listObjects(input);
    if (service === 'sagemaker') return async (input) => fake.sagemaker(action!, input);
  }
  if (resource === 'arn:aws:states:::lambda:invoke') return async (input) => fake.invokePrepare(input);
  if (resource === 'arn:aws:states:::sagemaker:createTransformJob.sync') return async (input) => fake.runTransformJob(input);
  if (resource === 'arn:aws:states:::dynamodb:putItem') return async (input) => fake.putItem(input);
  throw new Error(`no fake for ${resource}`);
}

export interface RunOutcome {
  output?: Json;
  error?: { name: string; cause: string };
  /** Names of the states entered, in order (one per state transition). */
  entered: string[];
  /** Seconds each WaitForEndpoint was entered with. */
  waits: number[];
  /** Every Wait state entered, with its input (the tests run them with no delay). */
  waitInputs: { state: string; input: Json }[];
  retried: string[];
}

/** Runs `workflow`'s file, or `definition` when given (a variant built from the file). */
export async function runStateMachine(
  workflow: string,
  input: unknown,
  fake: FakeAws,
  definition: Json = loadDefinition(workflow),
): Promise<RunOutcome> {
  const states = allStates(definition);
  const taskResourceLocalHandlers = Object.fromEntries(
    states.filter(([, s]) => s.Type === 'Task').map(([name, s]) => [name, handlerFor(s.Resource as string, fake)]),
  );
  const waitTimeOverrides = Object.fromEntries(states.filter(([, s]) => s.Type === 'Wait').map(([name]) => [name, 0]));
  const retryIntervalOverrides = Object.fromEntries(states.filter(([, s]) => s.Retry).map(([name]) => [name, 0]));

  const machine = new StateMachine(definition as never, {});
  const execution = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides },
    context: { Execution: { Name: 'test-execution-1', StartTime: '2024-05-01T09:30:00.000Z', Input: input as never } },
  });
  type Event = Awaited<ReturnType<(typeof execution.eventLogs)['next']>>['value'];
  const events: Exclude<Event, void>[] = [];
  const collect = (async () => {
    for await (const event of execution.eventLogs) events.push(event);
  })();

  const outcome: RunOutcome = { entered: [], waits: [], waitInputs: [], retried: [] };
  try {
    outcome.output = (await execution.result) as Json;
  } catch (error) {
    const cause = (error as { cause?: { name: string; message: string } }).cause;
    outcome.error = { name: cause?.name ?? String(error), cause: cause?.message ?? '' };
  }
  await collect;
  for (const event of events) {
    if (event.type === 'StateEntered') {
      outcome.entered.push(event.state.name);
      if (event.state.name === 'WaitForEndpoint') outcome.waits.push((event.state.input as Json).poll.seconds as number);
      if (event.state.type === 'Wait') outcome.waitInputs.push({ state: event.state.name, input: event.state.input as Json });
    }
    if (event.type === 'StateRetried') outcome.retried.push(event.state.name);
  }
  return outcome;
}
