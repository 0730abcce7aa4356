/**
 * The local Step Functions service: the API users and tools call (AWS JSON 1.0, `X-Amz-Target:
 * AWSStepFunctions.<Op>`) over state machines run on `aws-local-stepfunctions` with the generic task
 * dispatcher. The local stack's edge hands it every request signed for `states`.
 *
 * State machines and finished executions are kept in `<dataDir>/stepfunctions-state.json` when a data dir
 * is given. Executions in flight do not survive a restart (DESIGN.md §3): closing the service stops them,
 * and they are recorded as `ABORTED` with that reason.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { ClientOptions } from '../../aws/clients';
import { LOCAL_ACCOUNT_ID } from '../../aws/stack-names';
import { readBodyWithin } from '../edge/request-body';
import { resolveTimeScale } from '../time-scale';
import {
  executionAlreadyExists,
  executionDoesNotExist,
  invalidExecutionInput,
  invalidToken,
  stateMachineAlreadyExists,
  stateMachineDoesNotExist,
  stateMachineTypeNotSupported,
  StepFunctionsApiError,
  UnknownOperationError,
  validationException,
} from './api-errors';
import { checkName, checkRoleArn, executionArn, parseExecutionArn, parseStateMachineArn, stateMachineArn, type ArnScope } from './arns';
import { parseDefinition, type Definition } from './definition';
import { Execution, type ExecutionRecord, type ExecutionStatus, type HistoryEvent } from './execution';
import type { FunctionResolver } from './lambda-functions';
import { SdkClients, type ServiceName } from './sdk-calls';
import { TaskDispatcher } from './task-dispatcher';

export const STEP_FUNCTIONS_STATE_FILE = 'stepfunctions-state.json';
const JSON_10 = 'application/x-amz-json-1.0';
const TARGET_PREFIX = 'AWSStepFunctions.';
const MAX_BODY_BYTES = 2 * 1024 * 1024;
/** StartExecution's input limit, as on AWS. */
const MAX_INPUT_BYTES = 256 * 1024;

export interface StepFunctionsServiceOptions {
  region?: string;
  accountId?: string;
  /** Local clock speed (see `src/local/time-scale.ts`); default `SMHOST_TIME_SCALE`, else 1. */
  timeScale?: number;
  /** Where the services tasks call are: `endpoint` (the edge) and credentials for every client. */
  clientOptions?: ClientOptions;
  /** A different endpoint for some services (tests point SageMaker at the emulator's own server). */
  endpoints?: Partial<Record<ServiceName, string>>;
  /** The Lambda functions tasks may invoke (see `functionsFromSpecs`). */
  functions?: FunctionResolver;
  /** Where state machines and finished executions are kept; without it, in memory only. */
  dataDir?: string;
  /** AWS seconds between two polls of a `.sync` job (scaled); default 5. */
  syncPollSeconds?: number;
}

/** A registered state machine. */
export interface StateMachineRecord {
  stateMachineArn: string;
  name: string;
  definition: string;
  roleArn: string;
  type: 'STANDARD';
  creationDate: Date;
  updateDate?: Date;
}

/** What StartExecution answers, for callers in this process (the scheduler). */
export interface StartedExecution {
  executionArn: string;
  startDate: Date;
}

export interface StepFunctionsService {
  /** Serves one request of the Step Functions API. Never rejects: failures become AWS errors. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** CreateStateMachine, or UpdateStateMachine when one of that name exists (the stack registers serverless.yml's at start). */
  registerStateMachine(input: { name: string; definition: string; roleArn: string }): StateMachineRecord;
  /** StartExecution in process. */
  startExecution(input: { stateMachineArn: string; name?: string; input?: string }): StartedExecution;
  /** Resolves when the execution has ended; for tests and in-process callers. */
  waitForExecution(executionArn: string): Promise<ExecutionRecord>;
  stateMachineArn(name: string): string;
  /** Stops running executions (recorded as aborted), saves state, closes clients. */
  close(): Promise<void>;
}

