/**
 * Evaluation of CloudFormation intrinsic functions without CloudFormation. Nothing is deployed, so every `Ref`
 * and `Fn::GetAtt` is answered with a value of the shape CloudFormation would return for that resource type
 * (./resource-shapes), built from the resource's own name property when it has one. Two callers: the offline
 * template checks (src/deploy), which check resource schemas and IAM ARN formats against realistic values,
 * and the local stack (src/local/serverless), which reads `serverless.yml` into the resources it creates.
 */
import { TemplateEvaluationError } from './errors';
import { FAKE_UUID, GENERATED_SUFFIX, OPAQUE_SHAPE, RESOURCE_SHAPES, type ResourceFacts, type ResourceShape } from './resource-shapes';
import { type CfnResource, type CfnTemplate, isRecord } from './template';

/** The account, region and parameter values the template is evaluated with, and what differs per caller. */
export interface EvaluationContext {
  accountId: string;
  region: string;
  partition: string;
  stackName: string;
  /** Values for the template's parameters; a parameter not given here takes its `Default`. */
  parameters: Record<string, string>;
  /** Where the template sits in its file, put before every error path (`resources` in serverless.yml). */
  templatePath?: string;
  /** The endpoint URL of a service, such as the base of queue URLs; default `https://<service>.<region>.amazonaws.com`. */
  endpointUrl?: (service: string) => string;
  /** The suffix of a name CloudFormation would generate, in place of its random one; default a fixed sample. */
  generatedNameSuffix?: (logicalId: string) => string;
  /**
   * The shape of resource types ./resource-shapes does not know. Without it their `Ref` is opaque and their
   * attributes are refused, so the offline checks learn every shape they meet.
   */
  unknownTypeShape?: ResourceShape;
}

export const DEFAULT_EVALUATION_CONTEXT: Readonly<Omit<EvaluationContext, 'stackName' | 'parameters'>> = Object.freeze(
  { accountId: '123456789012', region: 'us-east-1', partition: 'aws' },
);

/** What `{ Ref: AWS::NoValue }` evaluates to: the enclosing key or list item is removed. */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

/** A resource with its condition evaluated and its properties resolved. */
export interface ResolvedResource {
  logicalId: string;
  type: string;
  properties: Record<string, unknown>;
}

const FN_KEYS = new Set([
  'Ref',
  'Condition',
  'Fn::GetAtt',
  'Fn::Sub',
  'Fn::Join',
  'Fn::Select',
  'Fn::Split',
  'Fn::If',
  'Fn::Equals',
  'Fn::Not',
  'Fn::And',
  'Fn::Or',
  'Fn::FindInMap',
  'Fn::Base64',
  'Fn::GetAZs',
  'Fn::ImportValue',
  'Fn::Cidr',
  'Fn::ToJsonString',
  'Fn::Length',
  'Fn::Transform',
]);

/**
 * Evaluates intrinsics of one template under one context (fixed parameter values, so every `Fn::If`
 * takes one branch). Build one per parameter variant to cover every branch.
 */
export class TemplateEvaluator {
  private readonly conditionCache = new Map<string, boolean>();
  private readonly nameCache = new Map<string, string>();
  private readonly inProgress = new Set<string>();

  constructor(
    readonly template: CfnTemplate,
    readonly context: EvaluationContext,
  ) {}

  /** `section` prefixed with where the template sits in its file: the error paths of template locations. */
  private at(section: string): string {
    return this.context.templatePath ? `${this.context.templatePath}.${section}` : section;
  }

  /** Whether a named condition of the template holds. */
  condition(name: string, path = this.at(`Conditions.${name}`)): boolean {
    const cached = this.conditionCache.get(name);
    if (cached !== undefined) return cached;
    const definition = this.template.Conditions?.[name];
    if (definition === undefined) throw new TemplateEvaluationError(path, `condition "${name}" is not defined`);
    const key = `condition:${name}`;
    if (this.inProgress.has(key)) throw new TemplateEvaluationError(path, `condition "${name}" refers to itself`);
    this.inProgress.add(key);
    try {
      const value = this.conditionValue(definition, this.at(`Conditions.${name}`));
      this.conditionCache.set(name, value);
      return value;
    } finally {
      this.inProgress.delete(key);
    }
  }

  /** Whether a resource exists under this context (its `Condition`, if any, holds). */
  resourceExists(logicalId: string): boolean {
    const resource = this.template.Resources[logicalId];
    if (resource === undefined) return false;
    return resource.Condition === undefined || this.condition(resource.Condition, this.at(`Resources.${logicalId}.Condition`));
  }

