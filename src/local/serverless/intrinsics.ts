/**
 * Resolves the CloudFormation intrinsic functions `serverless.yml`'s resources use, in their long form:
 * `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::If` (with the template's `Conditions`), plus `Fn::Join`,
 * `Fn::Select`, `Fn::Split`, `Fn::Equals`/`Not`/`And`/`Or` and the pseudo parameters. Physical names and
 * attributes come from the resource table the caller builds, the way CloudFormation would report them.
 */

/** Raised when an intrinsic cannot be resolved; the message names the function and where it was used. */
export class IntrinsicFunctionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntrinsicFunctionError';
  }
}

/** What `Ref` and `Fn::GetAtt` answer for one logical id. */
export interface ResourceAttributes {
  ref: string;
  attributes: Record<string, string>;
}

export interface IntrinsicContext {
  region: string;
  accountId: string;
  stackName: string;
  resources: Map<string, ResourceAttributes>;
  conditions: Record<string, unknown>;
  parameters?: Record<string, string>;
}

/** Marks `AWS::NoValue`: the property is removed from its parent. */
const NO_VALUE = Symbol('AWS::NoValue');

function pseudo(name: string, context: IntrinsicContext): string | typeof NO_VALUE | undefined {
  switch (name) {
    case 'AWS::Region':
      return context.region;
    case 'AWS::AccountId':
      return context.accountId;
    case 'AWS::StackName':
      return context.stackName;
    case 'AWS::StackId':
      return `arn:aws:cloudformation:${context.region}:${context.accountId}:stack/${context.stackName}/local`;
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::NoValue':
      return NO_VALUE;
    default:
      return undefined;
  }
}

function ref(name: string, context: IntrinsicContext, where: string): string | typeof NO_VALUE {
  const pseudoValue = pseudo(name, context);
  if (pseudoValue !== undefined) return pseudoValue;
  const parameter = context.parameters?.[name];
  if (parameter !== undefined) return parameter;
  const resource = context.resources.get(name);
  if (!resource) throw new IntrinsicFunctionError(`${where}: Ref to "${name}", which is neither a resource nor a pseudo parameter`);
  return resource.ref;
}

function getAtt(logicalId: string, attribute: string, context: IntrinsicContext, where: string): string {
  const resource = context.resources.get(logicalId);
  if (!resource) throw new IntrinsicFunctionError(`${where}: Fn::GetAtt of "${logicalId}", which is not a resource of the template`);
  const value = resource.attributes[attribute];
  if (value === undefined) {
    throw new IntrinsicFunctionError(
      `${where}: Fn::GetAtt ${logicalId}.${attribute} is not an attribute the local stack knows ` +
        `(known: ${Object.keys(resource.attributes).join(', ') || 'none'})`,
    );
  }
  return value;
}

/** Evaluates the template condition `name`. */
export function evaluateCondition(name: string, context: IntrinsicContext, where = `Conditions.${name}`): boolean {
  if (!(name in context.conditions)) throw new IntrinsicFunctionError(`${where}: condition "${name}" is not defined in Conditions`);
  const value = resolveIntrinsics(context.conditions[name], context, `Conditions.${name}`);
  if (typeof value !== 'boolean') throw new IntrinsicFunctionError(`Conditions.${name} must evaluate to true or false`);
  return value;
}

function asString(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new IntrinsicFunctionError(`${where}: expected a string, got ${JSON.stringify(value)}`);
}

function sub(template: unknown, variables: Record<string, unknown>, context: IntrinsicContext, where: string): string {
  const text = asString(template, where);
  return text.replace(/\$\{(!?)([^}]*)\}/g, (_match, bang: string, name: string) => {
    if (bang) return `\${${name}}`;
    if (name in variables) return asString(variables[name], `${where} \${${name}}`);
    const dot = name.indexOf('.');
    if (dot > 0 && !name.startsWith('AWS::')) return getAtt(name.slice(0, dot), name.slice(dot + 1), context, where);
    const value = ref(name, context, where);
    if (value === NO_VALUE) throw new IntrinsicFunctionError(`${where}: AWS::NoValue cannot be used inside Fn::Sub`);
    return value;
  });
}

