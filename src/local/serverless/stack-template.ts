/**
 * The CloudFormation template the framework would package from `serverless.yml`, as far as the local stack
 * resolves intrinsics against it: the `resources` section, plus the resources the framework and the
 * step-functions plugin generate and templates commonly refer to (each function, its log group, each state
 * machine). Its intrinsics are evaluated by the same evaluator as the offline template checks, with the local
 * stack's answers: queue URLs on the edge, and generated names that stay the same across restarts.
 */
import { createHash } from 'node:crypto';
import { type CfnResource, type CfnTemplate, NO_VALUE, TemplateEvaluator } from '../../cloudformation';
import { asMapping, mergeSections } from './config-values';
import { ServerlessConfigError } from './errors';

type Json = Record<string, unknown>;

/** Where the local stack answers every service, unless the caller says otherwise. */
export const DEFAULT_EDGE_URL = 'http://127.0.0.1:4566';

/** A resource the framework or a plugin generates, known by its logical id and physical name. */
export interface GeneratedResourceName {
  logicalId: string;
  name: string;
}

export interface StackTemplateOptions {
  region: string;
  accountId: string;
  stackName: string;
  /** The edge URL: the base of the queue URLs `Ref` answers for queues. */
  edgeUrl?: string;
}

/** The logical id Serverless gives a function's `AWS::Lambda::Function`. */
export function functionLogicalId(key: string): string {
  const normalized = key.charAt(0).toUpperCase() + key.slice(1);
  return `${normalized.replace(/-/g, 'Dash').replace(/_/g, 'Underscore')}LambdaFunction`;
}

/** Stands in for an id CloudFormation would pick at random: derived from the names, so a restart finds the same. */
export function hashSuffix(...parts: string[]): string {
  return createHash('sha256').update(parts.join('/')).digest('hex').slice(0, 12).toUpperCase();
}

/**
 * The template of a resolved `serverless.yml` document: its `resources` section with the functions' and state
 * machines' resources added as the framework and the plugin generate them.
 *
 * @throws {ServerlessConfigError} naming a section or resource that is not a mapping, or a parameter without
 *   a `Default` (the local stack has no deploy-time parameter values).
 */
export function stackTemplate(
  document: Json,
  generated: { functions: readonly GeneratedResourceName[]; stateMachines?: readonly GeneratedResourceName[] },
): CfnTemplate {
  const section = mergeSections(document.resources, 'resources');
  const resources: Record<string, CfnResource> = {};
  for (const [logicalId, value] of Object.entries(asMapping(section.Resources, 'resources.Resources'))) {
    const resource = asMapping(value, `resources.Resources.${logicalId}`);
    asMapping(resource.Properties, `resources.Resources.${logicalId}.Properties`);
    resources[logicalId] = { ...resource, Type: String(resource.Type ?? '') };
  }
  const parameters = asMapping(section.Parameters, 'resources.Parameters');
  for (const [name, value] of Object.entries(parameters)) {
    if (asMapping(value, `resources.Parameters.${name}`).Default === undefined) {
      throw new ServerlessConfigError(`serverless.yml: resources.Parameters.${name} needs a Default: the local stack has no deploy-time parameter values`);
    }
  }
  for (const { logicalId, name } of generated.functions) {
    resources[logicalId] = { Type: 'AWS::Lambda::Function', Properties: { FunctionName: name } };
    // The log group the framework generates for each function, which roles commonly refer to.
    const logGroupId = logicalId.replace(/LambdaFunction$/, 'LogGroup');
    resources[logGroupId] ??= { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: `/aws/lambda/${name}` } };
  }
  for (const { logicalId, name } of generated.stateMachines ?? []) {
    resources[logicalId] = { Type: 'AWS::StepFunctions::StateMachine', Properties: { StateMachineName: name } };
  }
  return {
    Parameters: parameters as CfnTemplate['Parameters'],
    Mappings: asMapping(section.Mappings, 'resources.Mappings') as CfnTemplate['Mappings'],
    Conditions: asMapping(section.Conditions, 'resources.Conditions'),
    Resources: resources,
  };
}

/**
 * The evaluator of a {@link stackTemplate}: parameters take their defaults, error paths start at `resources`,
 * queue URLs point at the edge, and a resource type without a known shape still answers `Ref` (its generated
 * name) and `Fn::GetAtt Arn`, since a user's `serverless.yml` may declare any type.
 */
export function stackEvaluator(template: CfnTemplate, options: StackTemplateOptions): TemplateEvaluator {
  const { region, accountId, stackName } = options;
  const edgeUrl = (options.edgeUrl ?? DEFAULT_EDGE_URL).replace(/\/$/, '');
  return new TemplateEvaluator(template, {
    accountId,
    region,
    partition: 'aws',
    stackName,
    parameters: {},
    templatePath: 'resources',
    endpointUrl: () => edgeUrl,
    generatedNameSuffix: (logicalId) => hashSuffix(stackName, logicalId),
    unknownTypeShape: { ref: (r) => r.name, attributes: { Arn: (r) => `arn:aws:local:${r.region}:${r.account}:${r.name}` } },
  });
}

/** `evaluator.resolve`, with a value that is `AWS::NoValue` as a whole read as absent. */
export function resolveValue(evaluator: TemplateEvaluator, value: unknown, where: string): unknown {
  const resolved = evaluator.resolve(value, where);
  return resolved === NO_VALUE ? undefined : resolved;
}