  /** Every resource that exists under this context, with its properties resolved. */
  resources(): { resolved: ResolvedResource[]; errors: TemplateEvaluationError[] } {
    const resolved: ResolvedResource[] = [];
    const errors: TemplateEvaluationError[] = [];
    for (const [logicalId, resource] of Object.entries(this.template.Resources)) {
      try {
        if (!this.resourceExists(logicalId)) continue;
        const properties = this.resolve(resource.Properties ?? {}, this.at(`Resources.${logicalId}.Properties`));
        resolved.push({ logicalId, type: resource.Type, properties: properties as Record<string, unknown> });
      } catch (error) {
        if (!(error instanceof TemplateEvaluationError)) throw error;
        errors.push(error);
      }
    }
    return { resolved, errors };
  }

  /** Resolves every intrinsic inside `value`; returns {@link NO_VALUE} where the value itself is removed. */
  resolve(value: unknown, path: string): unknown {
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      value.forEach((item, index) => {
        const resolved = this.resolve(item, `${path}[${index}]`);
        if (resolved !== NO_VALUE) out.push(resolved);
      });
      return out;
    }
    if (!isRecord(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && FN_KEYS.has(keys[0]!) && keys[0] !== 'Condition') {
      return this.intrinsic(keys[0]!, value[keys[0]!], `${path}.${keys[0]}`);
    }
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      const resolved = this.resolve(value[key], `${path}.${key}`);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  }

  /** What `{ Ref: name }` gives: a parameter's value, a pseudo parameter, or a resource's physical id. */
  ref(name: string, path: string): unknown {
    const { context } = this;
    switch (name) {
      case 'AWS::AccountId':
        return context.accountId;
      case 'AWS::Region':
        return context.region;
      case 'AWS::Partition':
        return context.partition;
      case 'AWS::StackName':
        return context.stackName;
      case 'AWS::StackId':
        return `arn:${context.partition}:cloudformation:${context.region}:${context.accountId}:stack/${context.stackName}/${FAKE_UUID}`;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::NotificationARNs':
        return [];
      case 'AWS::NoValue':
        return NO_VALUE;
    }
    const parameter = this.template.Parameters?.[name];
    if (parameter !== undefined) {
      const raw = context.parameters[name] ?? parameter.Default;
      if (raw === undefined) {
        throw new TemplateEvaluationError(path, `parameter "${name}" has no Default and no value was given`);
      }
      const text = String(raw);
      const type = String(parameter.Type ?? 'String');
      return type === 'CommaDelimitedList' || type.startsWith('List<') ? text.split(',') : text;
    }
    const resource = this.template.Resources[name];
    if (resource === undefined) {
      throw new TemplateEvaluationError(path, `Ref to "${name}", which is no parameter, pseudo parameter or resource`);
    }
    this.assertExists(name, path);
    return this.shapeOf(resource).ref(this.facts(name, resource, path));
  }

  /** The physical name of a resource: its name property's value, else the name CloudFormation would generate. */
  physicalName(logicalId: string, path: string): string {
    const resource = this.template.Resources[logicalId];
    if (resource === undefined) throw new TemplateEvaluationError(path, `"${logicalId}" is no resource of the template`);
    return this.physicalNameOf(logicalId, resource, path);
  }

  /** What `{ "Fn::GetAtt": [logicalId, attribute] }` gives, in the shape CloudFormation documents. */
  getAtt(logicalId: string, attribute: string, path: string): unknown {
    const resource = this.template.Resources[logicalId];
    if (resource === undefined) throw new TemplateEvaluationError(path, `Fn::GetAtt of unknown resource "${logicalId}"`);
    this.assertExists(logicalId, path);
    const attributeValue = this.shapeOf(resource).attributes[attribute];
    if (attributeValue === undefined) {
      throw new TemplateEvaluationError(
        path,
        `no offline value for Fn::GetAtt ${logicalId}.${attribute} (type ${resource.Type}); teach src/cloudformation/resource-shapes.ts its shape`,
      );
    }
    return attributeValue(this.facts(logicalId, resource, path));
  }

  private shapeOf(resource: CfnResource): ResourceShape {
    return RESOURCE_SHAPES[resource.Type] ?? this.context.unknownTypeShape ?? OPAQUE_SHAPE;
  }

  private assertExists(logicalId: string, path: string): void {
    if (!this.resourceExists(logicalId)) {
      throw new TemplateEvaluationError(path, `refers to "${logicalId}", whose condition is false here`);
    }
  }

