/**
 * Reads `serverless.yml` into what the local stack creates and wires: buckets with their queue
 * notifications, queues with their redrive policies, tables, and functions with their SQS event sources
 * and resolved environments. `serverless.yml` is the single source of truth: nothing here restates it.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { load } from 'js-yaml';
import { ServerlessConfigError } from './errors';
import { asMapping, integerIn, isMapping, mergeSections } from './config-values';
import { functionLogicalId, hashSuffix, resolveValue, stackEvaluator, stackTemplate } from './stack-template';
import { resolveVariables } from './variables';

export interface QueueNotificationSpec {
  /** The `configurationId` events carry. */
  id: string;
  /** Event patterns such as `s3:ObjectCreated:*`. */
  events: string[];
  queueArn: string;
  queueName: string;
  prefix?: string;
  suffix?: string;
}

export interface BucketSpec {
  logicalId: string;
  name: string;
  notifications: QueueNotificationSpec[];
}

export interface RedrivePolicySpec {
  deadLetterTargetArn: string;
  maxReceiveCount: number;
}

export interface QueueSpec {
  logicalId: string;
  name: string;
  arn: string;
  /** SQS attribute names and string values, as CreateQueue takes them. */
  attributes: Record<string, string>;
}

export interface TableSpec {
  logicalId: string;
  name: string;
  /** The CreateTable input (keys, attribute definitions, billing, indexes). */
  createTable: Record<string, unknown>;
}

export interface SqsEventSpec {
  queueArn: string;
  queueName: string;
  batchSize: number;
  /** Seconds, as on AWS; the local stack scales it with the time scale. */
  maximumBatchingWindow: number;
  reportBatchItemFailures: boolean;
  maximumConcurrency?: number;
  enabled: boolean;
}

export interface FunctionSpec {
  key: string;
  name: string;
  /** `path/to/file.exportName`, relative to the service directory. */
  handler: string;
  environment: Record<string, string>;
  timeoutSeconds: number;
  memorySize: number;
  sqsEvents: SqsEventSpec[];
}

export interface StackConfig {
  service: string;
  stage: string;
  region: string;
  accountId: string;
  stackName: string;
  buckets: BucketSpec[];
  queues: QueueSpec[];
  tables: TableSpec[];
  functions: FunctionSpec[];
  /** Things in the file the local stack does not emulate, each said once at start. */
  warnings: string[];
}

export interface ReadStackConfigOptions {
  /** `--stage`, `--region` and other `opt:` values. */
  options?: Record<string, string | undefined>;
  env?: NodeJS.ProcessEnv;
  accountId?: string;
  /** Base of the queue URLs `Ref` answers for queues, e.g. `http://127.0.0.1:4566`. */
  queueUrlBase?: string;
  /** Folder `${file(...)}` paths are relative to; `readStackConfig` sets it to the file's folder. */
  baseDir?: string;
}

type Json = Record<string, unknown>;

/** A `serverless.yml` with its variables resolved, and the stack config built from it. */
export interface ServerlessFile {
  /** The whole document, variables resolved (intrinsics are not). */
  document: Json;
  config: StackConfig;
}

/** Parses and resolves a `serverless.yml` text. */
export function parseServerlessFile(text: string, readOptions: ReadStackConfigOptions = {}): ServerlessFile {
  const raw = load(text);
  if (!isMapping(raw)) throw new ServerlessConfigError('serverless.yml must be a YAML mapping');
  const accountId = readOptions.accountId ?? '000000000000';
  const document = resolveVariables(raw, {
    options: readOptions.options ?? {},
    env: readOptions.env ?? process.env,
    accountId,
    baseDir: readOptions.baseDir,
  });
  return { document, config: stackConfigOf(document, accountId, readOptions) };
}

/** Parses and resolves a `serverless.yml` text into what the local stack creates. */
export function parseStackConfig(text: string, readOptions: ReadStackConfigOptions = {}): StackConfig {
  return parseServerlessFile(text, readOptions).config;
}

/**
 * Reads and resolves the `serverless.yml` at `path`; `${file(...)}` paths are relative to its folder.
 *
 * @throws {ServerlessConfigError} naming the file when it cannot be read, or the path and rule of what it holds.
 */
export function readServerlessFile(path: string, options: ReadStackConfigOptions = {}): ServerlessFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ServerlessConfigError(`cannot read serverless.yml at ${path}: ${(error as Error).message}`);
  }
  return parseServerlessFile(text, { ...options, baseDir: options.baseDir ?? dirname(resolve(path)) });
}

