/**
 * The one generic task dispatcher: a Task state's `Resource` (an integration ARN) is mapped to the call it
 * stands for, with the results and the error names Step Functions gives:
 *
 * - `arn:aws:states:::sagemaker:<op>` (optimized): the SageMaker API call; failures raise
 *   `SageMaker.AmazonSageMakerException`. `<op>.sync` for jobs polls the job's Describe call on the time
 *   scale until it ends: `Completed` returns the description, `Failed`/`Stopped` raise `States.TaskFailed`
 *   with the description as the cause; stopping the execution stops the job.
 * - `arn:aws:states:::aws-sdk:<service>:<action>`: any operation of sagemaker, dynamodb, s3, sqs, sts, sfn;
 *   failures raise `<Service>.<ErrorName>` with `Exception` appended when missing.
 * - `arn:aws:states:::dynamodb:putItem|getItem|updateItem|deleteItem` (optimized): `DynamoDB.<ErrorName>`.
 * - `arn:aws:states:::lambda:invoke` and plain Lambda function ARNs: the real handler, in this process.
 *
 * Anything else fails with `States.TaskFailed` naming the resource.
 */
import { randomUUID } from 'node:crypto';
import { errorName, httpStatus, isTransientError } from '../../aws/errors';
import { scaledMs } from '../time-scale';
import { functionFailure, type FunctionResolver } from './lambda-functions';
import { commandClass, errorPrefix, isServiceName, serviceNames, type SdkClients, type ServiceName } from './sdk-calls';
import { sleep } from './sleep';

/** A task's failure as Step Functions names it: `name` is the `Error`, `message` the `Cause`. */
export class TaskFailedError extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

/** What a resource ARN stands for. */
export type TaskResource =
  | { kind: 'sagemaker'; operation: string; sync: boolean }
  | { kind: 'aws-sdk'; service: string; action: string }
  | { kind: 'dynamodb'; operation: string }
  | { kind: 'lambda-invoke'; pattern?: string }
  | { kind: 'lambda-function'; functionName: string }
  | { kind: 'unknown' };

/** The SageMaker operations Step Functions' optimized integration offers; `.sync` only for the job ones. */
export const SAGEMAKER_OPTIMIZED: Record<string, { sync?: { job: string } }> = {
  createEndpoint: {},
  createEndpointConfig: {},
  createModel: {},
  updateEndpoint: {},
  createTransformJob: { sync: { job: 'TransformJob' } },
  createTrainingJob: { sync: { job: 'TrainingJob' } },
  createProcessingJob: { sync: { job: 'ProcessingJob' } },
  createHyperParameterTuningJob: { sync: { job: 'HyperParameterTuningJob' } },
  createLabelingJob: { sync: { job: 'LabelingJob' } },
};

const DYNAMODB_OPTIMIZED = ['putItem', 'getItem', 'updateItem', 'deleteItem'];

/** Reads a resource ARN. */
export function parseResource(resource: string): TaskResource {
  const states = /^arn:aws[\w-]*:states:::(.+)$/.exec(resource);
  if (states) {
    const [service, ...rest] = states[1]!.split(':');
    if (service === 'aws-sdk' && rest.length === 2) return { kind: 'aws-sdk', service: rest[0]!, action: rest[1]! };
    if (service === 'sagemaker' && rest.length === 1) {
      const [operation, pattern] = rest[0]!.split('.');
      if (operation && (pattern === undefined || pattern === 'sync')) return { kind: 'sagemaker', operation, sync: pattern === 'sync' };
    }
    if (service === 'dynamodb' && rest.length === 1) return { kind: 'dynamodb', operation: rest[0]! };
    if (service === 'lambda' && rest.length === 1) {
      const [operation, pattern] = rest[0]!.split('.');
      if (operation === 'invoke') return { kind: 'lambda-invoke', ...(pattern ? { pattern } : {}) };
    }
    return { kind: 'unknown' };
  }
  if (/^arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+(:[\w$-]+)?$/.test(resource)) return { kind: 'lambda-function', functionName: resource };
  return { kind: 'unknown' };
}

