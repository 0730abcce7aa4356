/**
 * Reads the state machines and their schedules from `serverless.yml`: the `stepFunctions.stateMachines`
 * section of `serverless-step-functions` (names, roles, definitions, `events: - schedule:`) and hand-written
 * `AWS::Scheduler::Schedule` / `AWS::Events::Rule` resources whose target is one of those state machines.
 *
 * Definitions usually come from `${file(statemachines/x.asl.json)}`: the shared reader (src/local/serverless)
 * loads them with the other variables, then the CloudFormation intrinsics are resolved as the rest of the
 * local stack does.
 */
import type { TemplateEvaluator } from '../../cloudformation';
import { integerIn, isMapping } from '../serverless/config-values';
import { ServerlessConfigError } from '../serverless/errors';
import { readServerlessFile, type ReadStackConfigOptions, type StackConfig } from '../serverless/stack-config';
import { functionLogicalId, resolveValue, stackEvaluator, stackTemplate } from '../serverless/stack-template';
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

/** The logical id the plugin gives a state machine (its `id`, else its `name`, else the key, normalized). */
export function stateMachineLogicalId(key: string, machine: Json): string {
  const custom = typeof machine.id === 'string' ? machine.id : typeof machine.name === 'string' ? machine.name : undefined;
  const normalized = (text: string) => functionLogicalId(text).replace(/LambdaFunction$/, '');
  return custom ? normalized(custom) : `${normalized(key)}StepFunctionsStateMachine`;
}

/** A schedule's retry policy, keyed as the plugin writes it or (`pascalCase`) as CloudFormation does; AWS's defaults where absent. */
function retryPolicyOf(retry: Record<string, unknown>, where: string, pascalCase: boolean): ScheduleSpec['retryPolicy'] {
  const attempts = pascalCase ? 'MaximumRetryAttempts' : 'maximumRetryAttempts';
  const age = pascalCase ? 'MaximumEventAgeInSeconds' : 'maximumEventAgeInSeconds';
  return {
    maximumRetryAttempts: integerIn(retry[attempts], `${where}.${attempts}`, 0, 185, DEFAULT_RETRY_POLICY.maximumRetryAttempts),
    maximumEventAgeInSeconds: integerIn(retry[age], `${where}.${age}`, 60, 86_400, DEFAULT_RETRY_POLICY.maximumEventAgeInSeconds),
  };
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
    if (!isMapping(event) || event.schedule === undefined) return;
    const schedule = event.schedule;
    const name = `${key}-schedule-${index + 1}`;
    if (typeof schedule === 'string') {
      schedules.push({ name, expression: schedule, enabled: true, kind: 'events', target: { stateMachineArn: arn }, retryPolicy: DEFAULT_RETRY_POLICY });
      return;
    }
    if (!isMapping(schedule) || typeof schedule.rate !== 'string') throw new ServerlessConfigError(`serverless.yml: ${where} must be an expression or an object with rate`);
    if (schedule.inputPath !== undefined || schedule.inputTransformer !== undefined) {
      warnings.push(`${where}: inputPath and inputTransformer are not applied locally; the scheduled event is sent as it is`);
    }
    const method = schedule.method === 'scheduler' ? 'scheduler' : 'events';
    const retry = isMapping(schedule.retryPolicy) ? schedule.retryPolicy : {};
    const input = schedule.input === undefined ? undefined : typeof schedule.input === 'string' ? schedule.input : JSON.stringify(schedule.input);
    schedules.push({
      name: typeof schedule.name === 'string' ? schedule.name : name,
      expression: schedule.rate,
      ...(typeof schedule.timezone === 'string' ? { timezone: schedule.timezone } : {}),
      enabled: schedule.enabled !== false,
      kind: method,
      target: { stateMachineArn: arn, ...(input !== undefined ? { input } : {}) },
      retryPolicy: retryPolicyOf(retry, `${where}.retryPolicy`, false),
    });
  });
  return schedules;
}

