import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  CreateTransformJobCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DeleteModelPackageGroupCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  DescribeModelPackageCommand,
  DescribeModelPackageGroupCommand,
  DescribeTransformJobCommand,
  ListModelPackageGroupsCommand,
  ListModelPackagesCommand,
  ListModelsCommand,
  ListTransformJobsCommand,
  StopTransformJobCommand,
  UpdateModelPackageCommand,
  type CreateModelPackageCommandInput,
} from '@aws-sdk/client-sagemaker';
import { errorName, httpStatus } from '../../../src/aws/errors';
import { ONNX_IMAGE, ROLE, startStack, type TestStack } from './support';

let stack: TestStack;
const container = { Image: ONNX_IMAGE, ModelDataUrl: 's3://models/a/model.tar.gz' };

beforeAll(async () => {
  // No endpoint in this file starts a process: the control plane alone is under test.
  stack = await startStack({ limits: { maxEndpoints: 1, maxInstancesPerVariant: 2 } });
  await stack.sagemaker.send(new CreateModelCommand({ ModelName: 'base', ExecutionRoleArn: ROLE, PrimaryContainer: container }));
});

afterAll(async () => {
  await stack?.stop();
});

async function failure(promise: Promise<unknown>): Promise<{ name?: string; status?: number; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error === undefined) throw new Error('expected the call to fail');
  return { name: errorName(error), status: httpStatus(error), message: (error as Error).message };
}

