/**
 * Offline evaluation of CloudFormation intrinsic functions. Nothing is deployed, so every `Ref` and
 * `Fn::GetAtt` is answered with a value of the shape CloudFormation would return for that resource type (an
 * ARN, a queue URL, a name), built from the resource's own name property when it has one. Resource schemas
 * and IAM ARN formats are then checked against realistic values instead of being skipped.
 */
import { TemplateEvaluationError } from './errors';
import { type CfnResource, type CfnTemplate, isRecord } from './template';

/** The account, region and parameter values the template is evaluated with. */
export interface EvaluationContext {
  accountId: string;
  region: string;
  partition: string;
  stackName: string;
  /** Values for the template's parameters; a parameter not given here takes its `Default`. */
  parameters: Record<string, string>;
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

// Stands in for the random suffix CloudFormation appends to the names it generates.
const GENERATED_SUFFIX = 'A1B2C3D4E5F6';

interface ResourceShape {
  /** The property that names the resource, when the template may set it. */
  nameProperty?: string;
  /** Lower-case only (S3 bucket names). */
  lowerCase?: boolean;
  maxNameLength?: number;
  ref: (r: ResourceFacts) => unknown;
  attributes: Record<string, (r: ResourceFacts) => unknown>;
}

interface ResourceFacts {
  logicalId: string;
  name: string;
  arnPrefix: (service: string, global?: boolean) => string;
  account: string;
  region: string;
  partition: string;
  prop: (name: string) => unknown;
}

const FAKE_UUID = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';

/** `FunctionName` of a version or alias: a name, or the ARN a `Ref`/`Fn::GetAtt` of the function gave. */
function functionNameOf(r: ResourceFacts): string {
  const value = r.prop('FunctionName');
  return typeof value === 'string' ? (value.split(':function:')[1] ?? value) : r.logicalId;
}

function queueUrl(r: ResourceFacts): string {
  return `https://sqs.${r.region}.amazonaws.com/${r.account}/${r.name}`;
}

const RESOURCE_SHAPES: Record<string, ResourceShape> = {
  'AWS::S3::Bucket': {
    nameProperty: 'BucketName',
    lowerCase: true,
    maxNameLength: 63,
    ref: (r) => r.name,
    attributes: {
      Arn: (r) => `arn:${r.partition}:s3:::${r.name}`,
      DomainName: (r) => `${r.name}.s3.amazonaws.com`,
      RegionalDomainName: (r) => `${r.name}.s3.${r.region}.amazonaws.com`,
      DualStackDomainName: (r) => `${r.name}.s3.dualstack.${r.region}.amazonaws.com`,
      WebsiteURL: (r) => `http://${r.name}.s3-website-${r.region}.amazonaws.com`,
    },
  },
  'AWS::SQS::Queue': {
    nameProperty: 'QueueName',
    maxNameLength: 80,
    ref: queueUrl,
    attributes: {
      Arn: (r) => `${r.arnPrefix('sqs')}${r.name}`,
      QueueName: (r) => r.name,
      QueueUrl: queueUrl,
    },
  },
  'AWS::DynamoDB::Table': {
    nameProperty: 'TableName',
    maxNameLength: 255,
    ref: (r) => r.name,
    attributes: {
      Arn: (r) => `${r.arnPrefix('dynamodb')}table/${r.name}`,
      StreamArn: (r) => `${r.arnPrefix('dynamodb')}table/${r.name}/stream/2026-01-01T00:00:00.000`,
    },
  },
  'AWS::IAM::Role': {
    nameProperty: 'RoleName',
    maxNameLength: 64,
    ref: (r) => r.name,
    attributes: {
      Arn: (r) => `${r.arnPrefix('iam', true)}role${typeof r.prop('Path') === 'string' ? r.prop('Path') : '/'}${r.name}`,
      RoleId: () => `AROA${GENERATED_SUFFIX}XYZ`,
    },
  },
  'AWS::IAM::ManagedPolicy': {
    nameProperty: 'ManagedPolicyName',
    maxNameLength: 128,
    ref: (r) => `${r.arnPrefix('iam', true)}policy/${r.name}`,
    attributes: { PolicyArn: (r) => `${r.arnPrefix('iam', true)}policy/${r.name}` },
  },
  'AWS::Lambda::Function': {
    nameProperty: 'FunctionName',
    maxNameLength: 64,
    ref: (r) => r.name,
    attributes: { Arn: (r) => `${r.arnPrefix('lambda')}function:${r.name}` },
  },
  'AWS::Lambda::Version': {
    ref: (r) => `${r.arnPrefix('lambda')}function:${functionNameOf(r)}:1`,
    attributes: { Version: () => '1', FunctionArn: (r) => `${r.arnPrefix('lambda')}function:${functionNameOf(r)}` },
  },
  'AWS::Lambda::Alias': {
    nameProperty: 'Name',
    ref: (r) => `${r.arnPrefix('lambda')}function:${functionNameOf(r)}:${r.name}`,
    attributes: { AliasArn: (r) => `${r.arnPrefix('lambda')}function:${functionNameOf(r)}:${r.name}` },
  },
  'AWS::Lambda::EventSourceMapping': {
    ref: () => FAKE_UUID,
    attributes: {
      Id: () => FAKE_UUID,
      EventSourceMappingArn: (r) => `${r.arnPrefix('lambda')}event-source-mapping:${FAKE_UUID}`,
    },
  },
  'AWS::Logs::LogGroup': {
    nameProperty: 'LogGroupName',
    maxNameLength: 512,
    ref: (r) => r.name,
    attributes: { Arn: (r) => `${r.arnPrefix('logs')}log-group:${r.name}:*` },
  },
  'AWS::SNS::Topic': {
    nameProperty: 'TopicName',
    maxNameLength: 256,
    ref: (r) => `${r.arnPrefix('sns')}${r.name}`,
    attributes: { TopicArn: (r) => `${r.arnPrefix('sns')}${r.name}`, TopicName: (r) => r.name },
  },
  'AWS::StepFunctions::StateMachine': {
    nameProperty: 'StateMachineName',
    maxNameLength: 80,
    ref: (r) => `${r.arnPrefix('states')}stateMachine:${r.name}`,
    attributes: { Arn: (r) => `${r.arnPrefix('states')}stateMachine:${r.name}`, Name: (r) => r.name },
  },
  'AWS::KMS::Key': {
    ref: () => FAKE_UUID,
    attributes: { Arn: (r) => `${r.arnPrefix('kms')}key/${FAKE_UUID}`, KeyId: () => FAKE_UUID },
  },
  'AWS::CloudWatch::Alarm': {
    nameProperty: 'AlarmName',
    maxNameLength: 255,
    ref: (r) => r.name,
    attributes: { Arn: (r) => `${r.arnPrefix('cloudwatch')}alarm:${r.name}` },
  },
  'AWS::Events::Rule': {
    nameProperty: 'Name',
    maxNameLength: 64,
    ref: (r) => r.name,
    attributes: { Arn: (r) => `${r.arnPrefix('events')}rule/${r.name}` },
  },
  'AWS::Scheduler::Schedule': {
    nameProperty: 'Name',
    maxNameLength: 64,
    ref: (r) => r.name,
    attributes: { Arn: (r) => `${r.arnPrefix('scheduler')}schedule/default/${r.name}` },
  },
  'AWS::Scheduler::ScheduleGroup': {
    nameProperty: 'Name',
    maxNameLength: 64,
    ref: (r) => r.name,
    attributes: { Arn: (r) => `${r.arnPrefix('scheduler')}schedule-group/${r.name}` },
  },
  'AWS::SageMaker::Model': {
    nameProperty: 'ModelName',
    maxNameLength: 63,
    ref: (r) => `${r.arnPrefix('sagemaker')}model/${r.name.toLowerCase()}`,
    attributes: { ModelName: (r) => r.name },
  },
  'AWS::SageMaker::EndpointConfig': {
    nameProperty: 'EndpointConfigName',
    maxNameLength: 63,
    ref: (r) => `${r.arnPrefix('sagemaker')}endpoint-config/${r.name.toLowerCase()}`,
    attributes: { EndpointConfigName: (r) => r.name },
  },
  'AWS::SageMaker::Endpoint': {
    nameProperty: 'EndpointName',
    maxNameLength: 63,
    ref: (r) => `${r.arnPrefix('sagemaker')}endpoint/${r.name.toLowerCase()}`,
    attributes: { EndpointName: (r) => r.name },
  },
  'AWS::SageMaker::ModelPackageGroup': {
    nameProperty: 'ModelPackageGroupName',
    maxNameLength: 63,
    ref: (r) => `${r.arnPrefix('sagemaker')}model-package-group/${r.name.toLowerCase()}`,
    attributes: { ModelPackageGroupArn: (r) => `${r.arnPrefix('sagemaker')}model-package-group/${r.name.toLowerCase()}` },
  },
};

/** Resource types whose `Ref` is an opaque physical id that nothing in a template can usefully parse. */
function opaqueRef(r: ResourceFacts): string {
  return `${r.logicalId}-${GENERATED_SUFFIX}`;
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

  /** Whether a named condition of the template holds. */
  condition(name: string, path = `Conditions.${name}`): boolean {
    const cached = this.conditionCache.get(name);
    if (cached !== undefined) return cached;
    const definition = this.template.Conditions?.[name];
    if (definition === undefined) throw new TemplateEvaluationError(path, `condition "${name}" is not defined`);
    const key = `condition:${name}`;
    if (this.inProgress.has(key)) throw new TemplateEvaluationError(path, `condition "${name}" refers to itself`);
    this.inProgress.add(key);
    try {
      const value = this.conditionValue(definition, `Conditions.${name}`);
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
    return resource.Condition === undefined || this.condition(resource.Condition, `Resources.${logicalId}.Condition`);
  }

  /** Every resource that exists under this context, with its properties resolved. */
  resources(): { resolved: ResolvedResource[]; errors: TemplateEvaluationError[] } {
    const resolved: ResolvedResource[] = [];
    const errors: TemplateEvaluationError[] = [];
    for (const [logicalId, resource] of Object.entries(this.template.Resources)) {
      try {
        if (!this.resourceExists(logicalId)) continue;
        const properties = this.resolve(resource.Properties ?? {}, `Resources.${logicalId}.Properties`);
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
      return parameter.Type === 'CommaDelimitedList' || parameter.Type.startsWith('List<') ? text.split(',') : text;
    }
    const resource = this.template.Resources[name];
    if (resource === undefined) {
      throw new TemplateEvaluationError(path, `Ref to "${name}", which is no parameter, pseudo parameter or resource`);
    }
    this.assertExists(name, path);
    const shape = RESOURCE_SHAPES[resource.Type];
    return shape ? shape.ref(this.facts(name, resource, shape, path)) : opaqueRef(this.facts(name, resource, undefined, path));
  }

  /** What `{ "Fn::GetAtt": [logicalId, attribute] }` gives, in the shape CloudFormation documents. */
  getAtt(logicalId: string, attribute: string, path: string): unknown {
    const resource = this.template.Resources[logicalId];
    if (resource === undefined) throw new TemplateEvaluationError(path, `Fn::GetAtt of unknown resource "${logicalId}"`);
    this.assertExists(logicalId, path);
    const shape = RESOURCE_SHAPES[resource.Type];
    const attributeValue = shape?.attributes[attribute];
    if (shape === undefined || attributeValue === undefined) {
      throw new TemplateEvaluationError(
        path,
        `no offline value for Fn::GetAtt ${logicalId}.${attribute} (type ${resource.Type}); teach src/deploy/intrinsics.ts its shape`,
      );
    }
    return attributeValue(this.facts(logicalId, resource, shape, path));
  }

  private assertExists(logicalId: string, path: string): void {
    if (!this.resourceExists(logicalId)) {
      throw new TemplateEvaluationError(path, `refers to "${logicalId}", whose condition is false here`);
    }
  }

  private facts(logicalId: string, resource: CfnResource, shape: ResourceShape | undefined, path: string): ResourceFacts {
    const { context } = this;
    return {
      logicalId,
      name: this.physicalName(logicalId, resource, shape, path),
      account: context.accountId,
      region: context.region,
      partition: context.partition,
      arnPrefix: (service, global = false) =>
        `arn:${context.partition}:${service}:${global ? '' : context.region}:${context.accountId}:`,
      prop: (name) => this.resolve(resource.Properties?.[name], `Resources.${logicalId}.Properties.${name}`),
    };
  }

  private physicalName(logicalId: string, resource: CfnResource, shape: ResourceShape | undefined, path: string): string {
    const cached = this.nameCache.get(logicalId);
    if (cached !== undefined) return cached;
    const key = `name:${logicalId}`;
    if (this.inProgress.has(key)) throw new TemplateEvaluationError(path, `the name of "${logicalId}" refers to itself`);
    this.inProgress.add(key);
    try {
      let name: string;
      const declared = shape?.nameProperty ? resource.Properties?.[shape.nameProperty] : undefined;
      if (declared !== undefined) {
        const resolved = this.resolve(declared, `Resources.${logicalId}.Properties.${shape!.nameProperty}`);
        if (typeof resolved !== 'string') {
          throw new TemplateEvaluationError(path, `the name of "${logicalId}" does not resolve to a string`);
        }
        name = resolved;
      } else {
        name = `${this.context.stackName}-${logicalId}-${GENERATED_SUFFIX}`;
        if (shape?.maxNameLength !== undefined && name.length > shape.maxNameLength) {
          name = `${name.slice(0, shape.maxNameLength - GENERATED_SUFFIX.length - 1)}-${GENERATED_SUFFIX}`;
        }
        if (shape?.lowerCase) name = name.toLowerCase();
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