  private facts(logicalId: string, resource: CfnResource, path: string): ResourceFacts {
    const { context } = this;
    return {
      logicalId,
      name: this.physicalNameOf(logicalId, resource, path),
      account: context.accountId,
      region: context.region,
      partition: context.partition,
      arnPrefix: (service, global = false) =>
        `arn:${context.partition}:${service}:${global ? '' : context.region}:${context.accountId}:`,
      endpointUrl: (service) => context.endpointUrl?.(service) ?? `https://${service}.${context.region}.amazonaws.com`,
      prop: (name) => this.resolve(resource.Properties?.[name], this.at(`Resources.${logicalId}.Properties.${name}`)),
    };
  }

  private physicalNameOf(logicalId: string, resource: CfnResource, path: string): string {
    const cached = this.nameCache.get(logicalId);
    if (cached !== undefined) return cached;
    const key = `name:${logicalId}`;
    if (this.inProgress.has(key)) throw new TemplateEvaluationError(path, `the name of "${logicalId}" refers to itself`);
    this.inProgress.add(key);
    try {
      const shape = this.shapeOf(resource);
      const declared = shape.nameProperty ? resource.Properties?.[shape.nameProperty] : undefined;
      // AWS::NoValue removes the name property, and CloudFormation then generates a name.
      const resolved = declared === undefined ? NO_VALUE : this.resolve(declared, this.at(`Resources.${logicalId}.Properties.${shape.nameProperty}`));
      let name: string;
      if (resolved !== NO_VALUE) {
        if (typeof resolved !== 'string') {
          throw new TemplateEvaluationError(path, `the name of "${logicalId}" does not resolve to a string`);
        }
        name = resolved;
      } else {
        const suffix = this.context.generatedNameSuffix?.(logicalId) ?? GENERATED_SUFFIX;
        name = `${this.context.stackName}-${logicalId}-${suffix}`;
        if (shape.maxNameLength !== undefined && name.length > shape.maxNameLength) {
          name = `${name.slice(0, shape.maxNameLength - suffix.length - 1)}-${suffix}`;
        }
        if (shape.lowerCase) name = name.toLowerCase();
      }
      this.nameCache.set(logicalId, name);
      return name;
    } finally {
      this.inProgress.delete(key);
    }
  }

  private conditionValue(value: unknown, path: string): boolean {
    if (!isRecord(value) || Object.keys(value).length !== 1) {
      throw new TemplateEvaluationError(path, 'a condition must be a single condition function');
    }
    const [fn] = Object.keys(value) as [string];
    const args = value[fn];
    switch (fn) {
      case 'Condition':
        if (typeof args !== 'string') throw new TemplateEvaluationError(path, 'Condition takes a condition name');
        return this.condition(args, path);
      case 'Fn::Not':
      case 'Fn::And':
      case 'Fn::Or': {
        if (!Array.isArray(args) || args.length === 0 || (fn === 'Fn::Not' && args.length !== 1)) {
          throw new TemplateEvaluationError(path, `${fn} takes a list of conditions`);
        }
        const values = args.map((arg, i) => this.conditionValue(arg, `${path}.${fn}[${i}]`));
        if (fn === 'Fn::Not') return !values[0];
        return fn === 'Fn::And' ? values.every(Boolean) : values.some(Boolean);
      }
      case 'Fn::Equals': {
        if (!Array.isArray(args) || args.length !== 2) {
          throw new TemplateEvaluationError(path, 'Fn::Equals takes exactly two values');
        }
        const [a, b] = args.map((arg, i) => this.resolve(arg, `${path}.Fn::Equals[${i}]`));
        return JSON.stringify(normalizeScalar(a)) === JSON.stringify(normalizeScalar(b));
      }
      default:
        throw new TemplateEvaluationError(path, `${fn} is not a condition function`);
    }
  }

