/**
 * An in-memory stand-in for the services the state machines call (SageMaker, S3, DynamoDB, the prepare
 * Lambda), for unit tests that run the real ASL files on `aws-local-stepfunctions`. Every SageMaker,
 * S3 and DynamoDB request is checked against the SDK's service model first, and errors carry the
 * names Step Functions gives (`SageMaker.ValidationException`, `DynamoDB.ConditionalCheckFailedException`).
 *
 * Time is simulated: the k-th DescribeEndpoint after a create or update happens at the k-th running sum
 * of the poll intervals the prepare step computed, and the endpoint settles once that passes
 * `settleAfterSeconds`. The tests check separately that the Wait states really used those intervals.
 */
import { prepareWorkflow, type PrepareEnvironment, type PrepareWorkflowEvent } from '../../src/workflows/prepare-workflow';
import { pollTimes } from '../../src/workflows/endpoint-wait';
import { operationInputSchema, shapeProblems } from './sdk-request-shapes';

export class FakeAwsError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

type Json = Record<string, any>;

/** How an endpoint behaves once created or updated. */
export interface EndpointScript {
  settleAfterSeconds: number;
  /** `InService`: it works; `Failed`/`OutOfService`: it ends so; `RolledBack`: an update goes back to the old config; `Never`: it keeps creating. */
  outcome: 'InService' | 'Failed' | 'OutOfService' | 'UpdateRollbackFailed' | 'RolledBack' | 'Never';
  failureReason?: string;
}

interface FakeEndpoint {
  name: string;
  status: string;
  configName: string;
  /** The config an update moves to, until it is in service. */
  pending?: string;
  failureReason?: string;
  describesSinceChange: number;
  changing: boolean;
}

export class FakeAws {
  readonly models = new Map<string, Json>();
  readonly endpointConfigs = new Map<string, Json>();
  readonly endpoints = new Map<string, FakeEndpoint>();
  readonly modelPackageGroups = new Set<string>();
  readonly modelPackages = new Map<string, Json>();
  readonly transformJobs = new Map<string, Json>();
  readonly s3Objects = new Set<string>();
  readonly dynamoItems = new Map<string, Json>();
  /** Every call in order: `sagemaker:createModel`, ... */
  readonly calls: { action: string; request: Json }[] = [];
  /** Requests that did not match the service model; a test expects none. */
  readonly shapeErrors: string[] = [];
  /** `action` → how many more times it answers with a throttling error. */
  readonly throttle = new Map<string, number>();
  /** `action` → how many more of its calls take effect and then answer InternalFailure: an answer lost on the way back. */
  readonly loseAnswer = new Map<string, number>();
  /** `action` → something another client does just before the next call of it reaches the fake. */
  readonly beforeAction = new Map<string, () => void>();
  /** What a transform job does once started: it completes, fails with a reason, or keeps running. */
  transformScript: { outcome: 'Completed' | 'Failed' | 'InProgress'; failureReason?: string } = { outcome: 'Completed' };
  endpointScript: EndpointScript = { settleAfterSeconds: 600, outcome: 'InService' };
  pollSchedule: number[] = [];

  constructor(readonly env: PrepareEnvironment) {}

  /** Adds an endpoint already in service (an update's starting point), with its config and model. */
  seedEndpoint(name: string, configName: string, modelNames: string[]): void {
    for (const model of modelNames) this.models.set(model, { ModelName: model });
    this.endpointConfigs.set(configName, {
      EndpointConfigName: configName,
      ProductionVariants: modelNames.map((m, i) => ({ VariantName: `v${i}`, ModelName: m })),
    });
    this.endpoints.set(name, { name, status: 'InService', configName, describesSinceChange: 0, changing: false });
  }