/** Reads and resolves the `serverless.yml` at `path` into what the local stack creates. */
export function readStackConfig(path: string, options: ReadStackConfigOptions = {}): StackConfig {
  return readServerlessFile(path, options).config;
}

function stackConfigOf(document: Json, accountId: string, readOptions: ReadStackConfigOptions): StackConfig {
  const serviceValue = document.service;
  const service = typeof serviceValue === 'object' && serviceValue !== null ? (serviceValue as Json).name : serviceValue;
  if (typeof service !== 'string' || service === '') throw new ServerlessConfigError('serverless.yml: service must be a non-empty name');
  const provider = asMapping(document.provider, 'provider');
  const stage = String(readOptions.options?.stage ?? provider.stage ?? 'dev');
  const region = String(readOptions.options?.region ?? provider.region ?? 'us-east-1');
  const stackName = typeof provider.stackName === 'string' ? provider.stackName : `${service}-${stage}`;
  const warnings: string[] = [];

  const functionsSection = mergeSections(document.functions, 'functions');
  const functionNames = new Map<string, string>();
  for (const [key, fnValue] of Object.entries(functionsSection)) {
    const fn = asMapping(fnValue, `functions.${key}`);
    functionNames.set(key, typeof fn.name === 'string' ? fn.name : `${service}-${stage}-${key}`);
  }
  const template = stackTemplate(document, { functions: [...functionNames].map(([key, name]) => ({ logicalId: functionLogicalId(key), name })) });
  const evaluator = stackEvaluator(template, { region, accountId, stackName, edgeUrl: readOptions.queueUrlBase });

  const queues: QueueSpec[] = [];
  const buckets: BucketSpec[] = [];
  const tables: TableSpec[] = [];
  const queueNameByArn = new Map<string, string>();
  const pendingBuckets: Array<[string, Json]> = [];

  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const where = `resources.Resources.${logicalId}`;
    if (!['AWS::SQS::Queue', 'AWS::S3::Bucket', 'AWS::DynamoDB::Table'].includes(resource.Type)) continue;
    if (!evaluator.resourceExists(logicalId)) continue;
    // Only the resources the stack creates are resolved: the others (roles, alarms) may refer to things
    // the framework generates at deploy time.
    const properties = asMapping(resolveValue(evaluator, resource.Properties ?? {}, `${where}.Properties`), `${where}.Properties`);
    const name = evaluator.physicalName(logicalId, where);
    switch (resource.Type) {
      case 'AWS::SQS::Queue': {
        const queue = queueSpec(logicalId, name, properties, region, accountId, where);
        queues.push(queue);
        queueNameByArn.set(queue.arn, name);
        break;
      }
      case 'AWS::S3::Bucket':
        if ((properties.VersioningConfiguration as Json | undefined)?.Status === 'Enabled') {
          warnings.push(`${where}: versioning is not emulated locally; objects keep one version and events carry no versionId`);
        }
        pendingBuckets.push([logicalId, properties]);
        break;
      case 'AWS::DynamoDB::Table':
        tables.push({ logicalId, name, createTable: tableInput(name, properties, where) });
        break;
      default:
        break;
    }
  }

  for (const [logicalId, properties] of pendingBuckets) {
    const where = `resources.Resources.${logicalId}.Properties.NotificationConfiguration`;
    const notification = asMapping(properties.NotificationConfiguration, where);
    for (const unsupported of ['LambdaConfigurations', 'TopicConfigurations', 'EventBridgeConfiguration']) {
      if (notification[unsupported] !== undefined) warnings.push(`${where}.${unsupported} is not delivered locally (only QueueConfigurations are)`);
    }
    const queueConfigurations = notification.QueueConfigurations ?? [];
    if (!Array.isArray(queueConfigurations)) throw new ServerlessConfigError(`serverless.yml: ${where}.QueueConfigurations must be a list`);
    const bucketName = evaluator.physicalName(logicalId, where);
    const notifications = queueConfigurations.map((item, index) =>
      notificationSpec(asMapping(item, `${where}.QueueConfigurations[${index}]`), `${where}.QueueConfigurations[${index}]`, bucketName, index, queueNameByArn),
    );
    buckets.push({ logicalId, name: bucketName, notifications });
  }

  const providerEnvironment = asMapping(resolveValue(evaluator, provider.environment ?? {}, 'provider.environment'), 'provider.environment');
  const functions: FunctionSpec[] = [];
  for (const [key, fnValue] of Object.entries(functionsSection)) {
    const fn = asMapping(fnValue, `functions.${key}`);
    const where = `functions.${key}`;
    if (typeof fn.handler !== 'string' || !/^[^.]+(\.[^.]+)*\.[A-Za-z_$][\w$]*$/.test(fn.handler)) {
      throw new ServerlessConfigError(`serverless.yml: ${where}.handler must be "path/to/file.exportName"; got ${JSON.stringify(fn.handler)}`);
    }
    const environment: Record<string, string> = {};
    const fnEnvironment = asMapping(resolveValue(evaluator, fn.environment ?? {}, `${where}.environment`), `${where}.environment`);
    for (const [name, value] of Object.entries({ ...providerEnvironment, ...fnEnvironment })) {
      if (value === undefined || value === null) continue;
      if (typeof value === 'object') throw new ServerlessConfigError(`serverless.yml: ${where}.environment.${name} must resolve to a string`);
      environment[name] = String(value);
    }
    const events = Array.isArray(fn.events) ? fn.events : [];
    const sqsEvents: SqsEventSpec[] = [];
    events.forEach((eventValue, index) => {
      const event = asMapping(eventValue, `${where}.events[${index}]`);
      if (event.sqs === undefined) {
        const kind = Object.keys(event)[0] ?? 'unknown';
        if (kind !== 'schedule') warnings.push(`${where}.events[${index}] (${kind}) is not delivered locally`);
        return;
      }
      sqsEvents.push(sqsEventSpec(resolveValue(evaluator, event.sqs, `${where}.events[${index}].sqs`), `${where}.events[${index}].sqs`, queueNameByArn));
    });
    functions.push({
      key,
      name: functionNames.get(key)!,
      handler: fn.handler,
      environment,
      timeoutSeconds: integerIn(fn.timeout ?? provider.timeout, `${where}.timeout`, 1, 900, 6),
      memorySize: integerIn(fn.memorySize ?? provider.memorySize, `${where}.memorySize`, 128, 10240, 1024),
      sqsEvents,
    });
  }

  return { service, stage, region, accountId, stackName, buckets, queues, tables, functions, warnings };
}