describe('Function: CreateModel', () => {
  it('stores every field of a pipeline model and returns it from DescribeModel', async () => {
    // Act
    const created = await stack.sagemaker.send(
      new CreateModelCommand({
        ModelName: 'Pipeline-1',
        ExecutionRoleArn: ROLE,
        Containers: [
          { ...container, ContainerHostname: 'pre', Environment: { A: '1' } },
          { Image: ONNX_IMAGE, ModelDataSource: { S3DataSource: { S3Uri: 's3://models/b/', S3DataType: 'S3Prefix', CompressionType: 'None' } } },
        ],
        InferenceExecutionConfig: { Mode: 'Serial' },
        VpcConfig: { SecurityGroupIds: ['sg-1'], Subnets: ['subnet-1'] },
        EnableNetworkIsolation: true,
        Tags: [{ Key: 'team', Value: 'ml' }],
      }),
    );
    const described = await stack.sagemaker.send(new DescribeModelCommand({ ModelName: 'pipeline-1' }));

    // Assess
    expect(created.ModelArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:model/pipeline-1');
    expect(described).toMatchObject({
      ModelName: 'Pipeline-1',
      ExecutionRoleArn: ROLE,
      EnableNetworkIsolation: true,
      InferenceExecutionConfig: { Mode: 'Serial' },
      VpcConfig: { SecurityGroupIds: ['sg-1'], Subnets: ['subnet-1'] },
    });
    expect(described.Containers?.[0]).toMatchObject({ ContainerHostname: 'pre', Environment: { A: '1' }, Mode: 'SingleModel' });
    expect(described.Containers?.[1]?.ModelDataSource?.S3DataSource?.S3DataType).toBe('S3Prefix');
    expect(described.CreationTime).toBeInstanceOf(Date);
  });

  it('refuses bad names, duplicate models and bad container lists with ValidationException', async () => {
    // Act
    const badName = await failure(stack.sagemaker.send(new CreateModelCommand({ ModelName: 'bad_name', PrimaryContainer: container })));
    const duplicate = await failure(stack.sagemaker.send(new CreateModelCommand({ ModelName: 'BASE', PrimaryContainer: container })));
    const both = await failure(stack.sagemaker.send(new CreateModelCommand({ ModelName: 'both', PrimaryContainer: container, Containers: [container] })));
    const tooMany = await failure(stack.sagemaker.send(new CreateModelCommand({ ModelName: 'many', Containers: Array.from({ length: 16 }, () => container) })));
    const direct = await failure(
      stack.sagemaker.send(new CreateModelCommand({ ModelName: 'direct', Containers: [container, container], InferenceExecutionConfig: { Mode: 'Direct' } })),
    );
    const badUrl = await failure(stack.sagemaker.send(new CreateModelCommand({ ModelName: 'url', PrimaryContainer: { Image: ONNX_IMAGE, ModelDataUrl: 'models/a.tar.gz' } })));
    const badRole = await failure(stack.sagemaker.send(new CreateModelCommand({ ModelName: 'role', ExecutionRoleArn: 'role', PrimaryContainer: container })));

    // Assess
    expect(badName).toEqual({
      name: 'ValidationException',
      status: 400,
      message: "1 validation error detected: Value 'bad_name' at 'modelName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
    });
    expect(duplicate.message).toBe('Cannot create already existing model "arn:aws:sagemaker:us-east-1:000000000000:model/base".');
    expect(both.message).toBe('Exactly one of PrimaryContainer and Containers must be specified.');
    expect(tooMany.message).toMatch(/at 'containers' failed to satisfy constraint: Member must have length less than or equal to 15/);
    expect(direct.message).toMatch(/Every container must have a ContainerHostname/);
    expect(badUrl.message).toMatch(/at 'primaryContainer.modelDataUrl' failed to satisfy constraint/);
    expect(badRole.message).toMatch(/at 'executionRoleArn'/);
    for (const e of [duplicate, both, tooMany, direct, badUrl, badRole]) expect(e.name).toBe('ValidationException');
  });

  it('lists with sorting and paging, and deletes', async () => {
    // Act
    const first = await stack.sagemaker.send(new ListModelsCommand({ SortBy: 'Name', SortOrder: 'Ascending', MaxResults: 1 }));
    const second = await stack.sagemaker.send(new ListModelsCommand({ SortBy: 'Name', SortOrder: 'Ascending', MaxResults: 1, NextToken: first.NextToken }));
    await stack.sagemaker.send(new DeleteModelCommand({ ModelName: 'Pipeline-1' }));
    const gone = await failure(stack.sagemaker.send(new DescribeModelCommand({ ModelName: 'Pipeline-1' })));

    // Assess
    expect(first.Models?.map((m) => m.ModelName)).toEqual(['base']);
    expect(second.Models?.map((m) => m.ModelName)).toEqual(['Pipeline-1']);
    expect(gone).toMatchObject({ name: 'ValidationException', message: 'Could not find model "arn:aws:sagemaker:us-east-1:000000000000:model/pipeline-1".' });
  });
});

describe('Function: CreateEndpointConfig', () => {
  it('keeps every production variant field the SDK deploy sets, and DataCaptureConfig and KmsKeyId', async () => {
    // Prepare: every field the SDK's deploy sets, which DescribeEndpointConfig must give back as it was sent.
    const variant = {
      VariantName: 'AllTraffic',
      ModelName: 'base',
      InitialInstanceCount: 2,
      InstanceType: 'ml.m5.xlarge' as const,
      InitialVariantWeight: 0.5,
      VolumeSizeInGB: 30,
      ModelDataDownloadTimeoutInSeconds: 900,
      ContainerStartupHealthCheckTimeoutInSeconds: 300,
    };

    // Act
    await stack.sagemaker.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'full',
        KmsKeyId: 'alias/local',
        DataCaptureConfig: {
          EnableCapture: true,
          InitialSamplingPercentage: 50,
          DestinationS3Uri: 's3://models/capture',
          CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
        },
        ProductionVariants: [variant],
      }),
    );
    const described = await stack.sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: 'full' }));

    // Assess
    expect(described.EndpointConfigArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/full');
    expect(described.KmsKeyId).toBe('alias/local');
    expect(described.DataCaptureConfig?.InitialSamplingPercentage).toBe(50);
    expect(described.ProductionVariants?.[0]).toEqual(variant);
  });

  it('refuses unknown models, out-of-range timeouts, duplicate variants and instance counts over the quota', async () => {
    // Prepare
    const variant = { VariantName: 'v', ModelName: 'base', InitialInstanceCount: 1, InstanceType: 'ml.m5.large' as const };

    // Act
    const noModel = await failure(
      stack.sagemaker.send(new CreateEndpointConfigCommand({ EndpointConfigName: 'x1', ProductionVariants: [{ ...variant, ModelName: 'nope' }] })),
    );
    const timeout = await failure(
      stack.sagemaker.send(new CreateEndpointConfigCommand({ EndpointConfigName: 'x2', ProductionVariants: [{ ...variant, ContainerStartupHealthCheckTimeoutInSeconds: 10 }] })),
    );
    const duplicateVariant = await failure(stack.sagemaker.send(new CreateEndpointConfigCommand({ EndpointConfigName: 'x3', ProductionVariants: [variant, variant] })));
    const quota = await failure(
      stack.sagemaker.send(new CreateEndpointConfigCommand({ EndpointConfigName: 'x4', ProductionVariants: [{ ...variant, InitialInstanceCount: 3 }] })),
    );
    const duplicate = await failure(stack.sagemaker.send(new CreateEndpointConfigCommand({ EndpointConfigName: 'full', ProductionVariants: [variant] })));

    // Assess
    expect(noModel).toMatchObject({ name: 'ValidationException', message: 'Could not find model "arn:aws:sagemaker:us-east-1:000000000000:model/nope".' });
    expect(timeout.message).toMatch(
      /at 'productionVariants.1.member.containerStartupHealthCheckTimeoutInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60/,
    );
    expect(duplicateVariant.message).toBe('VariantName must be unique within an endpoint configuration.');
    expect(quota.name).toBe('ResourceLimitExceeded');
    expect(quota.message).toMatch(/'ml instances per variant' is 2 Instances/);
    expect(duplicate.message).toBe('Cannot create already existing endpoint configuration "arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/full".');
  });
});

