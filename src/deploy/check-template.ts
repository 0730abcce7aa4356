/**
 * The offline CloudFormation checks of DESIGN.md §4, run on a packaged template: every resource against its
 * type's schema, every IAM statement against the actions list and least privilege, and the rules on how the
 * resources fit together. The template is evaluated once per combination of parameter values, so both
 * branches of every `Fn::If` are checked.
 */
import { join } from 'node:path';
import { TemplateEvaluationError } from '../cloudformation/errors';
import type { TemplateFinding } from './findings';
import { type IamCatalog, loadIamCatalog } from './iam-catalog';
import { DEFAULT_EVALUATION_CONTEXT, type ResolvedResource, TemplateEvaluator } from '../cloudformation/intrinsics';
import { checkPassRoleConditions, checkPolicyStatements, checkStarResourceAllowlist } from './policy-checks';
import { policyDocuments, policyStatements } from './policy-documents';
import {
  checkBucketPublicAccess,
  checkBucketTlsOnly,
  checkLambdaRoles,
  checkNotificationQueuePolicies,
  checkQueueVisibility,
} from './resource-checks';
import { loadResourceSchemas, type ResourceSchemas } from './resource-schemas';
import { STAR_RESOURCE_ALLOWLIST } from './star-resource-allowlist';
import {
  checkStateMachineDefinitions,
  loadStateMachineDefinitionValidator,
  type StateMachineDefinitionValidator,
} from './state-machine-definitions';
import { asTemplate, type CfnTemplate } from '../cloudformation/template';
import { checkScheduleTargets, checkStateMachinePermissions, checkStateMachineRoles } from './workflow-checks';

/** The data the checks read, loaded once and reusable across templates. */
export interface TemplateCheckData {
  schemas: ResourceSchemas;
  iam: IamCatalog;
  stateMachineDefinitions: StateMachineDefinitionValidator;
}

/** Loads the resource schemas, IAM actions list and ASL schema from the shared `cfn-schemas` directory. */
export function loadTemplateCheckData(cfnSchemasDir: string): TemplateCheckData {
  return {
    schemas: loadResourceSchemas(cfnSchemasDir),
    iam: loadIamCatalog(join(cfnSchemasDir, 'iam-policies.json')),
    stateMachineDefinitions: loadStateMachineDefinitionValidator(join(cfnSchemasDir, 'stepfunctions-definition.json')),
  };
}

export interface CheckTemplateOptions {
  /**
   * Values to try for parameters besides their `Default` (a KMS key ARN for an optional key parameter), so
   * the branches they switch on are checked too. A parameter without a Default needs at least one.
   */
  parameterSamples?: Record<string, string[]>;
  /** Actions allowed on `Resource: "*"`, with reasons; {@link STAR_RESOURCE_ALLOWLIST} unless given. */
  starResourceAllowlist?: Readonly<Record<string, string>>;
  /** Roles that several state machines may share, by logical id, each with the reason; none unless given. */
  sharedStateMachineRoles?: Readonly<Record<string, string>>;
  accountId?: string;
  region?: string;
  partition?: string;
  stackName?: string;
}

/** Beyond this many combinations of parameter values, each parameter's values are tried one at a time. */
const MAX_VARIANTS = 64;

/**
 * The parameter assignments to evaluate: the defaults, and the sample values — every combination while
 * there are at most {@link MAX_VARIANTS}, else each sample on its own over the defaults.
 */
export function parameterVariants(
  template: CfnTemplate,
  samples: Record<string, string[]> = {},
): { variants: Record<string, string>[]; findings: TemplateFinding[] } {
  const findings: TemplateFinding[] = [];
  const choices: [string, string[]][] = [];
  for (const [name, parameter] of Object.entries(template.Parameters ?? {})) {
    const values = [...new Set([...(parameter.Default === undefined ? [] : [String(parameter.Default)]), ...(samples[name] ?? [])])];
    if (values.length === 0) {
      findings.push({ check: 'intrinsics', message: `parameter ${name} has no Default and no sample value to check with` });
      continue;
    }
    choices.push([name, values]);
  }
  const base = Object.fromEntries(choices.map(([name, values]) => [name, values[0]!]));
  const combinations = choices.reduce((count, [, values]) => count * values.length, 1);
  if (combinations > MAX_VARIANTS) {
    const variants = [base];
    for (const [name, values] of choices) {
      for (const value of values.slice(1)) variants.push({ ...base, [name]: value });
    }
    return { variants, findings };
  }
  let variants: Record<string, string>[] = [{}];
  for (const [name, values] of choices) {
    variants = variants.flatMap((variant) => values.map((value) => ({ ...variant, [name]: value })));
  }
  return { variants, findings };
}

