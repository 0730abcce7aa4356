/**
 * What `Ref` and `Fn::GetAtt` answer for each resource type, in the shape CloudFormation documents (an ARN, a
 * queue URL, a name), built from the resource's physical name. The evaluator in ./intrinsics supplies the
 * facts; the shapes know nothing of where the template comes from.
 */

/** Stands in for the random suffix CloudFormation appends to the names it generates. */
export const GENERATED_SUFFIX = 'A1B2C3D4E5F6';

/** Stands in for the ids CloudFormation's services generate as UUIDs (event source mappings, KMS keys, stacks). */
export const FAKE_UUID = '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';

/** How one resource type is named and what its `Ref` and attributes answer. */
export interface ResourceShape {
  /** The property that names the resource, when the template may set it. */
  nameProperty?: string;
  /** Lower-case only (S3 bucket names). */
  lowerCase?: boolean;
  maxNameLength?: number;
  ref: (r: ResourceFacts) => unknown;
  attributes: Record<string, (r: ResourceFacts) => unknown>;
}

/** What a shape may build its answers from. */
export interface ResourceFacts {
  logicalId: string;
  /** The physical name: the name property's value, else the name CloudFormation would generate. */
  name: string;
  /** `arn:<partition>:<service>:<region>:<account>:` (no region for global services such as IAM). */
  arnPrefix: (service: string, global?: boolean) => string;
  /** The endpoint URL of a service, without a trailing slash (`https://sqs.<region>.amazonaws.com` on AWS). */
  endpointUrl: (service: string) => string;
  account: string;
  region: string;
  partition: string;
  /** A property of the resource, intrinsics resolved. */
  prop: (name: string) => unknown;
}

/** `FunctionName` of a version or alias: a name, or the ARN a `Ref`/`Fn::GetAtt` of the function gave. */
function functionNameOf(r: ResourceFacts): string {
  const value = r.prop('FunctionName');
  return typeof value === 'string' ? (value.split(':function:')[1] ?? value) : r.logicalId;
}

function queueUrl(r: ResourceFacts): string {
  return `${r.endpointUrl('sqs')}/${r.account}/${r.name}`;
}

/** The shapes of the types templates here refer to; a type missing here gets an opaque `Ref` and no attributes. */
export const RESOURCE_SHAPES: Record<string, ResourceShape> = {
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

/** The shape of types without one: `Ref` is an opaque physical id that nothing in a template can usefully parse. */
export const OPAQUE_SHAPE: ResourceShape = { ref: opaqueRef, attributes: {} };

function opaqueRef(r: ResourceFacts): string {
  return `${r.logicalId}-${GENERATED_SUFFIX}`;
}