  private intrinsic(fn: string, args: unknown, path: string): unknown {
    switch (fn) {
      case 'Ref':
        if (typeof args !== 'string') throw new TemplateEvaluationError(path, 'Ref takes a name');
        return this.ref(args, path);
      case 'Fn::GetAtt': {
        const [logicalId, ...attribute] = Array.isArray(args)
          ? (args.map((a, i) => (i === 0 ? a : this.resolve(a, path))) as unknown[])
          : typeof args === 'string'
            ? args.split('.')
            : [];
        if (typeof logicalId !== 'string' || attribute.length === 0 || attribute.some((a) => typeof a !== 'string')) {
          throw new TemplateEvaluationError(path, 'Fn::GetAtt takes [logicalId, attribute]');
        }
        return this.getAtt(logicalId, attribute.join('.'), path);
      }
      case 'Fn::Sub':
        return this.sub(args, path);
      case 'Fn::Join': {
        if (!Array.isArray(args) || args.length !== 2 || typeof args[0] !== 'string') {
          throw new TemplateEvaluationError(path, 'Fn::Join takes [delimiter, list]');
        }
        const list = this.resolve(args[1], `${path}[1]`);
        if (!Array.isArray(list)) throw new TemplateEvaluationError(path, 'Fn::Join needs a list to join');
        return list.map((item) => scalarText(item, path)).join(args[0]);
      }
      case 'Fn::Select': {
        if (!Array.isArray(args) || args.length !== 2) throw new TemplateEvaluationError(path, 'Fn::Select takes [index, list]');
        const index = Number(this.resolve(args[0], `${path}[0]`));
        const list = this.resolve(args[1], `${path}[1]`);
        if (!Array.isArray(list) || !Number.isInteger(index) || index < 0 || index >= list.length) {
          throw new TemplateEvaluationError(path, `Fn::Select index ${index} is outside its list`);
        }
        return list[index];
      }
      case 'Fn::Split': {
        if (!Array.isArray(args) || args.length !== 2 || typeof args[0] !== 'string') {
          throw new TemplateEvaluationError(path, 'Fn::Split takes [delimiter, string]');
        }
        return scalarText(this.resolve(args[1], `${path}[1]`), path).split(args[0]);
      }
      case 'Fn::If': {
        if (!Array.isArray(args) || args.length !== 3 || typeof args[0] !== 'string') {
          throw new TemplateEvaluationError(path, 'Fn::If takes [condition, value if true, value if false]');
        }
        return this.condition(args[0], path)
          ? this.resolve(args[1], `${path}[1]`)
          : this.resolve(args[2], `${path}[2]`);
      }
      case 'Fn::FindInMap': {
        if (!Array.isArray(args) || args.length < 3) throw new TemplateEvaluationError(path, 'Fn::FindInMap takes [map, key, key]');
        const [map, top, second] = args.slice(0, 3).map((a, i) => scalarText(this.resolve(a, `${path}[${i}]`), path));
        const found = this.template.Mappings?.[map!]?.[top!]?.[second!];
        if (found === undefined) throw new TemplateEvaluationError(path, `Fn::FindInMap: no ${map}.${top}.${second}`);
        return found;
      }
      case 'Fn::Base64':
        return Buffer.from(scalarText(this.resolve(args, path), path)).toString('base64');
      case 'Fn::GetAZs':
        return ['a', 'b', 'c'].map((zone) => `${this.context.region}${zone}`);
      case 'Fn::ImportValue':
        // Another stack's output: only its shape is known, a string.
        return `imported-${scalarText(this.resolve(args, path), path)}`;
      case 'Fn::ToJsonString':
        return JSON.stringify(this.resolve(args, path));
      case 'Fn::Length': {
        const list = this.resolve(args, path);
        if (!Array.isArray(list)) throw new TemplateEvaluationError(path, 'Fn::Length takes a list');
        return list.length;
      }
      default:
        throw new TemplateEvaluationError(path, `${fn} cannot be evaluated offline`);
    }
  }

  private sub(args: unknown, path: string): string {
    let text: unknown = args;
    let variables: Record<string, unknown> = {};
    if (Array.isArray(args)) {
      if (args.length !== 2 || !isRecord(args[1])) throw new TemplateEvaluationError(path, 'Fn::Sub takes a string or [string, variables]');
      text = args[0];
      variables = args[1];
    }
    if (typeof text !== 'string') throw new TemplateEvaluationError(path, 'Fn::Sub needs a string');
    return text.replace(/\$\{([^}]*)\}/g, (whole, inner: string) => {
      // `${!Literal}` is CloudFormation's escape for a literal `${Literal}`.
      if (inner.startsWith('!')) return `\${${inner.slice(1)}}`;
      const name = inner.trim();
      if (Object.hasOwn(variables, name)) {
        return scalarText(this.resolve(variables[name], `${path}.${name}`), path);
      }
      if (name.includes('.') && !name.startsWith('AWS::')) {
        const [logicalId, ...attribute] = name.split('.');
        return scalarText(this.getAtt(logicalId!, attribute.join('.'), path), path);
      }
      if (name === '') throw new TemplateEvaluationError(path, `Fn::Sub has an empty variable in "${whole}"`);
      return scalarText(this.ref(name, path), path);
    });
  }
}

function normalizeScalar(value: unknown): unknown {
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
}

function scalarText(value: unknown, path: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new TemplateEvaluationError(path, `expected a string, got ${value === NO_VALUE ? 'AWS::NoValue' : JSON.stringify(value)}`);
}