function apply(name: string, rawArgs: unknown, context: IntrinsicContext, where: string): unknown {
  const here = `${where} ${name}`;
  switch (name) {
    case 'Ref':
      return ref(asString(rawArgs, here), context, here);
    case 'Fn::GetAtt': {
      const args = typeof rawArgs === 'string' ? rawArgs.split(/\.(.*)/s).slice(0, 2) : resolveIntrinsics(rawArgs, context, here);
      if (!Array.isArray(args) || args.length !== 2) throw new IntrinsicFunctionError(`${here}: expects [LogicalId, Attribute]`);
      return getAtt(asString(args[0], here), asString(args[1], here), context, here);
    }
    case 'Fn::Sub': {
      if (Array.isArray(rawArgs)) {
        if (rawArgs.length !== 2) throw new IntrinsicFunctionError(`${here}: expects a string or [string, {variables}]`);
        const variables = resolveIntrinsics(rawArgs[1], context, here) as Record<string, unknown>;
        return sub(rawArgs[0], variables ?? {}, context, here);
      }
      return sub(rawArgs, {}, context, here);
    }
    case 'Fn::If': {
      if (!Array.isArray(rawArgs) || rawArgs.length !== 3) throw new IntrinsicFunctionError(`${here}: expects [Condition, IfTrue, IfFalse]`);
      const chosen = evaluateCondition(asString(rawArgs[0], here), context, here) ? rawArgs[1] : rawArgs[2];
      return resolveInner(chosen, context, here);
    }
    case 'Condition':
      return evaluateCondition(asString(rawArgs, here), context, here);
    case 'Fn::Equals': {
      const args = resolveIntrinsics(rawArgs, context, here);
      if (!Array.isArray(args) || args.length !== 2) throw new IntrinsicFunctionError(`${here}: expects [a, b]`);
      return JSON.stringify(args[0]) === JSON.stringify(args[1]);
    }
    case 'Fn::Not': {
      const args = resolveIntrinsics(rawArgs, context, here);
      if (!Array.isArray(args) || args.length !== 1 || typeof args[0] !== 'boolean') throw new IntrinsicFunctionError(`${here}: expects [condition]`);
      return !args[0];
    }
    case 'Fn::And':
    case 'Fn::Or': {
      const args = resolveIntrinsics(rawArgs, context, here);
      if (!Array.isArray(args) || args.length < 2 || args.some((arg) => typeof arg !== 'boolean')) {
        throw new IntrinsicFunctionError(`${here}: expects 2 to 10 conditions`);
      }
      return name === 'Fn::And' ? args.every(Boolean) : args.some(Boolean);
    }
    case 'Fn::Join': {
      const args = resolveIntrinsics(rawArgs, context, here);
      if (!Array.isArray(args) || args.length !== 2 || !Array.isArray(args[1])) throw new IntrinsicFunctionError(`${here}: expects [delimiter, [values]]`);
      return (args[1] as unknown[]).map((item) => asString(item, here)).join(asString(args[0], here));
    }
    case 'Fn::Select': {
      const args = resolveIntrinsics(rawArgs, context, here);
      if (!Array.isArray(args) || args.length !== 2 || !Array.isArray(args[1])) throw new IntrinsicFunctionError(`${here}: expects [index, [values]]`);
      const index = Number(args[0]);
      const list = args[1] as unknown[];
      if (!Number.isInteger(index) || index < 0 || index >= list.length) throw new IntrinsicFunctionError(`${here}: index ${String(args[0])} is out of range`);
      return list[index];
    }
    case 'Fn::Split': {
      const args = resolveIntrinsics(rawArgs, context, here);
      if (!Array.isArray(args) || args.length !== 2) throw new IntrinsicFunctionError(`${here}: expects [delimiter, string]`);
      return asString(args[1], here).split(asString(args[0], here));
    }
    default:
      throw new IntrinsicFunctionError(`${here}: the intrinsic function ${name} is not supported by the local stack`);
  }
}

const INTRINSICS = new Set([
  'Ref', 'Condition', 'Fn::GetAtt', 'Fn::Sub', 'Fn::If', 'Fn::Equals', 'Fn::Not', 'Fn::And', 'Fn::Or',
  'Fn::Join', 'Fn::Select', 'Fn::Split', 'Fn::ImportValue', 'Fn::FindInMap', 'Fn::Base64', 'Fn::GetAZs',
  'Fn::Cidr', 'Fn::Transform', 'Fn::Length', 'Fn::ToJsonString',
]);

/**
 * Resolves every intrinsic in `value`. `where` is a path used in error messages. Properties set to
 * `AWS::NoValue` disappear, as they do in CloudFormation.
 */
export function resolveIntrinsics(value: unknown, context: IntrinsicContext, where = ''): unknown {
  const resolved = resolveInner(value, context, where);
  return resolved === NO_VALUE ? undefined : resolved;
}

function resolveInner(value: unknown, context: IntrinsicContext, where: string): unknown {
  if (Array.isArray(value)) {
    return value.map((item, index) => resolveInner(item, context, `${where}[${index}]`)).filter((item) => item !== NO_VALUE);
  }
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  if (entries.length === 1 && INTRINSICS.has(entries[0]![0])) {
    const [name, args] = entries[0]!;
    return apply(name, args, context, where);
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of entries) {
    const resolved = resolveInner(item, context, where ? `${where}.${key}` : key);
    if (resolved !== NO_VALUE) out[key] = resolved;
  }
  return out;
}