interface PersistedState {
  stateMachines: Array<Omit<StateMachineRecord, 'creationDate' | 'updateDate'> & { creationDate: string; updateDate?: string }>;
  executions: Array<Omit<ExecutionRecord, 'startDate' | 'stopDate' | 'events'> & { startDate: string; stopDate?: string; events: Array<Omit<HistoryEvent, 'timestamp'> & { timestamp: string }> }>;
}

type Input = Record<string, unknown>;

function epochSeconds(date: Date): number {
  return date.getTime() / 1000;
}

function optionalString(input: Input, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw validationException(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must be a string`);
  return value;
}

function requiredString(input: Input, field: string): string {
  const value = optionalString(input, field);
  if (value === undefined) throw validationException(`1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
  return value;
}

function maxResultsOf(input: Input): number {
  const value = input.maxResults;
  if (value === undefined || value === null || value === 0) return 100;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 1000) {
    throw validationException(`1 validation error detected: Value '${String(value)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000`);
  }
  return value;
}

/** A page of `items` from the offset the token holds; the token is opaque to callers. */
function page<T>(items: T[], input: Input): { items: T[]; nextToken?: string } {
  const limit = maxResultsOf(input);
  let offset = 0;
  const token = optionalString(input, 'nextToken');
  if (token !== undefined) {
    const decoded = /^o:(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
    if (!decoded) throw invalidToken(`Invalid Token: '${token}' is not a nextToken this service returned`);
    offset = Number(decoded[1]);
  }
  const slice = items.slice(offset, offset + limit);
  const next = offset + limit < items.length ? Buffer.from(`o:${offset + limit}`).toString('base64url') : undefined;
  return { items: slice, ...(next ? { nextToken: next } : {}) };
}

const STATUSES: ExecutionStatus[] = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];