describe('Function: CreateEndpoint (control plane)', () => {
  it('refuses a missing configuration, and endpoints over the quota with ResourceLimitExceeded', async () => {
    // Prepare: the model's data does not exist, so this endpoint fails without starting a process.
    await stack.sagemaker.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'one',
        ProductionVariants: [{ VariantName: 'v', ModelName: 'base', InitialInstanceCount: 1, InstanceType: 'ml.m5.large' }],
      }),
    );
    await stack.sagemaker.send(new CreateEndpointCommand({ EndpointName: 'first', EndpointConfigName: 'one' }));

    // Act
    const noConfig = await failure(stack.sagemaker.send(new CreateEndpointCommand({ EndpointName: 'second', EndpointConfigName: 'none' })));
    const quota = await failure(stack.sagemaker.send(new CreateEndpointCommand({ EndpointName: 'second', EndpointConfigName: 'one' })));
    const duplicate = await failure(stack.sagemaker.send(new CreateEndpointCommand({ EndpointName: 'first', EndpointConfigName: 'one' })));
    await stack.sagemaker.send(new DeleteEndpointConfigCommand({ EndpointConfigName: 'one' }));

    // Assess
    expect(noConfig.message).toBe('Could not find endpoint configuration "arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/none".');
    expect(quota).toMatchObject({ name: 'ResourceLimitExceeded', status: 400 });
    expect(duplicate.message).toBe('Cannot create already existing endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/first".');
  });

  it('answers unknown operations and malformed bodies with AWS-style errors', async () => {
    // Act
    const unknown = await fetch(stack.server.url, { method: 'POST', headers: { 'x-amz-target': 'SageMaker.CreateTrainingJob', 'content-type': 'application/x-amz-json-1.1' }, body: '{}' });
    const malformed = await fetch(stack.server.url, { method: 'POST', headers: { 'x-amz-target': 'SageMaker.ListModels', 'content-type': 'application/x-amz-json-1.1' }, body: '{' });

    // Assess
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({ __type: 'UnknownOperationException', message: 'The emulator does not implement SageMaker.CreateTrainingJob' });
    expect(malformed.headers.get('x-amzn-errortype')).toBe('SerializationException');
  });
});

