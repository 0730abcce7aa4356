/**
 * Checks on the workflow resources of a template: each state machine runs under a role of its own (or one
 * whose sharing is documented) that Step Functions may assume, and each EventBridge Scheduler schedule that
 * starts a state machine has a retry policy, a dead-letter queue and a role that may do nothing but start
 * that state machine and write to that queue.
 */
import type { TemplateFinding } from './findings';
import type { ResolvedResource } from '../cloudformation/intrinsics';
import type { PolicyStatement } from './policy-documents';
import { type CfnTemplate, isRecord, referencedLogicalId } from '../cloudformation/template';

function ofType(template: CfnTemplate, type: string): [string, Record<string, unknown>][] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([logicalId, resource]) => [logicalId, resource.Properties ?? {}]);
}

/** The logical id of the role a `Fn::GetAtt [<role>, Arn]` names, when it is an `AWS::IAM::Role` of the template. */
function templateRole(template: CfnTemplate, value: unknown): string | undefined {
  const roleId = isRecord(value) && value['Fn::GetAtt'] !== undefined ? referencedLogicalId(value) : undefined;
  return roleId !== undefined && template.Resources[roleId]?.Type === 'AWS::IAM::Role' ? roleId : undefined;
}

function trusts(template: CfnTemplate, roleId: string, service: string): boolean {
  const trust = template.Resources[roleId]?.Properties?.AssumeRolePolicyDocument;
  return JSON.stringify(trust ?? null).includes(service);
}

/**
 * Every `AWS::StepFunctions::StateMachine` takes its role from `Fn::GetAtt [<role>, Arn]` of an `AWS::IAM::Role`
 * in the template that `states.amazonaws.com` may assume, and no two state machines share a role unless
 * `sharedRoles` names the role with the reason. Read from the unresolved template, where references show.
 */
export function checkStateMachineRoles(
  template: CfnTemplate,
  sharedRoles: Readonly<Record<string, string>> = {},
): TemplateFinding[] {
  const findings: TemplateFinding[] = [];
  const users = new Map<string, string[]>();
  for (const [logicalId, properties] of ofType(template, 'AWS::StepFunctions::StateMachine')) {
    const roleId = templateRole(template, properties.RoleArn);
    if (roleId === undefined) {
      findings.push({
        check: 'state-machine-own-role',
        resource: logicalId,
        message: `RoleArn must be Fn::GetAtt [<role>, Arn] of an AWS::IAM::Role in this template, got ${JSON.stringify(properties.RoleArn ?? null)}`,
      });
      continue;
    }
    users.set(roleId, [...(users.get(roleId) ?? []), logicalId]);
    if (!trusts(template, roleId, 'states.amazonaws.com')) {
      findings.push({
        check: 'state-machine-own-role',
        resource: logicalId,
        message: `role ${roleId} does not let states.amazonaws.com assume it`,
      });
    }
  }
  for (const [roleId, machines] of users) {
    const reason = sharedRoles[roleId];
    if (machines.length > 1 && (reason === undefined || reason.trim() === '')) {
      findings.push({
        check: 'state-machine-own-role',
        resource: roleId,
        message:
          `role is shared by ${machines.join(', ')}; give each state machine its own, least-privilege role, ` +
          'or document the sharing (sharedStateMachineRoles) with a reason',
      });
    }
  }
  return findings;
}

/**
 * Every `AWS::Scheduler::Schedule` whose target is a state machine of the template: has a `RetryPolicy` and a
 * `DeadLetterConfig`; its role is a role of the template that `scheduler.amazonaws.com` may assume, with no
 * managed policies (whose grants cannot be seen here), whose statements allow `states:StartExecution` on that
 * state machine and nothing but that and `sqs:SendMessage` on the schedule's dead-letter queue.
 */