  private check(service: string, action: string, request: Json): void {
    this.calls.push({ action: `${service}:${action}`, request });
    const before = this.beforeAction.get(action);
    if (before) {
      this.beforeAction.delete(action);
      before();
    }
    const problems = shapeProblems(request, operationInputSchema(service, action));
    if (problems.length > 0) {
      this.shapeErrors.push(`${service}:${action}: ${problems.join(', ')}`);
      throw new FakeAwsError(`${service === 'sagemaker' ? 'SageMaker' : service}.ValidationException`, problems.join(', '));
    }
    const left = this.throttle.get(action) ?? 0;
    if (left > 0) {
      this.throttle.set(action, left - 1);
      throw new FakeAwsError('SageMaker.ThrottlingException', 'Rate exceeded');
    }
  }

  private notFound(what: string): never {
    throw new FakeAwsError('SageMaker.ValidationException', `Could not find ${what}`);
  }

  /** `arn:aws:states:::lambda:invoke` with the prepare function's payload. */
  invokePrepare(request: Json): Json {
    const prepared = prepareWorkflow(request.Payload as PrepareWorkflowEvent, this.env) as Json;
    if (prepared.wait?.intervals) this.pollSchedule = prepared.wait.intervals as number[];
    return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: prepared };
  }

  sagemaker(action: string, request: Json): Json {
    this.check('sagemaker', action, request);
    const answer = this.perform(action, request);
    this.maybeLoseAnswer(action, 'SageMaker.InternalFailureException', 'We encountered an internal error. Please try again.');
    return answer;
  }

  private maybeLoseAnswer(action: string, name: string, message: string): void {
    const lose = this.loseAnswer.get(action) ?? 0;
    if (lose > 0) {
      this.loseAnswer.set(action, lose - 1);
      throw new FakeAwsError(name, message);
    }
  }

  private perform(action: string, request: Json): Json {
    switch (action) {
      case 'createModel':
        if (this.models.has(request.ModelName)) throw new FakeAwsError('SageMaker.ValidationException', 'Cannot create already existing model');
        this.models.set(request.ModelName, request);
        return { ModelArn: `arn:aws:sagemaker:us-east-1:123456789012:model/${request.ModelName}` };
      case 'createEndpointConfig':
        if (this.endpointConfigs.has(request.EndpointConfigName)) throw new FakeAwsError('SageMaker.ValidationException', 'Cannot create already existing endpoint configuration');
        this.endpointConfigs.set(request.EndpointConfigName, request);
        return { EndpointConfigArn: `arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/${request.EndpointConfigName}` };
      case 'createEndpoint':
        if (this.endpoints.has(request.EndpointName)) throw new FakeAwsError('SageMaker.ValidationException', 'Cannot create already existing endpoint');
        if (!this.endpointConfigs.has(request.EndpointConfigName)) this.notFound(`endpoint configuration ${request.EndpointConfigName}`);
        this.endpoints.set(request.EndpointName, {
          name: request.EndpointName,
          status: 'Creating',
          configName: request.EndpointConfigName,
          describesSinceChange: 0,
          changing: true,
        });
        return { EndpointArn: this.arn(request.EndpointName) };
      case 'updateEndpoint': {
        const endpoint = this.endpoints.get(request.EndpointName) ?? this.notFound(`endpoint ${request.EndpointName}`);
        if (endpoint.status !== 'InService') throw new FakeAwsError('SageMaker.ValidationException', `Cannot update in-progress endpoint`);
        Object.assign(endpoint, { status: 'Updating', pending: request.EndpointConfigName, describesSinceChange: 0, changing: true });
        return { EndpointArn: this.arn(request.EndpointName) };
      }
      case 'describeEndpoint':
        return this.describeEndpoint(request.EndpointName);
      case 'describeModel': {
        const model = this.models.get(request.ModelName) ?? this.notFound(`model ${request.ModelName}`);
        return { ...model, ModelName: request.ModelName, ModelArn: `arn:aws:sagemaker:us-east-1:123456789012:model/${request.ModelName}` };
      }
      case 'describeTransformJob':
        return this.transformJobs.get(request.TransformJobName) ?? this.notFound(`requested job with name ${request.TransformJobName}`);
      case 'describeEndpointConfig': {
        const config = this.endpointConfigs.get(request.EndpointConfigName) ?? this.notFound(`endpoint configuration ${request.EndpointConfigName}`);
        return { EndpointConfigName: request.EndpointConfigName, ProductionVariants: config.ProductionVariants, CreationTime: new Date().toISOString() };
      }
      case 'deleteEndpoint':
        if (!this.endpoints.delete(request.EndpointName)) this.notFound(`endpoint ${request.EndpointName}`);
        return {};
      case 'deleteEndpointConfig':
        if (!this.endpointConfigs.delete(request.EndpointConfigName)) this.notFound(`endpoint configuration ${request.EndpointConfigName}`);
        return {};
      case 'deleteModel':
        if (!this.models.delete(request.ModelName)) this.notFound(`model ${request.ModelName}`);
        return {};
      case 'describeModelPackage': {
        const pkg = this.modelPackages.get(request.ModelPackageName) ?? this.notFound(`model package ${request.ModelPackageName}`);
        return pkg;
      }
      case 'describeModelPackageGroup':
        if (!this.modelPackageGroups.has(request.ModelPackageGroupName)) this.notFound(`model package group ${request.ModelPackageGroupName}`);
        return { ModelPackageGroupName: request.ModelPackageGroupName, ModelPackageGroupArn: `arn:aws:sagemaker:us-east-1:123456789012:model-package-group/${request.ModelPackageGroupName}` };
      case 'createModelPackageGroup':
        if (this.modelPackageGroups.has(request.ModelPackageGroupName)) throw new FakeAwsError('SageMaker.ConflictException', 'group exists');
        this.modelPackageGroups.add(request.ModelPackageGroupName);
        return { ModelPackageGroupArn: `arn:aws:sagemaker:us-east-1:123456789012:model-package-group/${request.ModelPackageGroupName}` };
      case 'createModelPackage': {
        const group = request.ModelPackageGroupName as string | undefined;
        if (group !== undefined && !this.modelPackageGroups.has(group)) this.notFound(`model package group ${group}`);
        const version = [...this.modelPackages.values()].filter((p) => p.ModelPackageGroupName === group).length + 1;
        const arn = group
          ? `arn:aws:sagemaker:us-east-1:123456789012:model-package/${group}/${version}`
          : `arn:aws:sagemaker:us-east-1:123456789012:model-package/${request.ModelPackageName}`;
        this.modelPackages.set(arn, { ...request, ModelPackageArn: arn, ModelApprovalStatus: request.ModelApprovalStatus ?? 'PendingManualApproval' });
        return { ModelPackageArn: arn };
      }
      default:
        throw new Error(`the fake has no SageMaker action ${action}`);
    }
  }

  /**
   * `arn:aws:states:::sagemaker:createTransformJob.sync`: starts the job and answers its description once it
   * completed. Errors are named as the optimized integration names them, SageMaker's own code in the cause;
   * a job that fails raises `States.TaskFailed` with its description as the cause.
   */
  runTransformJob(request: Json): Json {
    const optimized = (code: string, message: string) =>
      new FakeAwsError('SageMaker.AmazonSageMakerException', `${message} (Service: AmazonSageMaker; Status Code: 400; Error Code: ${code}; Request ID: 0; Proxy: null)`);
    try {
      this.check('sagemaker', 'createTransformJob', request);
    } catch (error) {
      const fake = error as FakeAwsError;
      throw optimized(fake.name.replace(/^SageMaker\./, ''), fake.message);
    }
    if (this.transformJobs.has(request.TransformJobName)) {
      throw optimized('ResourceInUse', 'Job name must be unique within an AWS account and region, and a job with this name already exists');
    }
    if (!this.models.has(request.ModelName)) throw optimized('ValidationException', `Could not find model "${request.ModelName}"`);
    const description = this.startTransformJob(request);
    const lose = this.loseAnswer.get('createTransformJob') ?? 0;
    if (lose > 0) {
      this.loseAnswer.set('createTransformJob', lose - 1);
      throw new FakeAwsError(
        'SageMaker.AmazonSageMakerException',
        'We encountered an internal error. Please try again. (Service: AmazonSageMaker; Status Code: 500; Error Code: InternalFailure; Request ID: 0; Proxy: null)',
      );
    }
    if (description.TransformJobStatus === 'Failed') throw new FakeAwsError('States.TaskFailed', JSON.stringify(description));
    if (description.TransformJobStatus !== 'Completed') throw new Error('the fake .sync task cannot wait for a job that keeps running');
    return description;
  }

  private startTransformJob(request: Json): Json {
    const script = this.transformScript;
    const arn = `arn:aws:sagemaker:us-east-1:123456789012:transform-job/${request.TransformJobName}`;
    if (script.outcome !== 'Completed') {
      const description = { ...request, TransformJobArn: arn, TransformJobStatus: script.outcome, ...(script.failureReason !== undefined ? { FailureReason: script.failureReason } : {}) };
      this.transformJobs.set(request.TransformJobName, description);
      return description;
    }
    const input = request.TransformInput.DataSource.S3DataSource.S3Uri as string;
    const output = request.TransformOutput.S3OutputPath as string;
    const inputPrefix = input.replace(/^s3:\/\/[^/]+\//, '');
    const outputPrefix = output.replace(/^s3:\/\/[^/]+\//, '').replace(/\/?$/, '/');
    for (const key of [...this.s3Objects]) {
      if (key.startsWith(inputPrefix)) this.s3Objects.add(`${outputPrefix}${key.slice(inputPrefix.length)}.out`);
    }
    const description = { ...request, TransformJobStatus: 'Completed', TransformJobArn: arn };
    this.transformJobs.set(request.TransformJobName, description);
    return description;
  }

  listObjects(request: Json): Json {
    this.check('s3', 'listObjectsV2', request);
    const keys = [...this.s3Objects].filter((k) => k.startsWith(request.Prefix)).sort();
    return keys.length === 0 ? { IsTruncated: false, KeyCount: 0 } : { IsTruncated: false, KeyCount: keys.length, Contents: keys.map((Key) => ({ Key })) };
  }

  putItem(request: Json): Json {
    this.check('dynamodb', 'putItem', request);
    const key = `${request.TableName}|${request.Item.pk.S}|${request.Item.sk.S}`;
    if (request.ConditionExpression === 'attribute_not_exists(pk)' && this.dynamoItems.has(key)) {
      throw new FakeAwsError('DynamoDB.ConditionalCheckFailedException', 'The conditional request failed');
    }
    this.dynamoItems.set(key, request.Item);
    return {};
  }

  private arn(endpoint: string): string {
    return `arn:aws:sagemaker:us-east-1:123456789012:endpoint/${endpoint.toLowerCase()}`;
  }

  private describeEndpoint(name: string): Json {
    const endpoint = this.endpoints.get(name) ?? this.notFound(`endpoint "${name}"`);
    if (endpoint.changing) {
      endpoint.describesSinceChange += 1;
      const at = pollTimes(this.pollSchedule)[endpoint.describesSinceChange - 1] ?? Number.POSITIVE_INFINITY;
      const script = this.endpointScript;
      if (at >= script.settleAfterSeconds && script.outcome !== 'Never') {
        endpoint.changing = false;
        const pending = endpoint.pending;
        if (script.outcome === 'InService') {
          endpoint.status = 'InService';
          if (pending) endpoint.configName = pending;
        } else if (script.outcome === 'RolledBack') {
          endpoint.status = 'InService';
          endpoint.failureReason = script.failureReason;
        } else {
          endpoint.status = script.outcome;
          if (script.failureReason !== undefined) endpoint.failureReason = script.failureReason;
          if (pending && script.outcome === 'UpdateRollbackFailed') endpoint.configName = pending;
        }
      }
    }
    return {
      EndpointName: name,
      EndpointArn: this.arn(name),
      EndpointConfigName: endpoint.configName,
      EndpointStatus: endpoint.status,
      ...(endpoint.changing && endpoint.pending !== undefined ? { PendingDeploymentSummary: { EndpointConfigName: endpoint.pending } } : {}),
      ...(endpoint.failureReason !== undefined ? { FailureReason: endpoint.failureReason } : {}),
      CreationTime: '2024-05-01T09:30:00Z',
      LastModifiedTime: '2024-05-01T09:40:00Z',
    };
  }
}
