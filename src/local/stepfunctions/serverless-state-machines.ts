/**
 * Reads the state machines and their schedules from `serverless.yml`: the `stepFunctions.stateMachines`
 * section of `serverless-step-functions` (names, roles, definitions, `events: - schedule:`) and hand-written
 * `AWS::Scheduler::Schedule` / `AWS::Events::Rule` resources whose target is one of those state machines.
 *
 * Definitions usually come from `${file(statemachines/x.asl.json)}`: the shared reader (src/local/serverless)
 * loads them with the other variables, then the CloudFormation intrinsics are resolved as the rest of the
 * local stack does.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { load } from 'js-yaml';
import { evaluateCondition, resolveIntrinsics, type IntrinsicContext, type ResourceAttributes } from '../serverless/intrinsics';
import { ServerlessConfigError } from '../serverless/errors';
import { functionLogicalId, parseStackConfig, type ReadStackConfigOptions, type StackConfig } from '../serverless/stack-config';
import { resolveVariables } from '../serverless/variables';
import { DEFAULT_RETRY_POLICY, type ScheduleSpec } from '../scheduler/schedule-spec';

/** One state machine of `serverless.yml`, ready for CreateStateMachine. */
export interface StateMachineSpec {
  /** The key under `stepFunctions.stateMachines`. */
  key: string;
  logicalId: string;
  name: string;
  /** The definition as JSON text. */
  definition: string;
  roleArn: string;
  arn: string;
}

export interface ServerlessStepFunctions {
  stateMachines: StateMachineSpec[];
  schedules: ScheduleSpec[];
  /** The rest of the stack, read from the same file (functions for Lambda tasks, queues for dead letters). */
  stackConfig: StackConfig;
  /** Things the local stack does not emulate, each said once. */
  warnings: string[];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The logical id the plugin gives a state machine (its `id`, else its `name`, else the key, normalized). */
export function stateMachineLogicalId(key: string, machine: Json): string {
  const custom = typeof machine.id === 'string' ? machine.id : typeof machine.name === 'string' ? machine.name : undefined;
  const normalized = (text: string) => functionLogicalId(text).replace(/LambdaFunction$/, '');
  return custom ? normalized(custom) : `${normalized(key)}StepFunctionsStateMachine`;
}

function hashSuffix(...parts: string[]): string {
  return createHash('sha256').update(parts.join('/')).digest('hex').slice(0, 12).toUpperCase();
}

/** `Ref`/`Fn::GetAtt` answers for the resources the schedules and state machines refer to. */
function resourceTable(document: Json, config: StackConfig, machines: Map<string, { name: string; arn: string }>): Map<string, ResourceAttributes> {
  const { region, accountId, stackName } = config;
  const table = new Map<string, ResourceAttributes>();
  const resources = isObject(isObject(document.resources) ? document.resources.Resources : undefined) ? ((document.resources as Json).Resources as Json) : {};
  for (const [logicalId, value] of Object.entries(resources)) {
    const resource = isObject(value) ? value : {};
    const properties = isObject(resource.Properties) ? resource.Properties : {};
    const fallback = `${stackName}-${logicalId}-${hashSuffix(stackName, logicalId)}`;
    switch (resource.Type) {
      case 'AWS::SQS::Queue': {
        const queue = config.queues.find((q) => q.logicalId === logicalId);
        const name = queue?.name ?? fallback;
        table.set(logicalId, { ref: `http://127.0.0.1/${accountId}/${name}`, attributes: { Arn: queue?.arn ?? `arn:aws:sqs:${region}:${accountId}:${name}`, QueueName: name } });
        break;
      }
      case 'AWS::S3::Bucket': {
        const name = config.buckets.find((b) => b.logicalId === logicalId)?.name ?? fallback.toLowerCase();
        table.set(logicalId, { ref: name, attributes: { Arn: `arn:aws:s3:::${name}` } });
        break;
      }
      case 'AWS::DynamoDB::Table': {
        const name = config.tables.find((t) => t.logicalId === logicalId)?.name ?? fallback;
        table.set(logicalId, { ref: name, attributes: { Arn: `arn:aws:dynamodb:${region}:${accountId}:table/${name}` } });
        break;
      }
      case 'AWS::IAM::Role': {
        const name = typeof properties.RoleName === 'string' ? properties.RoleName : fallback.slice(0, 64);
        table.set(logicalId, { ref: name, attributes: { Arn: `arn:aws:iam::${accountId}:role/${name}`, RoleId: hashSuffix(name) } });
        break;
      }
      default:
        table.set(logicalId, { ref: fallback, attributes: { Arn: `arn:aws:local:${region}:${accountId}:${fallback}` } });
    }
  }
  for (const fn of config.functions) {
    table.set(functionLogicalId(fn.key), { ref: fn.name, attributes: { Arn: `arn:aws:lambda:${region}:${accountId}:function:${fn.name}` } });
  }
  for (const [logicalId, machine] of machines) table.set(logicalId, { ref: machine.arn, attributes: { Arn: machine.arn, Name: machine.name } });
  return table;
}

function integer(value: unknown, fallback: number, where: string, min: number, max: number): number {
  if (value === undefined || value === null) return fallback;
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
    throw new ServerlessConfigError(`serverless.yml: ${where} must be a whole number from ${min} to ${max}; got ${JSON.stringify(value)}`);
  }
  return number;
}