/** Schedules written as resources, targeting a state machine of this file. */
function resourceSchedules(evaluator: TemplateEvaluator, machineArns: Set<string>): ScheduleSpec[] {
  const schedules: ScheduleSpec[] = [];
  for (const [logicalId, value] of Object.entries(evaluator.template.Resources)) {
    if (value.Type !== 'AWS::Scheduler::Schedule' && value.Type !== 'AWS::Events::Rule') continue;
    const where = `resources.Resources.${logicalId}`;
    if (!evaluator.resourceExists(logicalId)) continue;
    const resolved = resolveValue(evaluator, value.Properties ?? {}, `${where}.Properties`);
    const properties = isMapping(resolved) ? resolved : {};
    if (value.Type === 'AWS::Scheduler::Schedule') {
      const target = isMapping(properties.Target) ? properties.Target : {};
      if (typeof target.Arn !== 'string' || !machineArns.has(target.Arn)) continue;
      const retry = isMapping(target.RetryPolicy) ? target.RetryPolicy : {};
      const deadLetter = isMapping(target.DeadLetterConfig) ? target.DeadLetterConfig.Arn : undefined;
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
        retryPolicy: retryPolicyOf(retry, `${where}.Properties.Target.RetryPolicy`, true),
        ...(typeof deadLetter === 'string' ? { deadLetterArn: deadLetter } : {}),
        ...(startDate ? { startDate } : {}),
        ...(endDate ? { endDate } : {}),
      });
      continue;
    }
    if (typeof properties.ScheduleExpression !== 'string' || !Array.isArray(properties.Targets)) continue;
    for (const [index, target] of (properties.Targets as unknown[]).entries()) {
      if (!isMapping(target) || typeof target.Arn !== 'string' || !machineArns.has(target.Arn)) continue;
      const retry = isMapping(target.RetryPolicy) ? target.RetryPolicy : {};
      const deadLetter = isMapping(target.DeadLetterConfig) ? target.DeadLetterConfig.Arn : undefined;
      schedules.push({
        name: typeof properties.Name === 'string' ? properties.Name : `${logicalId}-${index + 1}`,
        expression: properties.ScheduleExpression,
        enabled: properties.State !== 'DISABLED',
        kind: 'events',
        target: { stateMachineArn: target.Arn, ...(typeof target.Input === 'string' ? { input: target.Input } : {}) },
        retryPolicy: retryPolicyOf(retry, `${where}.Properties.Targets[${index}].RetryPolicy`, true),
        ...(typeof deadLetter === 'string' ? { deadLetterArn: deadLetter } : {}),
      });
    }
  }
  return schedules;
}

/** Reads the state machines and schedules of the `serverless.yml` at `path`. */
export function readServerlessStepFunctions(path: string, readOptions: ReadStackConfigOptions = {}): ServerlessStepFunctions {
  const { document, config: stackConfig } = readServerlessFile(path, readOptions);
  const { region, accountId, stackName } = stackConfig;
  const warnings: string[] = [];
  const section = isMapping(document.stepFunctions) ? document.stepFunctions : {};
  const machinesSection = isMapping(section.stateMachines) ? section.stateMachines : {};

  const machines = new Map<string, { key: string; name: string; arn: string; body: Json }>();
  for (const [key, value] of Object.entries(machinesSection)) {
    if (!isMapping(value)) throw new ServerlessConfigError(`serverless.yml: stepFunctions.stateMachines.${key} must be a mapping`);
    const logicalId = stateMachineLogicalId(key, value);
    const name = typeof value.name === 'string' ? value.name : logicalId;
    if (value.type !== undefined && value.type !== 'STANDARD') warnings.push(`stepFunctions.stateMachines.${key}: type ${String(value.type)} runs as STANDARD locally`);
    machines.set(logicalId, { key, name, arn: `arn:aws:states:${region}:${accountId}:stateMachine:${name}`, body: value });
  }

  const template = stackTemplate(document, {
    functions: stackConfig.functions.map((fn) => ({ logicalId: functionLogicalId(fn.key), name: fn.name })),
    stateMachines: [...machines].map(([logicalId, machine]) => ({ logicalId, name: machine.name })),
  });
  const evaluator = stackEvaluator(template, { region, accountId, stackName, edgeUrl: readOptions.queueUrlBase });

  const stateMachines: StateMachineSpec[] = [];
  const schedules: ScheduleSpec[] = [];
  for (const [logicalId, machine] of machines) {
    const where = `stepFunctions.stateMachines.${machine.key}`;
    const definition = resolveValue(evaluator, machine.body.definition, `${where}.definition`);
    if (definition === undefined) throw new ServerlessConfigError(`serverless.yml: ${where}.definition is missing`);
    const role = machine.body.role === undefined ? `arn:aws:iam::${accountId}:role/${stackName}-${logicalId}Role` : resolveValue(evaluator, machine.body.role, `${where}.role`);
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
  schedules.push(...resourceSchedules(evaluator, new Set([...machines.values()].map((m) => m.arn))));
  return { stateMachines, schedules, stackConfig, warnings };
}