export function checkScheduleTargets(
  template: CfnTemplate,
  resolved: ReadonlyMap<string, ResolvedResource>,
  statements: readonly PolicyStatement[],
): TemplateFinding[] {
  const findings: TemplateFinding[] = [];
  for (const [logicalId, properties] of ofType(template, 'AWS::Scheduler::Schedule')) {
    const resolvedSchedule = resolved.get(logicalId);
    if (resolvedSchedule === undefined) continue; // its Condition is false in this variant
    const target = isRecord(properties.Target) ? properties.Target : {};
    const machineId = referencedLogicalId(target.Arn);
    if (machineId === undefined || template.Resources[machineId]?.Type !== 'AWS::StepFunctions::StateMachine') continue;
    const add = (message: string): void => {
      findings.push({ check: 'schedule-target', resource: logicalId, message });
    };
    const resolvedTarget = isRecord(resolvedSchedule.properties.Target) ? resolvedSchedule.properties.Target : {};
    const machineArn = resolvedTarget.Arn;
    const deadLetter = isRecord(resolvedTarget.DeadLetterConfig) ? resolvedTarget.DeadLetterConfig.Arn : undefined;

    if (!isRecord(target.RetryPolicy)) add('Target.RetryPolicy is missing: a start that fails would not be retried');
    if (typeof deadLetter !== 'string') {
      add('Target.DeadLetterConfig.Arn is missing: a start that fails after its retries would be lost');
    }
    const roleId = templateRole(template, target.RoleArn);
    if (roleId === undefined) {
      add(`Target.RoleArn must be Fn::GetAtt [<role>, Arn] of an AWS::IAM::Role in this template, got ${JSON.stringify(target.RoleArn ?? null)}`);
      continue;
    }
    if (!trusts(template, roleId, 'scheduler.amazonaws.com')) add(`role ${roleId} does not let scheduler.amazonaws.com assume it`);
    if (template.Resources[roleId]?.Properties?.ManagedPolicyArns !== undefined) {
      add(`role ${roleId} has ManagedPolicyArns, whose grants cannot be checked; grant inline only what the schedule needs`);
    }
    const granted = statements.filter((s) => s.resource === roleId && s.kind === 'identity' && s.effect === 'Allow');
    const startsMachine = granted.some(
      (s) => s.actions.some((a) => a.toLowerCase() === 'states:startexecution') && s.resources.includes(String(machineArn)),
    );
    if (!startsMachine) add(`role ${roleId} does not allow states:StartExecution on ${String(machineArn)}`);
    for (const s of granted) {
      for (const action of s.actions) {
        const lower = action.toLowerCase();
        const allowedResource =
          lower === 'states:startexecution' ? machineArn : lower === 'sqs:sendmessage' && typeof deadLetter === 'string' ? deadLetter : undefined;
        if (allowedResource === undefined) {
          add(`role ${roleId} ${s.location} allows ${action}; a schedule's role may only start its state machine and write to its DLQ`);
          continue;
        }
        const extra = s.resources.filter((r) => r !== allowedResource);
        if (extra.length > 0) {
          add(`role ${roleId} ${s.location} allows ${action} on ${JSON.stringify(extra)}, beyond ${String(allowedResource)}`);
        }
      }
    }
  }
  return findings;
}

/** Optimized integrations whose IAM actions are not simply the API action: what `.sync` also needs. */
const SYNC_COMPANIONS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  // Step Functions follows a `.sync` job by describing it and through a managed EventBridge rule, and stops it
  // when the execution is stopped.
  'sagemaker:createTransformJob.sync': [
    'sagemaker:CreateTransformJob',
    'sagemaker:DescribeTransformJob',
    'sagemaker:StopTransformJob',
    'events:PutTargets',
    'events:PutRule',
    'events:DescribeRule',
  ],
  'sagemaker:createTrainingJob.sync': [
    'sagemaker:CreateTrainingJob',
    'sagemaker:DescribeTrainingJob',
    'sagemaker:StopTrainingJob',
    'events:PutTargets',
    'events:PutRule',
    'events:DescribeRule',
  ],
});

/** AWS SDK calls whose IAM action has another name than the API. */
const SDK_ACTION_NAMES: Readonly<Record<string, string>> = Object.freeze({
  's3:listObjectsV2': 's3:ListBucket',
  's3:listObjects': 's3:ListBucket',
  's3:headObject': 's3:GetObject',
  's3:headBucket': 's3:ListBucket',
});

/** Grants a task-driven role may hold beyond its tasks' own actions, and the actions that justify each. */
const IMPLIED_GRANTS: Readonly<Record<string, (needed: ReadonlySet<string>) => boolean>> = Object.freeze({
  // Tags given to a Create call are applied with AddTags, authorized separately.
  'sagemaker:addtags': (needed) => [...needed].some((action) => action.startsWith('sagemaker:create')),
  // CreateModel takes the execution role the model runs with.
  'iam:passrole': (needed) => needed.has('sagemaker:createmodel'),
});

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * The IAM actions one task's `Resource` needs (`arn:aws:states:::aws-sdk:sagemaker:createModel` →
 * `sagemaker:CreateModel`), or `undefined` for a resource this check cannot read (an activity, an unknown
 * integration).
 */