function dateOf(value: unknown, where: string): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) throw new ServerlessConfigError(`serverless.yml: ${where} must be an ISO 8601 date-time; got ${JSON.stringify(value)}`);
  return new Date(time);
}

/** Schedules of the plugin's `events: - schedule:` entries of one state machine. */
function pluginSchedules(key: string, machine: Json, arn: string, warnings: string[]): ScheduleSpec[] {
  const events = Array.isArray(machine.events) ? machine.events : [];
  const schedules: ScheduleSpec[] = [];
  events.forEach((event: unknown, index) => {
    const where = `stepFunctions.stateMachines.${key}.events[${index}].schedule`;
    if (!isObject(event) || event.schedule === undefined) return;
    const schedule = event.schedule;
    const name = `${key}-schedule-${index + 1}`;
    if (typeof schedule === 'string') {
      schedules.push({ name, expression: schedule, enabled: true, kind: 'events', target: { stateMachineArn: arn }, retryPolicy: DEFAULT_RETRY_POLICY });
      return;
    }
    if (!isObject(schedule) || typeof schedule.rate !== 'string') throw new ServerlessConfigError(`serverless.yml: ${where} must be an expression or an object with rate`);
    if (schedule.inputPath !== undefined || schedule.inputTransformer !== undefined) {
      warnings.push(`${where}: inputPath and inputTransformer are not applied locally; the scheduled event is sent as it is`);
    }
    const method = schedule.method === 'scheduler' ? 'scheduler' : 'events';
    const retry = isObject(schedule.retryPolicy) ? schedule.retryPolicy : {};
    const input = schedule.input === undefined ? undefined : typeof schedule.input === 'string' ? schedule.input : JSON.stringify(schedule.input);
    schedules.push({
      name: typeof schedule.name === 'string' ? schedule.name : name,
      expression: schedule.rate,
      ...(typeof schedule.timezone === 'string' ? { timezone: schedule.timezone } : {}),
      enabled: schedule.enabled !== false,
      kind: method,
      target: { stateMachineArn: arn, ...(input !== undefined ? { input } : {}) },
      retryPolicy: {
        maximumRetryAttempts: integer(retry.maximumRetryAttempts, DEFAULT_RETRY_POLICY.maximumRetryAttempts, `${where}.retryPolicy.maximumRetryAttempts`, 0, 185),
        maximumEventAgeInSeconds: integer(retry.maximumEventAgeInSeconds, DEFAULT_RETRY_POLICY.maximumEventAgeInSeconds, `${where}.retryPolicy.maximumEventAgeInSeconds`, 60, 86_400),
      },
    });
  });
  return schedules;
}

