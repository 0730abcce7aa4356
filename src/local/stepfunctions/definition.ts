/**
 * State machine definitions: checked the way CreateStateMachine checks them (JSON, the Amazon States
 * Language schema, unique state names), then rewritten for the local engine so that `Wait` states and
 * retry intervals run on the local time scale (DESIGN.md §3).
 */
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { invalidDefinition } from './api-errors';

/** A definition as JSON: the engine's types are stricter than what a user may send. */
export type Definition = Record<string, unknown> & { States: Record<string, State>; StartAt: string };
export type State = Record<string, unknown> & { Type: string };

/** The resource a `Wait` state becomes in the engine's copy: a task the time-scaled wait handler answers. */
export const LOCAL_WAIT_RESOURCE = 'arn:aws:states:::local:wait';

/**
 * What the engine uses when a task has no `TimeoutSeconds` is 60 s (DESIGN.md §3); a rewritten `Wait` must
 * never hit that; it carries the longest timeout a Node timer can hold (about 23 days).
 */
const WAIT_TASK_TIMEOUT_SECONDS = 2_000_000;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The nested state machines of a `Map` (`ItemProcessor`/`Iterator`) or `Parallel` (`Branches`) state. */
function nestedMachines(state: State): Definition[] {
  const nested: Definition[] = [];
  for (const key of ['ItemProcessor', 'Iterator']) if (isObject(state[key])) nested.push(state[key] as Definition);
  if (Array.isArray(state.Branches)) nested.push(...(state.Branches as Definition[]));
  return nested;
}

/** Every state of a definition by name, those of nested `Map` and `Parallel` machines included. */
export function collectStates(definition: Definition): Map<string, State> {
  const states = new Map<string, State>();
  const visit = (machine: Definition) => {
    for (const [name, state] of Object.entries(machine.States)) {
      if (states.has(name)) throw invalidDefinition(`Invalid State Machine Definition: 'DUPLICATE_STATE_NAME: Duplicate State name: ${name}'`);
      states.set(name, state);
      nestedMachines(state).forEach(visit);
    }
  };
  visit(definition);
  return states;
}

/**
 * Parses and checks a definition as CreateStateMachine does.
 * @throws StepFunctionsApiError `InvalidDefinition`, naming what is wrong
 */
export function parseDefinition(text: unknown): Definition {
  if (typeof text !== 'string' || text.trim() === '') throw invalidDefinition('Invalid State Machine Definition: definition must be a non-empty JSON string');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalidDefinition(`Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: ${(error as Error).message}'`);
  }
  if (!isObject(parsed) || !isObject(parsed.States) || typeof parsed.StartAt !== 'string') {
    throw invalidDefinition('Invalid State Machine Definition: the definition must be an object with StartAt (a state name) and States');
  }
  if (parsed.QueryLanguage === 'JSONata') {
    throw invalidDefinition('Invalid State Machine Definition: the local engine runs JSONPath definitions only (QueryLanguage JSONata is not supported; DESIGN.md §4)');
  }
  try {
    // The validator fills in defaults as it goes, so it gets a copy.
    new StateMachine(structuredClone(parsed) as unknown as StateMachineDefinition, { validationOptions: { checkArn: true, checkPaths: true } });
  } catch (error) {
    throw invalidDefinition(`Invalid State Machine Definition: ${(error as Error).message.replace(/\s+/g, ' ').trim()}`);
  }
  const definition = parsed as Definition;
  collectStates(definition);
  return definition;
}

function scaleRetriers(retriers: unknown, timeScale: number): unknown {
  if (!Array.isArray(retriers)) return retriers;
  return retriers.map((retrier: Record<string, unknown>) => ({
    ...retrier,
    IntervalSeconds: (typeof retrier.IntervalSeconds === 'number' ? retrier.IntervalSeconds : 1) * timeScale,
    ...(typeof retrier.MaxDelaySeconds === 'number' ? { MaxDelaySeconds: retrier.MaxDelaySeconds * timeScale } : {}),
  }));
}

/** The task a `Wait` state becomes: its duration fields are handed to the wait handler as parameters. */
function waitAsTask(state: State): State {
  const parameters: Record<string, unknown> = { 'input.$': '$' };
  if (state.Seconds !== undefined) parameters.seconds = state.Seconds;
  if (state.Timestamp !== undefined) parameters.timestamp = state.Timestamp;
  if (state.SecondsPath !== undefined) parameters['seconds.$'] = state.SecondsPath;
  if (state.TimestampPath !== undefined) parameters['timestamp.$'] = state.TimestampPath;
  const task: State = { Type: 'Task', Resource: LOCAL_WAIT_RESOURCE, Parameters: parameters, TimeoutSeconds: WAIT_TASK_TIMEOUT_SECONDS };
  for (const key of ['InputPath', 'OutputPath', 'Next', 'End', 'Comment']) if (key in state) task[key] = state[key];
  return task;
}

/**
 * The copy of a checked definition the engine runs: `Wait` states become tasks answered by a wait handler
 * on the time scale, and retry intervals (and their caps) are multiplied by the time scale. Everything else,
 * task timeouts included, is left as written: those bound real work, which the time scale does not speed up.
 */
export function engineDefinition(definition: Definition, timeScale: number): Definition {
  const rewrite = (machine: Definition): Definition => {
    const states: Record<string, State> = {};
    for (const [name, original] of Object.entries(machine.States)) {
      let state: State = original.Type === 'Wait' ? waitAsTask(original) : { ...original };
      if (state.Retry !== undefined) state = { ...state, Retry: scaleRetriers(state.Retry, timeScale) };
      for (const key of ['ItemProcessor', 'Iterator']) if (isObject(state[key])) state[key] = rewrite(state[key] as Definition);
      if (Array.isArray(state.Branches)) state.Branches = (state.Branches as Definition[]).map(rewrite);
      states[name] = state;
    }
    return { ...machine, States: states };
  };
  return rewrite(structuredClone(definition));
}