describe('Function: CreateModelPackage', () => {
  it('registers versions in a group with every register() field, approves them, and lists them', async () => {
    // Prepare
    await stack.sagemaker.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: 'iris', ModelPackageGroupDescription: 'Iris models' }));
    const register: CreateModelPackageCommandInput = {
      ModelPackageGroupName: 'iris',
      ModelPackageDescription: 'softmax regression',
      InferenceSpecification: {
        Containers: [{ Image: ONNX_IMAGE, ModelDataUrl: 's3://models/a/model.tar.gz', Environment: { X: '1' } }],
        SupportedContentTypes: ['application/json', 'text/csv'],
        SupportedResponseMIMETypes: ['application/json'],
        SupportedRealtimeInferenceInstanceTypes: ['ml.m5.large' as const],
        SupportedTransformInstanceTypes: ['ml.m5.large' as const],
      },
      ModelMetrics: { ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: 's3://models/metrics.json' } } },
      MetadataProperties: { CommitId: 'abc' },
      CustomerMetadataProperties: { owner: 'ml' },
      Domain: 'MACHINE_LEARNING',
      Task: 'CLASSIFICATION',
      SamplePayloadUrl: 's3://models/sample.tar.gz',
      SkipModelValidation: 'None',
      SourceUri: 's3://models/a/model.tar.gz',
    };

    // Act
    const v1 = await stack.sagemaker.send(new CreateModelPackageCommand(register));
    const v2 = await stack.sagemaker.send(new CreateModelPackageCommand({ ...register, ModelApprovalStatus: 'Approved' }));
    await stack.sagemaker.send(
      new UpdateModelPackageCommand({ ModelPackageArn: v1.ModelPackageArn, ModelApprovalStatus: 'Rejected', ApprovalDescription: 'worse', CustomerMetadataPropertiesToRemove: ['owner'] }),
    );
    const described = await stack.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: v1.ModelPackageArn }));
    const approved = await stack.sagemaker.send(new ListModelPackagesCommand({ ModelPackageGroupName: 'iris', ModelApprovalStatus: 'Approved' }));
    const group = await stack.sagemaker.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: 'iris' }));
    const groups = await stack.sagemaker.send(new ListModelPackageGroupsCommand({}));
    const inUse = await failure(stack.sagemaker.send(new DeleteModelPackageGroupCommand({ ModelPackageGroupName: 'iris' })));

    // Assess
    expect(v1.ModelPackageArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:model-package/iris/1');
    expect(v2.ModelPackageArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:model-package/iris/2');
    expect(described).toMatchObject({
      ModelPackageGroupName: 'iris',
      ModelPackageVersion: 1,
      ModelPackageStatus: 'Completed',
      ModelApprovalStatus: 'Rejected',
      ApprovalDescription: 'worse',
      ModelPackageDescription: 'softmax regression',
      InferenceSpecification: register.InferenceSpecification,
      ModelMetrics: register.ModelMetrics,
      MetadataProperties: { CommitId: 'abc' },
      CustomerMetadataProperties: {},
      Domain: 'MACHINE_LEARNING',
      Task: 'CLASSIFICATION',
      SamplePayloadUrl: 's3://models/sample.tar.gz',
      SkipModelValidation: 'None',
      SourceUri: 's3://models/a/model.tar.gz',
    });
    expect(approved.ModelPackageSummaryList?.map((p) => p.ModelPackageVersion)).toEqual([2]);
    expect(group).toMatchObject({ ModelPackageGroupName: 'iris', ModelPackageGroupStatus: 'Completed', ModelPackageGroupDescription: 'Iris models' });
    expect(groups.ModelPackageGroupSummaryList?.map((g) => g.ModelPackageGroupName)).toEqual(['iris']);
    expect(inUse.name).toBe('ConflictException');
  });

  it('refuses a package in a group that does not exist, and unknown approval statuses', async () => {
    // Act
    const noGroup = await failure(stack.sagemaker.send(new CreateModelPackageCommand({ ModelPackageGroupName: 'none' })));
    const status = await failure(
      stack.sagemaker.send(new CreateModelPackageCommand({ ModelPackageGroupName: 'iris', ModelApprovalStatus: 'Maybe' as 'Approved' })),
    );
    const missing = await failure(stack.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: 'iris/9' })));

    // Assess
    expect(noGroup).toMatchObject({ name: 'ValidationException', message: 'ModelPackageGroup none does not exist.' });
    expect(status.message).toMatch(/at 'modelApprovalStatus' failed to satisfy constraint: Member must satisfy enum value set: \[Approved, Rejected, PendingManualApproval\]/);
    expect(missing.message).toBe('ModelPackage arn:aws:sagemaker:us-east-1:000000000000:model-package/iris/9 does not exist.');
  });
});

describe('Function: CreateTransformJob', () => {
  it('records a job InProgress, lists it, and stops it (Stopping, then Stopped)', async () => {
    // Prepare
    const job = {
      TransformJobName: 'score-1',
      ModelName: 'base',
      TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix' as const, S3Uri: 's3://models/in/' } }, ContentType: 'text/csv', SplitType: 'Line' as const },
      TransformOutput: { S3OutputPath: 's3://models/out/', AssembleWith: 'Line' as const },
      TransformResources: { InstanceType: 'ml.m5.large' as const, InstanceCount: 1 },
      BatchStrategy: 'MultiRecord' as const,
      MaxPayloadInMB: 6,
    };

    // Act
    const created = await stack.sagemaker.send(new CreateTransformJobCommand(job));
    const running = await stack.sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: 'score-1' }));
    const listed = await stack.sagemaker.send(new ListTransformJobsCommand({ StatusEquals: 'InProgress' }));
    await stack.sagemaker.send(new StopTransformJobCommand({ TransformJobName: 'score-1' }));
    const stopping = await stack.sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: 'score-1' }));
    let stopped = stopping;
    while (stopped.TransformJobStatus === 'Stopping') {
      await new Promise((r) => setTimeout(r, 10));
      stopped = await stack.sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: 'score-1' }));
    }
    const duplicate = await failure(stack.sagemaker.send(new CreateTransformJobCommand(job)));
    const noModel = await failure(stack.sagemaker.send(new CreateTransformJobCommand({ ...job, TransformJobName: 'score-2', ModelName: 'nope' })));
    const missing = await failure(stack.sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: 'nope' })));

    // Assess
    expect(created.TransformJobArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:transform-job/score-1');
    expect(running).toMatchObject({ TransformJobStatus: 'InProgress', ModelName: 'base', BatchStrategy: 'MultiRecord', TransformOutput: job.TransformOutput });
    expect(listed.TransformJobSummaries?.map((j) => j.TransformJobName)).toEqual(['score-1']);
    expect(['Stopping', 'Stopped']).toContain(stopping.TransformJobStatus);
    expect(stopped.TransformJobStatus).toBe('Stopped');
    expect(duplicate.name).toBe('ResourceInUse');
    expect(noModel.name).toBe('ResourceNotFound');
    expect(missing).toMatchObject({ name: 'ResourceNotFound', message: 'Could not find requested job with name nope' });
  });
});