/** Schedules written as resources, targeting a state machine of this file. */
function resourceSchedules(document: Json, context: IntrinsicContext, machineArns: Set<string>, conditions: Json): ScheduleSpec[] {
  const resources = isObject(document.resources) && isObject(document.resources.Resources) ? (document.resources.Resources as Json) : {};
  const schedules: ScheduleSpec[] = [];
  for (const [logicalId, value] of Object.entries(resources)) {
    if (!isObject(value) || (value.Type !== 'AWS::Scheduler::Schedule' && value.Type !== 'AWS::Events::Rule')) continue;
    const where = `resources.Resources.${logicalId}`;
    if (typeof value.Condition === 'string' && !evaluateCondition(value.Condition, { ...context, conditions }, `${where}.Condition`)) continue;
    const properties = resolveIntrinsics(value.Properties ?? {}, context, `${where}.Properties`) as Json;
    if (value.Type === 'AWS::Scheduler::Schedule') {
      const target = isObject(properties.Target) ? properties.Target : {};
      if (typeof target.Arn !== 'string' || !machineArns.has(target.Arn)) continue;
      const retry = isObject(target.RetryPolicy) ? target.RetryPolicy : {};
      const deadLetter = isObject(target.DeadLetterConfig) ? target.DeadLetterConfig.Arn : undefined;
      const startDate = dateOf(properties.StartDate, `${where}.Properties.StartDate`);
      const endDate = dateOf(properties.EndDate, `${where}.Properties.EndDate`);
      schedules.push({
        name: typeof properties.Name === 'string' ? properties.Name : logicalId,
        ...(typeof properties.GroupName === 'string' ? { group: properties.GroupName } : {}),
        expression: String(properties.ScheduleExpression ?? ''),
        ...(typeof properties.ScheduleExpressionTimezone === 'string' ? { timezone: properties.ScheduleExpressionTimezone } : {}),
        enabled: properties.State !== 'DISABLED',
        kind: 'scheduler',
        target: { stateMachineArn: target.Arn, ...(typeof target.Input === 'string' ? { input: target.Input } : {}) },
        retryPolicy: {
          maximumRetryAttempts: integer(retry.MaximumRetryAttempts, DEFAULT_RETRY_POLICY.maximumRetryAttempts, `${where}.Properties.Target.RetryPolicy.MaximumRetryAttempts`, 0, 185),
          maximumEventAgeInSeconds: integer(retry.MaximumEventAgeInSeconds, DEFAULT_RETRY_POLICY.maximumEventAgeInSeconds, `${where}.Properties.Target.RetryPolicy.MaximumEventAgeInSeconds`, 60, 86_400),
        },
        ...(typeof deadLetter === 'string' ? { deadLetterArn: deadLetter } : {}),
        ...(startDate ? { startDate } : {}),
        ...(endDate ? { endDate } : {}),
      });
      continue;
    }
    if (typeof properties.ScheduleExpression !== 'string' || !Array.isArray(properties.Targets)) continue;
    for (const [index, target] of (properties.Targets as unknown[]).entries()) {
      if (!isObject(target) || typeof target.Arn !== 'string' || !machineArns.has(target.Arn)) continue;
      const retry = isObject(target.RetryPolicy) ? target.RetryPolicy : {};
      const deadLetter = isObject(target.DeadLetterConfig) ? target.DeadLetterConfig.Arn : undefined;
      schedules.push({
        name: typeof properties.Name === 'string' ? properties.Name : `${logicalId}-${index + 1}`,
        expression: properties.ScheduleExpression,
        enabled: properties.State !== 'DISABLED',
        kind: 'events',
        target: { stateMachineArn: target.Arn, ...(typeof target.Input === 'string' ? { input: target.Input } : {}) },
        retryPolicy: {
          maximumRetryAttempts: integer(retry.MaximumRetryAttempts, DEFAULT_RETRY_POLICY.maximumRetryAttempts, `${where}.Properties.Targets[${index}].RetryPolicy.MaximumRetryAttempts`, 0, 185),
          maximumEventAgeInSeconds: integer(retry.MaximumEventAgeInSeconds, DEFAULT_RETRY_POLICY.maximumEventAgeInSeconds, `${where}.Properties.Targets[${index}].RetryPolicy.MaximumEventAgeInSeconds`, 60, 86_400),
        },
        ...(typeof deadLetter === 'string' ? { deadLetterArn: deadLetter } : {}),
      });
    }
  }
  return schedules;
}