function describeVariant(variant: Record<string, string>, template: CfnTemplate): string {
  const changed = Object.entries(variant).filter(
    ([name, value]) => String(template.Parameters?.[name]?.Default ?? '') !== value,
  );
  return changed.length === 0 ? '' : ` (with ${changed.map(([name, value]) => `${name}=${value}`).join(', ')})`;
}

function checkSchemas(resources: readonly ResolvedResource[], schemas: ResourceSchemas): TemplateFinding[] {
  const findings: TemplateFinding[] = [];
  for (const { logicalId, type, properties } of resources) {
    if (!schemas.has(type)) {
      findings.push({ check: 'schema', resource: logicalId, message: `no CloudFormation schema for type ${type}` });
      continue;
    }
    for (const violation of schemas.validate(type, properties)) {
      findings.push({
        check: 'schema',
        resource: logicalId,
        message: `${type} Properties${violation.pointer.replace(/\//g, '.') || ''} ${violation.message}`,
      });
    }
    for (const property of schemas.readOnlyProperties(type)) {
      if (Object.hasOwn(properties, property)) {
        findings.push({
          check: 'read-only-property',
          resource: logicalId,
          message: `${type} ${property} is read-only (CloudFormation returns it); it cannot be set`,
        });
      }
    }
  }
  return findings;
}

/**
 * Runs every check on a template and returns what it breaks; an empty list means it passes.
 *
 * @throws {InvalidTemplateError} when the value is not a template at all.
 */
export function checkTemplate(
  value: unknown,
  data: TemplateCheckData,
  options: CheckTemplateOptions = {},
): TemplateFinding[] {
  const template = asTemplate(value);
  const allowlist = options.starResourceAllowlist ?? STAR_RESOURCE_ALLOWLIST;
  const found = new Map<string, TemplateFinding>();
  const record = (findings: readonly TemplateFinding[], suffix = ''): void => {
    for (const finding of findings) {
      const key = `${finding.check}\u0000${finding.resource ?? ''}\u0000${finding.message}`;
      if (!found.has(key)) found.set(key, suffix ? { ...finding, message: `${finding.message}${suffix}` } : finding);
    }
  };

  record(checkStarResourceAllowlist(data.iam, allowlist));
  record(checkLambdaRoles(template));
  record(checkStateMachineRoles(template, options.sharedStateMachineRoles));

  const { variants, findings: variantFindings } = parameterVariants(template, options.parameterSamples);
  record(variantFindings);
  for (const parameters of variants) {
    const evaluator = new TemplateEvaluator(template, {
      accountId: options.accountId ?? DEFAULT_EVALUATION_CONTEXT.accountId,
      region: options.region ?? DEFAULT_EVALUATION_CONTEXT.region,
      partition: options.partition ?? DEFAULT_EVALUATION_CONTEXT.partition,
      stackName: options.stackName ?? 'stack',
      parameters,
    });
    const suffix = describeVariant(parameters, template);
    const { resolved, errors } = evaluator.resources();
    record(
      errors.map((error) => ({ check: 'intrinsics' as const, message: error.message })),
      suffix,
    );
    const byId = new Map(resolved.map((resource) => [resource.logicalId, resource]));
    const { statements, findings: shapeFindings } = policyStatements(policyDocuments(resolved));
    try {
      record(shapeFindings, suffix);
      record(checkSchemas(resolved, data.schemas), suffix);
      record(checkPolicyStatements(statements, data.iam, allowlist), suffix);
      record(checkPassRoleConditions(statements), suffix);
      record(checkScheduleTargets(template, byId, statements), suffix);
      record(checkStateMachinePermissions(template, byId, statements), suffix);
      record(checkQueueVisibility(template, byId), suffix);
      record(checkBucketPublicAccess(resolved), suffix);
      record(checkBucketTlsOnly(resolved, statements, evaluator), suffix);
      record(checkNotificationQueuePolicies(resolved, statements, evaluator), suffix);
      record(checkStateMachineDefinitions(resolved, data.stateMachineDefinitions), suffix);
    } catch (error) {
      if (!(error instanceof TemplateEvaluationError)) throw error;
      record([{ check: 'intrinsics', message: error.message }], suffix);
    }
  }
  return [...found.values()];
}