/** How history events name a resource: `resourceType` `sagemaker`, `resource` `createTransformJob.sync`. */
export function resourceNames(resource: string): { resourceType: string; resource: string } {
  const states = /^arn:aws[\w-]*:states:::(.+)$/.exec(resource);
  if (!states) return { resourceType: 'lambda', resource };
  const parts = states[1]!.split(':');
  const last = parts.pop()!;
  return { resourceType: parts.join(':'), resource: last };
}

/** What one task invocation gets besides its parameters. */
export interface TaskInvocation {
  /** Aborted when the execution stops or the task times out. */
  signal: AbortSignal;
  /** Told when a `.sync` task has started its job (the `TaskSubmitted` event). */
  onSubmitted?: (output: unknown) => void;
}

export interface TaskDispatcherOptions {
  clients: SdkClients;
  /** The Lambda functions tasks may invoke. */
  functions?: FunctionResolver;
  timeScale: number;
  /** AWS seconds between two Describe calls of a `.sync` job (scaled); default 5. */
  syncPollSeconds?: number;
}

function cleanParameters(parameters: unknown): Record<string, unknown> {
  if (parameters === undefined || parameters === null) return {};
  if (typeof parameters !== 'object' || Array.isArray(parameters)) {
    throw new TaskFailedError('States.Runtime', `The task's parameters must be a JSON object; got ${JSON.stringify(parameters)}`);
  }
  return parameters as Record<string, unknown>;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs Task states' resources. */
export class TaskDispatcher {
  constructor(private readonly options: TaskDispatcherOptions) {}

  /** Runs `resource` with `parameters` (the state's effective input) and returns the task result. */
  async dispatch(resource: string, parameters: unknown, invocation: TaskInvocation): Promise<unknown> {
    const parsed = parseResource(resource);
    switch (parsed.kind) {
      case 'sagemaker':
        return this.sageMaker(parsed.operation, parsed.sync, cleanParameters(parameters), invocation);
      case 'aws-sdk':
        return this.awsSdk(parsed.service, parsed.action, cleanParameters(parameters));
      case 'dynamodb':
        return this.dynamoDb(parsed.operation, cleanParameters(parameters));
      case 'lambda-invoke':
        if (parsed.pattern !== undefined) break;
        return this.lambdaInvoke(cleanParameters(parameters));
      case 'lambda-function':
        return this.invokeFunction(parsed.functionName, parameters ?? {});
      case 'unknown':
        break;
    }
    throw new TaskFailedError(
      'States.TaskFailed',
      `The resource ${resource} is not supported by the local Step Functions: use arn:aws:states:::sagemaker:<operation>[.sync], ` +
        `arn:aws:states:::aws-sdk:<${serviceNames().join('|')}>:<action>, arn:aws:states:::dynamodb:<${DYNAMODB_OPTIMIZED.join('|')}>, ` +
        'arn:aws:states:::lambda:invoke or a Lambda function ARN',
    );
  }

  private async sageMaker(operation: string, sync: boolean, parameters: Record<string, unknown>, invocation: TaskInvocation): Promise<unknown> {
    const entry = SAGEMAKER_OPTIMIZED[operation];
    if (!entry || (sync && !entry.sync)) {
      const offered = Object.entries(SAGEMAKER_OPTIMIZED).map(([name, value]) => (value.sync ? `${name}[.sync]` : name));
      throw new TaskFailedError(
        'States.TaskFailed',
        `arn:aws:states:::sagemaker:${operation}${sync ? '.sync' : ''} is not a SageMaker optimized integration (offered: ${offered.join(', ')}); ` +
          `other SageMaker calls go through arn:aws:states:::aws-sdk:sagemaker:${operation}`,
      );
    }
    const request = sync ? withStepFunctionsTag(parameters) : parameters;
    const created = await this.optimizedSageMakerCall(operation, request);
    if (!sync) return created;
    invocation.onSubmitted?.(created);
    const job = entry.sync!.job;
    return this.waitForJob(job, String(parameters[`${job}Name`]), invocation.signal);
  }

  private async optimizedSageMakerCall(operation: string, parameters: unknown): Promise<unknown> {
    try {
      return await this.options.clients.call('sagemaker', operation, parameters);
    } catch (error) {
      throw optimizedError('SageMaker', 'AmazonSageMaker', error, true);
    }
  }

  /** Polls the job until it ends; stopping the execution stops the job, as Step Functions does. */
  private async waitForJob(job: string, name: string, signal: AbortSignal): Promise<unknown> {
    const pollMs = Math.max(10, scaledMs(this.options.syncPollSeconds ?? 5, this.options.timeScale));
    const stop = () => {
      void this.options.clients.call('sagemaker', `stop${job}`, { [`${job}Name`]: name }).catch(() => undefined);
    };
    signal.addEventListener('abort', stop, { once: true });
    try {
      for (;;) {
        let description: Record<string, unknown>;
        try {
          description = (await this.options.clients.call('sagemaker', `describe${job}`, { [`${job}Name`]: name })) as Record<string, unknown>;
        } catch (error) {
          // A throttled or failed poll is not the job's failure: Step Functions keeps watching.
          if (!isTransientError(error)) throw optimizedError('SageMaker', 'AmazonSageMaker', error, true);
          description = {};
        }
        const status = description[`${job}Status`];
        if (status === 'Completed') return description;
        if (status === 'Failed' || status === 'Stopped') throw new TaskFailedError('States.TaskFailed', JSON.stringify(description));
        await sleep(pollMs, signal);
      }
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  private async awsSdk(service: string, action: string, parameters: Record<string, unknown>): Promise<unknown> {
    if (!isServiceName(service)) {
      throw new TaskFailedError(
        'States.TaskFailed',
        `arn:aws:states:::aws-sdk:${service}:${action}: the local Step Functions calls ${serviceNames().join(', ')} only`,
      );
    }
    if (!commandClass(service, action)) {
      throw new TaskFailedError('States.TaskFailed', `arn:aws:states:::aws-sdk:${service}:${action}: ${service} has no operation ${action}`);
    }
    try {
      return await this.options.clients.call(service, action, parameters);
    } catch (error) {
      throw sdkIntegrationError(service, error);
    }
  }

  private async dynamoDb(operation: string, parameters: Record<string, unknown>): Promise<unknown> {
    if (!DYNAMODB_OPTIMIZED.includes(operation)) {
      throw new TaskFailedError(
        'States.TaskFailed',
        `arn:aws:states:::dynamodb:${operation} is not a DynamoDB optimized integration (offered: ${DYNAMODB_OPTIMIZED.join(', ')}); ` +
          `use arn:aws:states:::aws-sdk:dynamodb:${operation}`,
      );
    }
    try {
      const output = (await this.options.clients.call('dynamodb', operation, parameters)) as Record<string, unknown>;
      return { ...output, ...sdkHttpMetadata() };
    } catch (error) {
      throw optimizedError('DynamoDB', 'AmazonDynamoDBv2', error, false);
    }
  }

  private async lambdaInvoke(parameters: Record<string, unknown>): Promise<unknown> {
    const functionName = parameters.FunctionName;
    if (typeof functionName !== 'string' || functionName === '') {
      throw new TaskFailedError('States.Runtime', 'arn:aws:states:::lambda:invoke needs Parameters.FunctionName (a function name or ARN)');
    }
    const invocationType = parameters.InvocationType ?? 'RequestResponse';
    if (!['RequestResponse', 'Event', 'DryRun'].includes(String(invocationType))) {
      throw new TaskFailedError('Lambda.InvalidParameterValueException', `InvocationType must be RequestResponse, Event or DryRun; got ${JSON.stringify(invocationType)}`);
    }
    const payload = parsePayload(parameters.Payload);
    const fn = this.findFunction(functionName);
    const metadata = sdkHttpMetadata();
    if (invocationType === 'DryRun') return { StatusCode: 204, Payload: '', ...metadata };
    if (invocationType === 'Event') {
      // Fire and forget, as Lambda does: the outcome is the function's business, not the execution's.
      void fn.invoke(payload).catch(() => undefined);
      return { StatusCode: 202, Payload: '', ...metadata };
    }
    const result = await this.runFunction(fn, payload);
    return { ExecutedVersion: '$LATEST', Payload: result ?? null, ...metadata, StatusCode: 200 };
  }

  private async invokeFunction(functionArn: string, input: unknown): Promise<unknown> {
    const result = await this.runFunction(this.findFunction(functionArn), input);
    return result ?? null;
  }

  private findFunction(functionName: string) {
    const fn = this.options.functions?.(functionName);
    if (!fn) {
      throw new TaskFailedError(
        'Lambda.ResourceNotFoundException',
        `Function not found: ${functionName} (the local stack runs the functions serverless.yml declares) (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: ${randomUUID()}; Proxy: null)`,
      );
    }
    return fn;
  }

  private async runFunction(fn: { invoke(event: unknown): Promise<unknown> }, payload: unknown): Promise<unknown> {
    try {
      // The handler gets its own copy, as it would get a deserialized payload on Lambda.
      const result = await fn.invoke(structuredClone(payload));
      return result === undefined ? null : JSON.parse(JSON.stringify(result));
    } catch (error) {
      const failure = functionFailure(error);
      throw new TaskFailedError(failure.error, JSON.stringify(failure.cause));
    }
  }
}

function parsePayload(payload: unknown): unknown {
  if (payload === undefined) return {};
  if (typeof payload !== 'string') return payload;
  try {
    return JSON.parse(payload);
  } catch {
    throw new TaskFailedError('Lambda.InvalidRequestContentException', `Could not parse request body into json: Payload is a string that is not JSON: ${payload.slice(0, 100)}`);
  }
}

/** The HTTP metadata optimized integrations add to their results. */
function sdkHttpMetadata() {
  const requestId = randomUUID();
  const headers = { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-RequestId': requestId };
  return {
    SdkHttpMetadata: { AllHttpHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])), HttpHeaders: headers, HttpStatusCode: 200 },
    SdkResponseMetadata: { RequestId: requestId },
  };
}

/** Step Functions tags the jobs it runs with `.sync`, so they can be told apart (and needs `AddTags` for it). */
function withStepFunctionsTag(parameters: Record<string, unknown>): Record<string, unknown> {
  const tags = Array.isArray(parameters.Tags) ? (parameters.Tags as unknown[]) : [];
  return { ...parameters, Tags: [...tags, { Key: 'MANAGED_BY_AWS', Value: 'STARTED_BY_STEP_FUNCTIONS' }] };
}

function requestIdOf(error: unknown): string {
  return (error as { $metadata?: { requestId?: string } })?.$metadata?.requestId ?? randomUUID();
}

/**
 * The error of an optimized integration. SageMaker's are all `SageMaker.AmazonSageMakerException` (the
 * service's own code is in the cause); DynamoDB's keep the service's code (`DynamoDB.ConditionalCheckFailedException`).
 */
function optimizedError(prefix: string, javaService: string, error: unknown, single: boolean): TaskFailedError {
  const name = errorName(error);
  const status = httpStatus(error);
  if (status === undefined) return new TaskFailedError('States.TaskFailed', `${prefix} could not be reached: ${messageOf(error)}`);
  const cause = `${messageOf(error)} (Service: ${javaService}; Status Code: ${status}; Error Code: ${name}; Request ID: ${requestIdOf(error)}; Proxy: null)`;
  return new TaskFailedError(single ? `${prefix}.Amazon${prefix}Exception` : `${prefix}.${name}`, cause);
}

/** The error of an AWS SDK integration: `<Service>.<Name>` with `Exception` appended when missing. */
export function sdkIntegrationError(service: ServiceName, error: unknown): TaskFailedError {
  const prefix = errorPrefix(service);
  const status = httpStatus(error);
  if (status === undefined) return new TaskFailedError(`${prefix}.SdkClientException`, `Unable to execute HTTP request: ${messageOf(error)}`);
  const name = errorName(error) ?? 'Unknown';
  const exception = name.endsWith('Exception') ? name : `${name}Exception`;
  return new TaskFailedError(`${prefix}.${exception}`, `${messageOf(error)} (Service: ${prefix}, Status Code: ${status}, Request ID: ${requestIdOf(error)})`);
}
