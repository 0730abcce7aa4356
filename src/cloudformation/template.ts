import { InvalidTemplateError } from './errors';

/** A CloudFormation parameter declaration (only what offline evaluation reads). */
export interface CfnParameter {
  Type: string;
  Default?: unknown;
  AllowedValues?: unknown[];
  Description?: string;
}

/** A CloudFormation resource as written in a template, intrinsics unresolved. */
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Condition?: string;
  DependsOn?: string | string[];
  [key: string]: unknown;
}

/** A CloudFormation template, as `serverless package` writes it. */
export interface CfnTemplate {
  AWSTemplateFormatVersion?: string;
  Description?: string;
  Parameters?: Record<string, CfnParameter>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, unknown>;
}

/** Whether a value is a plain JSON object (not null, not an array). */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks the outline of a parsed template, so later code can rely on `Resources` and each resource's `Type`.
 *
 * @throws {InvalidTemplateError} naming the part that is missing or of the wrong shape.
 */
export function asTemplate(value: unknown): CfnTemplate {
  if (!isRecord(value)) throw new InvalidTemplateError('template must be a JSON object');
  const resources = value.Resources;
  if (!isRecord(resources) || Object.keys(resources).length === 0) {
    throw new InvalidTemplateError('template must have a non-empty "Resources" object');
  }
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (!isRecord(resource) || typeof resource.Type !== 'string' || resource.Type === '') {
      throw new InvalidTemplateError(`Resources.${logicalId} must be an object with a string "Type"`);
    }
    if (resource.Properties !== undefined && !isRecord(resource.Properties)) {
      throw new InvalidTemplateError(`Resources.${logicalId}.Properties must be an object`);
    }
  }
  for (const section of ['Parameters', 'Mappings', 'Conditions', 'Outputs'] as const) {
    if (value[section] !== undefined && !isRecord(value[section])) {
      throw new InvalidTemplateError(`template "${section}" must be an object`);
    }
  }
  return value as unknown as CfnTemplate;
}

/**
 * The logical id a value points at when it is `{ Ref: X }`, `{ "Fn::GetAtt": [X, attr] }` or
 * `{ "Fn::GetAtt": "X.attr" }`; `undefined` for anything else.
 */
export function referencedLogicalId(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  if (typeof value.Ref === 'string') return value.Ref;
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}

export { isRecord };