function queueSpec(logicalId: string, name: string, properties: Json, region: string, accountId: string, where: string): QueueSpec {
  if (properties.FifoQueue === true || properties.FifoQueue === 'true') {
    throw new ServerlessConfigError(`serverless.yml: ${where}.Properties.FifoQueue: the local queue is a standard queue; FIFO queues are not emulated`);
  }
  const attributes: Record<string, string> = {};
  for (const attribute of ['VisibilityTimeout', 'MessageRetentionPeriod', 'DelaySeconds', 'MaximumMessageSize', 'ReceiveMessageWaitTimeSeconds']) {
    if (properties[attribute] !== undefined) attributes[attribute] = String(properties[attribute]);
  }
  for (const attribute of ['RedrivePolicy', 'RedriveAllowPolicy']) {
    const value = properties[attribute];
    if (value !== undefined) attributes[attribute] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return { logicalId, name, arn: `arn:aws:sqs:${region}:${accountId}:${name}`, attributes };
}

function tableInput(name: string, properties: Json, where: string): Record<string, unknown> {
  if (!Array.isArray(properties.KeySchema) || !Array.isArray(properties.AttributeDefinitions)) {
    throw new ServerlessConfigError(`serverless.yml: ${where}.Properties needs KeySchema and AttributeDefinitions`);
  }
  const input: Record<string, unknown> = {
    TableName: name,
    KeySchema: properties.KeySchema,
    AttributeDefinitions: properties.AttributeDefinitions,
  };
  const payPerRequest = properties.BillingMode === 'PAY_PER_REQUEST';
  // dynalite needs throughput figures even where AWS bills per request; they have no effect locally.
  const throughput = { ReadCapacityUnits: 5, WriteCapacityUnits: 5 };
  input.ProvisionedThroughput = payPerRequest ? throughput : (properties.ProvisionedThroughput ?? throughput);
  for (const indexKind of ['GlobalSecondaryIndexes', 'LocalSecondaryIndexes']) {
    const indexes = properties[indexKind];
    if (!Array.isArray(indexes)) continue;
    input[indexKind] = indexes.map((index: Json) => {
      const copy: Json = { IndexName: index.IndexName, KeySchema: index.KeySchema, Projection: index.Projection };
      if (indexKind === 'GlobalSecondaryIndexes') copy.ProvisionedThroughput = payPerRequest ? throughput : (index.ProvisionedThroughput ?? throughput);
      return copy;
    });
  }
  return input;
}

function notificationSpec(
  item: Json,
  where: string,
  bucketName: string,
  index: number,
  queueNameByArn: Map<string, string>,
): QueueNotificationSpec {
  const event = item.Event;
  if (typeof event !== 'string' || !/^s3:[A-Za-z]+(:[A-Za-z*]+)*$/.test(event)) {
    throw new ServerlessConfigError(`serverless.yml: ${where}.Event must be an S3 event type such as s3:ObjectCreated:*; got ${JSON.stringify(event)}`);
  }
  const queueArn = item.Queue;
  const queueName = typeof queueArn === 'string' ? queueNameByArn.get(queueArn) : undefined;
  if (!queueName) throw new ServerlessConfigError(`serverless.yml: ${where}.Queue must be the ARN of a queue of this template; got ${JSON.stringify(queueArn)}`);
  const spec: QueueNotificationSpec = {
    // CloudFormation generates an opaque id when none is given; a stable one keeps events comparable across restarts.
    id: typeof item.Id === 'string' ? item.Id : Buffer.from(`${bucketName}-queue-${index}-${hashSuffix(bucketName, String(index))}`).toString('base64'),
    events: [event],
    queueArn: queueArn as string,
    queueName,
  };
  const rules = (asMapping(asMapping(item.Filter, `${where}.Filter`).S3Key, `${where}.Filter.S3Key`).Rules ?? []) as unknown;
  if (!Array.isArray(rules)) throw new ServerlessConfigError(`serverless.yml: ${where}.Filter.S3Key.Rules must be a list`);
  for (const [ruleIndex, ruleValue] of rules.entries()) {
    const rule = asMapping(ruleValue, `${where}.Filter.S3Key.Rules[${ruleIndex}]`);
    const ruleName = String(rule.Name ?? '').toLowerCase();
    if ((ruleName !== 'prefix' && ruleName !== 'suffix') || typeof rule.Value !== 'string') {
      throw new ServerlessConfigError(`serverless.yml: ${where}.Filter.S3Key.Rules[${ruleIndex}] must be {Name: prefix|suffix, Value: string}`);
    }
    if (spec[ruleName] !== undefined) throw new ServerlessConfigError(`serverless.yml: ${where}.Filter.S3Key.Rules has more than one ${ruleName} rule`);
    spec[ruleName] = rule.Value;
  }
  return spec;
}

function sqsEventSpec(value: unknown, where: string, queueNameByArn: Map<string, string>): SqsEventSpec {
  const settings: Json = typeof value === 'string' ? { arn: value } : asMapping(value, where);
  const queueArn = settings.arn;
  const queueName = typeof queueArn === 'string' ? queueNameByArn.get(queueArn) : undefined;
  if (!queueName) throw new ServerlessConfigError(`serverless.yml: ${where}.arn must be the ARN of a queue of this template; got ${JSON.stringify(queueArn)}`);
  const batchSize = integerIn(settings.batchSize, `${where}.batchSize`, 1, 10000, 10);
  const maximumBatchingWindow = integerIn(settings.maximumBatchingWindow, `${where}.maximumBatchingWindow`, 0, 300, 0);
  if (batchSize > 10 && maximumBatchingWindow < 1) {
    throw new ServerlessConfigError(`serverless.yml: ${where}: a batchSize above 10 needs maximumBatchingWindow of at least 1 second (an AWS rule for standard queues)`);
  }
  const responseType = settings.functionResponseType;
  if (responseType !== undefined && responseType !== 'ReportBatchItemFailures') {
    throw new ServerlessConfigError(`serverless.yml: ${where}.functionResponseType must be ReportBatchItemFailures; got ${JSON.stringify(responseType)}`);
  }
  const spec: SqsEventSpec = {
    queueArn: queueArn as string,
    queueName,
    batchSize,
    maximumBatchingWindow,
    reportBatchItemFailures: responseType === 'ReportBatchItemFailures',
    enabled: settings.enabled === undefined ? true : settings.enabled === true || settings.enabled === 'true',
  };
  if (settings.maximumConcurrency !== undefined) spec.maximumConcurrency = integerIn(settings.maximumConcurrency, `${where}.maximumConcurrency`, 2, 1000, 2);
  return spec;
}