/** Reads the state machines and schedules of the `serverless.yml` at `path`. */
export function readServerlessStepFunctions(path: string, readOptions: ReadStackConfigOptions = {}): ServerlessStepFunctions {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ServerlessConfigError(`cannot read serverless.yml at ${path}: ${(error as Error).message}`);
  }
  const raw = load(text);
  if (!isObject(raw)) throw new ServerlessConfigError('serverless.yml must be a YAML mapping');
  const baseDir = readOptions.baseDir ?? dirname(resolve(path));
  const stackConfig = parseStackConfig(text, { ...readOptions, baseDir });
  const document = resolveVariables(raw, {
    options: readOptions.options ?? {},
    env: readOptions.env ?? process.env,
    accountId: stackConfig.accountId,
    baseDir,
  });
  const { region, accountId, stackName } = stackConfig;
  const warnings: string[] = [];
  const section = isObject(document.stepFunctions) ? document.stepFunctions : {};
  const machinesSection = isObject(section.stateMachines) ? section.stateMachines : {};

  const machines = new Map<string, { key: string; name: string; arn: string; body: Json }>();
  for (const [key, value] of Object.entries(machinesSection)) {
    if (!isObject(value)) throw new ServerlessConfigError(`serverless.yml: stepFunctions.stateMachines.${key} must be a mapping`);
    const logicalId = stateMachineLogicalId(key, value);
    const name = typeof value.name === 'string' ? value.name : logicalId;
    if (value.type !== undefined && value.type !== 'STANDARD') warnings.push(`stepFunctions.stateMachines.${key}: type ${String(value.type)} runs as STANDARD locally`);
    machines.set(logicalId, { key, name, arn: `arn:aws:states:${region}:${accountId}:stateMachine:${name}`, body: value });
  }

  const resourcesSection = isObject(document.resources) ? document.resources : {};
  const conditions = isObject(resourcesSection.Conditions) ? resourcesSection.Conditions : {};
  const parameters: Record<string, string> = {};
  for (const [name, parameter] of Object.entries(isObject(resourcesSection.Parameters) ? resourcesSection.Parameters : {})) {
    if (isObject(parameter) && parameter.Default !== undefined) parameters[name] = String(parameter.Default);
  }
  const context: IntrinsicContext = { region, accountId, stackName, resources: resourceTable(document, stackConfig, machines), conditions, parameters };

  const stateMachines: StateMachineSpec[] = [];
  const schedules: ScheduleSpec[] = [];
  for (const [logicalId, machine] of machines) {
    const where = `stepFunctions.stateMachines.${machine.key}`;
    const definition = resolveIntrinsics(machine.body.definition, context, `${where}.definition`);
    if (definition === undefined) throw new ServerlessConfigError(`serverless.yml: ${where}.definition is missing`);
    const role = machine.body.role === undefined ? `arn:aws:iam::${accountId}:role/${stackName}-${logicalId}Role` : resolveIntrinsics(machine.body.role, context, `${where}.role`);
    if (typeof role !== 'string') throw new ServerlessConfigError(`serverless.yml: ${where}.role must resolve to a role ARN`);
    stateMachines.push({
      key: machine.key,
      logicalId,
      name: machine.name,
      definition: typeof definition === 'string' ? definition : JSON.stringify(definition),
      roleArn: role,
      arn: machine.arn,
    });
    schedules.push(...pluginSchedules(machine.key, machine.body, machine.arn, warnings));
  }
  schedules.push(...resourceSchedules(document, context, new Set([...machines.values()].map((m) => m.arn)), conditions));
  return { stateMachines, schedules, stackConfig, warnings };
}