/** Creates the service; the edge routes `states` requests to `handle`. */
export function createStepFunctionsService(options: StepFunctionsServiceOptions = {}): StepFunctionsService {
  const scope: ArnScope = { region: options.region ?? 'us-east-1', accountId: options.accountId ?? LOCAL_ACCOUNT_ID };
  const timeScale = resolveTimeScale(options.timeScale);
  const clients = new SdkClients(
    { region: scope.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, ...options.clientOptions },
    options.endpoints,
  );
  const dispatcher = new TaskDispatcher({
    clients,
    timeScale,
    ...(options.functions ? { functions: options.functions } : {}),
    ...(options.syncPollSeconds !== undefined ? { syncPollSeconds: options.syncPollSeconds } : {}),
  });
  const stateMachines = new Map<string, StateMachineRecord>();
  const definitions = new Map<string, Definition>();
  const executions = new Map<string, ExecutionRecord>();
  const running = new Map<string, Execution>();
  const stateFile = options.dataDir ? join(options.dataDir, STEP_FUNCTIONS_STATE_FILE) : undefined;

  function save(): void {
    if (!stateFile || !options.dataDir) return;
    const state: PersistedState = {
      stateMachines: [...stateMachines.values()].map(({ creationDate, updateDate, ...machine }) => ({
        ...machine,
        creationDate: creationDate.toISOString(),
        ...(updateDate ? { updateDate: updateDate.toISOString() } : {}),
      })),
      executions: [...executions.values()]
        .filter((record) => record.status !== 'RUNNING')
        .map(({ startDate, stopDate, events, ...record }) => ({
          ...record,
          startDate: startDate.toISOString(),
          ...(stopDate ? { stopDate: stopDate.toISOString() } : {}),
          events: events.map(({ timestamp, ...event }) => ({ ...event, timestamp: timestamp.toISOString() })),
        })),
    };
    mkdirSync(options.dataDir, { recursive: true });
    // Written aside then renamed, so a crash mid-write never leaves half a file behind.
    writeFileSync(`${stateFile}.tmp`, JSON.stringify(state));
    renameSync(`${stateFile}.tmp`, stateFile);
  }

  function load(): void {
    if (!stateFile) return;
    let text: string;
    try {
      text = readFileSync(stateFile, 'utf8');
    } catch {
      return;
    }
    const state = JSON.parse(text) as PersistedState;
    for (const machine of state.stateMachines) {
      const { updateDate, ...rest } = machine;
      stateMachines.set(machine.name, { ...rest, creationDate: new Date(machine.creationDate), ...(updateDate ? { updateDate: new Date(updateDate) } : {}) });
      definitions.set(machine.name, parseDefinition(machine.definition));
    }
    for (const record of state.executions) {
      const { stopDate, ...rest } = record;
      executions.set(record.executionArn, {
        ...rest,
        startDate: new Date(record.startDate),
        ...(stopDate ? { stopDate: new Date(stopDate) } : {}),
        events: record.events.map((event) => ({ ...event, timestamp: new Date(event.timestamp) }) as HistoryEvent),
      });
    }
  }
  load();

  function machineByArn(arn: unknown, field = 'stateMachineArn'): StateMachineRecord {
    const { name } = parseStateMachineArn(arn, field);
    const machine = stateMachines.get(name);
    if (!machine || machine.stateMachineArn !== arn) throw stateMachineDoesNotExist(`State Machine Does Not Exist: '${String(arn)}'`);
    return machine;
  }

  function executionByArn(arn: unknown): ExecutionRecord {
    parseExecutionArn(arn);
    const record = executions.get(arn as string);
    if (!record) throw executionDoesNotExist(`Execution Does Not Exist: '${String(arn)}'`);
    return record;
  }

  function registerStateMachine(input: { name: string; definition: string; roleArn: string; type?: string }): StateMachineRecord {
    const name = checkName(input.name, 'name');
    const roleArn = checkRoleArn(input.roleArn);
    const definition = parseDefinition(input.definition);
    const arn = stateMachineArn(scope, name);
    const existing = stateMachines.get(name);
    const now = new Date();
    const record: StateMachineRecord = existing
      ? { ...existing, definition: input.definition, roleArn, updateDate: now }
      : { stateMachineArn: arn, name, definition: input.definition, roleArn, type: 'STANDARD', creationDate: now };
    stateMachines.set(name, record);
    definitions.set(name, definition);
    save();
    return record;
  }

  function startExecution(input: { stateMachineArn: string; name?: string; input?: string }): StartedExecution {
    const machine = machineByArn(input.stateMachineArn);
    const name = input.name === undefined ? randomUUID() : checkName(input.name, 'name');
    const inputText = input.input ?? '{}';
    if (Buffer.byteLength(inputText) > MAX_INPUT_BYTES) throw invalidExecutionInput(`Invalid Execution Input: the input is larger than ${MAX_INPUT_BYTES} bytes`);
    try {
      JSON.parse(inputText);
    } catch (error) {
      throw invalidExecutionInput(`Invalid Execution Input: the input is not JSON: ${(error as Error).message}`);
    }
    const arn = executionArn(scope, machine.name, name);
    const existing = executions.get(arn);
    if (existing) {
      // The same name and input while running is an idempotent retry of the same call, as on AWS.
      if (existing.status === 'RUNNING' && existing.input === inputText) return { executionArn: arn, startDate: existing.startDate };
      throw executionAlreadyExists(`Execution Already Exists: '${arn}'`);
    }
    const execution = new Execution({
      definition: definitions.get(machine.name)!,
      stateMachineArn: machine.stateMachineArn,
      stateMachineName: machine.name,
      roleArn: machine.roleArn,
      executionArn: arn,
      name,
      input: inputText,
      region: scope.region,
      timeScale,
      dispatcher,
      onEnd: () => {
        running.delete(arn);
        save();
      },
    });
    executions.set(arn, execution.record);
    running.set(arn, execution);
    return { executionArn: arn, startDate: execution.record.startDate };
  }

  /** What ListExecutions gives of an execution, and DescribeExecution starts with. */
  function executionSummary(record: ExecutionRecord): Input {
    return {
      executionArn: record.executionArn,
      stateMachineArn: record.stateMachineArn,
      name: record.name,
      status: record.status,
      startDate: epochSeconds(record.startDate),
      ...(record.stopDate ? { stopDate: epochSeconds(record.stopDate) } : {}),
    };
  }

  function describeExecution(record: ExecutionRecord): Input {
    return {
      ...executionSummary(record),
      input: record.input,
      inputDetails: { included: true },
      ...(record.output !== undefined ? { output: record.output, outputDetails: { included: true } } : {}),
      ...(record.error !== undefined ? { error: record.error } : {}),
      ...(record.cause !== undefined ? { cause: record.cause } : {}),
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
      redriveStatusReason: 'The local Step Functions does not redrive executions',
    };
  }

  const operations: Record<string, (input: Input) => unknown> = {
    CreateStateMachine(input) {
      const type = optionalString(input, 'type') ?? 'STANDARD';
      if (type !== 'STANDARD') throw stateMachineTypeNotSupported(`State machine type ${type} is not supported locally: the local Step Functions runs STANDARD state machines`);
      const name = checkName(input.name, 'name');
      const definition = requiredString(input, 'definition');
      const roleArn = requiredString(input, 'roleArn');
      const existing = stateMachines.get(name);
      if (existing) {
        // Creating the same state machine again is idempotent; a different one under the same name is refused.
        if (existing.definition === definition && existing.roleArn === roleArn) return { stateMachineArn: existing.stateMachineArn, creationDate: epochSeconds(existing.creationDate) };
        throw stateMachineAlreadyExists(`State Machine Already Exists: '${existing.stateMachineArn}'`);
      }
      const record = registerStateMachine({ name, definition, roleArn });
      return { stateMachineArn: record.stateMachineArn, creationDate: epochSeconds(record.creationDate) };
    },
    UpdateStateMachine(input) {
      const machine = machineByArn(input.stateMachineArn);
      const definition = optionalString(input, 'definition') ?? machine.definition;
      const roleArn = optionalString(input, 'roleArn') ?? machine.roleArn;
      const record = registerStateMachine({ name: machine.name, definition, roleArn });
      return { updateDate: epochSeconds(record.updateDate!) };
    },
    DeleteStateMachine(input) {
      const machine = machineByArn(input.stateMachineArn);
      stateMachines.delete(machine.name);
      definitions.delete(machine.name);
      save();
      return {};
    },
    ListStateMachines(input) {
      const machines = [...stateMachines.values()].sort((a, b) => a.name.localeCompare(b.name));
      const result = page(machines, input);
      return {
        stateMachines: result.items.map((m) => ({ stateMachineArn: m.stateMachineArn, name: m.name, type: m.type, creationDate: epochSeconds(m.creationDate) })),
        ...(result.nextToken ? { nextToken: result.nextToken } : {}),
      };
    },
    DescribeStateMachine(input) {
      const machine = machineByArn(input.stateMachineArn);
      return {
        stateMachineArn: machine.stateMachineArn,
        name: machine.name,
        status: 'ACTIVE',
        definition: machine.definition,
        roleArn: machine.roleArn,
        type: machine.type,
        creationDate: epochSeconds(machine.creationDate),
        loggingConfiguration: { level: 'OFF', includeExecutionData: false },
        tracingConfiguration: { enabled: false },
      };
    },
    DescribeStateMachineForExecution(input) {
      const record = executionByArn(input.executionArn);
      const machine = stateMachines.get(record.stateMachineName);
      if (!machine) throw stateMachineDoesNotExist(`State Machine Does Not Exist: '${record.stateMachineArn}'`);
      return { stateMachineArn: machine.stateMachineArn, name: machine.name, definition: machine.definition, roleArn: machine.roleArn, updateDate: epochSeconds(machine.updateDate ?? machine.creationDate) };
    },
    StartExecution(input) {
      const name = optionalString(input, 'name');
      const executionInput = optionalString(input, 'input');
      const started = startExecution({
        stateMachineArn: requiredString(input, 'stateMachineArn'),
        ...(name !== undefined ? { name } : {}),
        ...(executionInput !== undefined ? { input: executionInput } : {}),
      });
      return { executionArn: started.executionArn, startDate: epochSeconds(started.startDate) };
    },
    DescribeExecution(input) {
      return describeExecution(executionByArn(input.executionArn));
    },
    StopExecution(input) {
      const record = executionByArn(input.executionArn);
      const error = optionalString(input, 'error');
      const cause = optionalString(input, 'cause');
      if (error !== undefined && error.length > 256) throw validationException("1 validation error detected: Value at 'error' failed to satisfy constraint: Member must have length less than or equal to 256");
      if (cause !== undefined && cause.length > 32768) throw validationException("1 validation error detected: Value at 'cause' failed to satisfy constraint: Member must have length less than or equal to 32768");
      running.get(record.executionArn)?.stop(error, cause);
      return { stopDate: epochSeconds(record.stopDate ?? new Date()) };
    },
    ListExecutions(input) {
      const machine = machineByArn(input.stateMachineArn);
      const statusFilter = optionalString(input, 'statusFilter');
      if (statusFilter !== undefined && !STATUSES.includes(statusFilter as ExecutionStatus)) {
        throw validationException(`1 validation error detected: Value '${statusFilter}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [${STATUSES.join(', ')}]`);
      }
      const matching = [...executions.values()]
        .filter((record) => record.stateMachineName === machine.name && (statusFilter === undefined || record.status === statusFilter))
        .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
      const result = page(matching, input);
      return {
        executions: result.items.map(executionSummary),
        ...(result.nextToken ? { nextToken: result.nextToken } : {}),
      };
    },
    GetExecutionHistory(input) {
      const record = executionByArn(input.executionArn);
      const includeData = input.includeExecutionData !== false;
      const ordered = input.reverseOrder === true ? [...record.events].reverse() : record.events;
      const result = page(ordered, input);
      return {
        events: result.items.map((event) => historyEventJson(event, includeData)),
        ...(result.nextToken ? { nextToken: result.nextToken } : {}),
      };
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith(TARGET_PREFIX) ? operations[target.slice(TARGET_PREFIX.length)] : undefined;
      const body = await readBodyWithin(req, MAX_BODY_BYTES);
      if (!body) throw new StepFunctionsApiError('ValidationException', `The request body is larger than ${MAX_BODY_BYTES} bytes`, 413);
      if (!operation) throw new UnknownOperationError(target);
      let input: unknown;
      try {
        input = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
      } catch {
        throw new StepFunctionsApiError('SerializationException', 'The request body is not JSON');
      }
      if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new StepFunctionsApiError('SerializationException', 'The request body must be a JSON object');
      send(res, 200, operation(input as Input));
    } catch (error) {
      const apiError = error instanceof StepFunctionsApiError ? error : new StepFunctionsApiError('InternalFailure', (error as Error).message, 500);
      send(res, apiError.status, { __type: apiError.code, message: apiError.message }, apiError.code);
    }
  }

  return {
    handle,
    registerStateMachine,
    startExecution,
    stateMachineArn: (name) => stateMachineArn(scope, name),
    async waitForExecution(arn) {
      const record = executionByArn(arn);
      const execution = running.get(arn);
      return execution ? execution.done : record;
    },
    async close() {
      const stopping = [...running.values()];
      for (const execution of stopping) execution.stop('States.Runtime', 'The local stack stopped: executions in flight do not survive a restart');
      await Promise.all(stopping.map((execution) => execution.done));
      save();
      clients.destroy();
    },
  };
}

/** A history event as GetExecutionHistory sends it; without execution data, inputs and outputs are left out. */
function historyEventJson(event: HistoryEvent, includeData: boolean): Input {
  const out: Input = {};
  for (const [key, value] of Object.entries(event)) {
    if (key === 'timestamp') out.timestamp = epochSeconds(value as Date);
    else if (!includeData && key.endsWith('EventDetails') && typeof value === 'object' && value !== null) {
      const { input: _input, output: _output, ...rest } = value as Input;
      out[key] = rest;
    } else out[key] = value;
  }
  return out;
}

function send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const text = JSON.stringify(body ?? {});
  res.writeHead(status, {
    'content-type': JSON_10,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(text);
}