export function actionsForTaskResource(resource: string): string[] | undefined {
  const match = /^arn:aws[a-z-]*:states:::(.+)$/.exec(resource);
  if (!match) {
    // A function ARN called directly (the legacy Lambda form).
    return /^arn:aws[a-z-]*:lambda:/.test(resource) ? ['lambda:InvokeFunction'] : undefined;
  }
  const integration = match[1]!;
  const sdk = /^aws-sdk:([a-z0-9]+):([a-zA-Z0-9]+)$/.exec(integration);
  if (sdk) {
    const call = `${sdk[1]}:${sdk[2]}`;
    return [SDK_ACTION_NAMES[call] ?? `${sdk[1]}:${capitalize(sdk[2]!)}`];
  }
  if (SYNC_COMPANIONS[integration]) return [...SYNC_COMPANIONS[integration]!];
  const optimized = /^(lambda|dynamodb|sagemaker|sqs|sns|states|events):([a-zA-Z]+)(\.waitForTaskToken)?$/.exec(integration);
  if (!optimized) return undefined;
  const [, service, api] = optimized;
  if (service === 'lambda' && api === 'invoke') return ['lambda:InvokeFunction'];
  if (service === 'sqs' && api === 'sendMessage') return ['sqs:SendMessage'];
  if (service === 'sns' && api === 'publish') return ['sns:Publish'];
  if (service === 'states' && api === 'startExecution') return ['states:StartExecution'];
  if (service === 'events' && api === 'putEvents') return ['events:PutEvents'];
  return [`${service}:${capitalize(api!)}`];
}

/** Every task `Resource` of a definition, nested `Map` and `Parallel` states included. */
export function taskResources(definition: unknown): string[] {
  const found: string[] = [];
  const visit = (states: unknown): void => {
    if (!isRecord(states)) return;
    for (const state of Object.values(states)) {
      if (!isRecord(state)) continue;
      if (state.Type === 'Task' && typeof state.Resource === 'string') found.push(state.Resource);
      for (const nested of [state.ItemProcessor, state.Iterator]) if (isRecord(nested)) visit(nested.States);
      if (Array.isArray(state.Branches)) for (const branch of state.Branches) if (isRecord(branch)) visit(branch.States);
    }
  };
  if (isRecord(definition)) visit(definition.States);
  return found;
}

function definitionOf(properties: Record<string, unknown>): unknown {
  if (properties.Definition !== undefined) return properties.Definition;
  if (typeof properties.DefinitionString !== 'string') return undefined;
  try {
    return JSON.parse(properties.DefinitionString);
  } catch {
    return undefined; // reported by the definition check
  }
}

/**
 * Each state machine's role (a role of the template) grants every IAM action its tasks need, and no action
 * beyond them, apart from {@link IMPLIED_GRANTS}: a missing grant fails an execution on AWS only, long after
 * an offline check could have said so, and an extra one is privilege nothing uses.
 */
export function checkStateMachinePermissions(
  template: CfnTemplate,
  resolved: ReadonlyMap<string, ResolvedResource>,
  statements: readonly PolicyStatement[],
): TemplateFinding[] {
  const findings: TemplateFinding[] = [];
  for (const [logicalId, properties] of ofType(template, 'AWS::StepFunctions::StateMachine')) {
    const machine = resolved.get(logicalId);
    const roleId = templateRole(template, properties.RoleArn);
    if (machine === undefined || roleId === undefined) continue; // absent in this variant, or reported as a role finding
    const definition = definitionOf(machine.properties);
    if (definition === undefined) continue;
    const add = (message: string): void => {
      findings.push({ check: 'state-machine-permissions', resource: logicalId, message });
    };

    const needed = new Map<string, string>();
    for (const resource of taskResources(definition)) {
      const actions = actionsForTaskResource(resource);
      if (actions === undefined) {
        add(`cannot tell which IAM actions the task resource ${resource} needs; grant them and extend actionsForTaskResource`);
        continue;
      }
      for (const action of actions) needed.set(action.toLowerCase(), action);
    }
    const granted = new Map(
      statements
        .filter((s) => s.resource === roleId && s.kind === 'identity' && s.effect === 'Allow')
        .flatMap((s) => s.actions.map((action) => [action.toLowerCase(), action] as const)),
    );
    for (const [lower, action] of needed) {
      if (!granted.has(lower)) add(`role ${roleId} does not grant ${action}, which a task of the definition calls`);
    }
    const neededSet = new Set(needed.keys());
    for (const [lower, action] of granted) {
      if (neededSet.has(lower) || IMPLIED_GRANTS[lower]?.(neededSet)) continue;
      add(`role ${roleId} grants ${action}, which no task of the definition needs`);
    }
  }
  return findings;
}
