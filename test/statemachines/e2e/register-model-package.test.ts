/**
 * register-model-package executed from its real file against the SageMaker emulator (every field of
 * `PipelineModel.register()`, the group created when missing), then deploy-pipeline-model deploying what it
 * registered, from the approved package: the Model Registry as the hand-over between CI steps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DescribeModelCommand,
  DescribeModelPackageCommand,
  DescribeModelPackageGroupCommand,
  ListModelPackageGroupsCommand,
  ListModelPackagesCommand,
} from '@aws-sdk/client-sagemaker';
import { irisModels, ONNX_IMAGE, uploadIris } from '../../local/sagemaker/support';
import { invokeLabels, irisLabels, resourcesNamed, retriedErrors, startE2eStack, statesEntered, type E2eStack } from './support';

const BUCKET_URI = 's3://smhost-dev-artifacts-000000000000';
/** SageMaker's answer to a request it failed on its side; here it replaces an answer lost after the call took effect. */
const INTERNAL_FAILURE = { code: 'InternalFailure', status: 500, message: 'We encountered an internal error. Please try again.' };
let stack: E2eStack;
let urls: Awaited<ReturnType<typeof uploadIris>>;

beforeAll(async () => {
  stack = await startE2eStack({ timeScale: 0.002 });
  urls = await uploadIris(stack.sagemaker, 'registry');
});

afterAll(async () => {
  await stack?.close();
});

const metrics = (name: string) => ({ contentType: 'application/json', s3Uri: `${BUCKET_URI}/metrics/${name}.json` });

/** Every field register() takes, for the three Iris containers. */
function fullRegistration(group: string) {
  return {
    modelPackageGroupName: group,
    modelPackageGroupDescription: 'Iris pipelines registered by CI',
    containers: [
      { image: ONNX_IMAGE, modelDataUrl: urls.scaler, containerHostname: 'scaler', environment: { SMHOST_STAGE: 'scale' } },
      { image: ONNX_IMAGE, modelDataUrl: urls.classifier, containerHostname: 'classifier', framework: 'ONNX', frameworkVersion: '1.17' },
      { image: ONNX_IMAGE, modelDataUrl: urls.decoder, containerHostname: 'decoder', nearestModelName: 'label-encoder' },
    ],
    contentTypes: ['application/json', 'text/csv'],
    responseTypes: ['application/json'],
    inferenceInstances: ['ml.m5.large', 'ml.c5.xlarge'],
    transformInstances: ['ml.m5.large'],
    approvalStatus: 'Approved',
    description: 'Scaler, softmax classifier and label decoder',
    modelMetrics: {
      modelQuality: { statistics: metrics('quality-statistics'), constraints: metrics('quality-constraints') },
      modelDataQuality: { statistics: metrics('data-statistics'), constraints: metrics('data-constraints') },
      bias: { report: metrics('bias'), preTrainingReport: metrics('bias-pre'), postTrainingReport: metrics('bias-post') },
      explainability: { report: metrics('explainability') },
    },
    driftCheckBaselines: {
      bias: { configFile: { s3Uri: `${BUCKET_URI}/drift/bias.json`, contentType: 'application/json' }, preTrainingConstraints: metrics('drift-pre'), postTrainingConstraints: metrics('drift-post') },
      explainability: { constraints: metrics('drift-explainability'), configFile: { s3Uri: `${BUCKET_URI}/drift/shap.json` } },
      modelQuality: { statistics: metrics('drift-quality-statistics'), constraints: metrics('drift-quality-constraints') },
      modelDataQuality: { statistics: metrics('drift-data-statistics'), constraints: metrics('drift-data-constraints') },
    },
    metadataProperties: { commitId: 'abc123', repository: 'git@example.org:ml/iris.git', generatedBy: 'ci', projectId: 'iris' },
    customerMetadataProperties: { owner: 'ml-team' },
    marketplaceCert: false,
    domain: 'MACHINE_LEARNING',
    task: 'CLASSIFICATION',
    samplePayloadUrl: `${BUCKET_URI}/samples/payload.tar.gz`,
    skipModelValidation: 'None',
    framework: 'ONNX',
    frameworkVersion: '1.16',
    dataInputConfiguration: '{"input":[1,4]}',
    tags: { team: 'ml' },
  };
}

/** The parameters a task state was scheduled with, parsed (the last time it ran). */
function scheduledParameters(run: { history: { type?: string; taskScheduledEventDetails?: { resource?: string; parameters?: string } }[] }, resource: string) {
  const event = run.history.filter((e) => e.type === 'TaskScheduled' && e.taskScheduledEventDetails?.resource === resource).at(-1);
  return JSON.parse(event!.taskScheduledEventDetails!.parameters!) as Record<string, any>;
}

describe('State machine: register-model-package (real file, SageMaker emulator)', () => {
  let packageArn: string;

  it('creates the missing group and registers every register() field, which DescribeModelPackage echoes, retrying throttled calls', async () => {
    // Prepare
    stack.proxy.inject('DescribeModelPackageGroup', 1);
    stack.proxy.inject('CreateModelPackage', 2);
    const input = fullRegistration('iris-e2e');

    // Act
    const run = await stack.execute('register-model-package', input);

    // Assess
    expect(run.description.status, run.description.cause).toBe('SUCCEEDED');
    packageArn = run.output!.modelPackageArn;
    expect(packageArn).toBe('arn:aws:sagemaker:us-east-1:000000000000:model-package/iris-e2e/1');
    expect(statesEntered(run.history)).toEqual(['Prepare', 'ChoosePackageKind', 'FindModelPackageGroup', 'CreateModelPackageGroup', 'CreateModelPackage', 'ModelPackageRegistered']);
    expect(retriedErrors(run.history)).toEqual([
      { state: 'FindModelPackageGroup', error: 'SageMaker.ThrottlingException' },
      { state: 'CreateModelPackage', error: 'SageMaker.ThrottlingException' },
      { state: 'CreateModelPackage', error: 'SageMaker.ThrottlingException' },
    ]);
    const group = await stack.sagemaker.sagemaker.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: 'iris-e2e' }));
    expect(group.ModelPackageGroupDescription).toBe('Iris pipelines registered by CI');
    const described = await stack.sagemaker.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: packageArn }));
    // Tags and the idempotency token are not part of DescribeModelPackage's answer, on AWS either.
    const { Tags: _tags, ClientToken: token, ...sent } = scheduledParameters(run, 'createModelPackage');
    expect(described).toMatchObject(sent);
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    // The request was not merely echoed: each register() field landed where SageMaker keeps it.
    expect(described).toMatchObject({
      ModelPackageGroupName: 'iris-e2e',
      ModelPackageVersion: 1,
      ModelApprovalStatus: 'Approved',
      ModelPackageDescription: input.description,
      CertifyForMarketplace: false,
      CustomerMetadataProperties: { owner: 'ml-team' },
      Domain: 'MACHINE_LEARNING',
      Task: 'CLASSIFICATION',
      SamplePayloadUrl: input.samplePayloadUrl,
      SkipModelValidation: 'None',
      MetadataProperties: { CommitId: 'abc123', Repository: 'git@example.org:ml/iris.git', GeneratedBy: 'ci', ProjectId: 'iris' },
      InferenceSpecification: {
        SupportedContentTypes: ['application/json', 'text/csv'],
        SupportedResponseMIMETypes: ['application/json'],
        SupportedRealtimeInferenceInstanceTypes: ['ml.m5.large', 'ml.c5.xlarge'],
        SupportedTransformInstanceTypes: ['ml.m5.large'],
      },
      ModelMetrics: {
        ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: `${BUCKET_URI}/metrics/quality-statistics.json` } },
        Bias: { PostTrainingReport: { S3Uri: `${BUCKET_URI}/metrics/bias-post.json` } },
        Explainability: { Report: { S3Uri: `${BUCKET_URI}/metrics/explainability.json` } },
      },
      DriftCheckBaselines: {
        Bias: { ConfigFile: { S3Uri: `${BUCKET_URI}/drift/bias.json`, ContentType: 'application/json' } },
        Explainability: { ConfigFile: { S3Uri: `${BUCKET_URI}/drift/shap.json` } },
        ModelDataQuality: { Constraints: { S3Uri: `${BUCKET_URI}/metrics/drift-data-constraints.json` } },
      },
    });
    const containers = described.InferenceSpecification!.Containers!;
    expect(containers.map((c) => [c.ContainerHostname, c.Image, c.ModelDataUrl])).toEqual([
      ['scaler', ONNX_IMAGE, urls.scaler],
      ['classifier', ONNX_IMAGE, urls.classifier],
      ['decoder', ONNX_IMAGE, urls.decoder],
    ]);
    expect(containers[0]!.Environment).toEqual({ SMHOST_STAGE: 'scale' });
    expect(containers.map((c) => [c.Framework, c.FrameworkVersion, c.NearestModelName])).toEqual([
      ['ONNX', '1.16', undefined],
      ['ONNX', '1.17', undefined],
      ['ONNX', '1.16', 'label-encoder'],
    ]);
    expect(containers.every((c) => c.ModelInput?.DataInputConfig === '{"input":[1,4]}')).toBe(true);
  });

  it('adds the next version to a group that exists, pending approval by default, and registers an unversioned package by name', async () => {
    // Prepare
    const { approvalStatus: _approved, modelPackageGroupDescription: _description, ...pending } = fullRegistration('iris-e2e');
    const { modelPackageGroupName: _group, modelPackageGroupDescription: _d, ...unversioned } = fullRegistration('unused');

    // Act
    const second = await stack.execute('register-model-package', pending);
    const named = await stack.execute('register-model-package', { ...unversioned, modelPackageName: 'iris-unversioned' });

    // Assess
    expect(second.description.status, second.description.cause).toBe('SUCCEEDED');
    expect(second.output).toEqual({ modelPackageArn: 'arn:aws:sagemaker:us-east-1:000000000000:model-package/iris-e2e/2' });
    expect(statesEntered(second.history)).not.toContain('CreateModelPackageGroup');
    const version = await stack.sagemaker.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: second.output!.modelPackageArn }));
    expect(version.ModelApprovalStatus).toBe('PendingManualApproval');
    expect(named.description.status, named.description.cause).toBe('SUCCEEDED');
    expect(named.output).toEqual({ modelPackageArn: 'arn:aws:sagemaker:us-east-1:000000000000:model-package/iris-unversioned' });
    expect(statesEntered(named.history)).toEqual(['Prepare', 'ChoosePackageKind', 'CreateModelPackage', 'ModelPackageRegistered']);
    const groups = await stack.sagemaker.sagemaker.send(new ListModelPackageGroupsCommand({}));
    expect(groups.ModelPackageGroupSummaryList?.map((g) => g.ModelPackageGroupName)).toEqual(['iris-e2e']);
  });

  it('registers one version when CreateModelPackage took effect but its answer was lost and the call is retried', async () => {
    // Prepare
    stack.proxy.inject('CreateModelPackage', 1, { lose: true, fault: INTERNAL_FAILURE });
    const { modelPackageGroupDescription: _d, ...input } = fullRegistration('iris-lost-answer');

    // Act
    const run = await stack.execute('register-model-package', input);

    // Assess
    expect(run.description.status, run.description.cause).toBe('SUCCEEDED');
    expect(retriedErrors(run.history)).toEqual([{ state: 'CreateModelPackage', error: 'SageMaker.InternalFailureException' }]);
    expect(stack.proxy.requests.filter((r) => r.operation === 'CreateModelPackage' && r.reachedService)).toHaveLength(1);
    const versions = await stack.sagemaker.sagemaker.send(new ListModelPackagesCommand({ ModelPackageGroupName: 'iris-lost-answer' }));
    expect(versions.ModelPackageSummaryList?.map((p) => p.ModelPackageArn)).toEqual([run.output!.modelPackageArn]);
  });

  it('lets registrations racing into a new group both succeed, and one whose group creation answer was lost', async () => {
    // Prepare
    const { modelPackageGroupDescription: _d, ...racing } = fullRegistration('iris-race');
    const { modelPackageGroupDescription: _e, ...lost } = fullRegistration('iris-lost-group');

    // Act
    const raced = await Promise.all([stack.execute('register-model-package', racing), stack.execute('register-model-package', racing)]);
    stack.proxy.inject('CreateModelPackageGroup', 1, { lose: true, fault: INTERNAL_FAILURE });
    const afterLoss = await stack.execute('register-model-package', lost);

    // Assess
    expect(raced.map((run) => [run.description.status, run.description.cause])).toEqual([
      ['SUCCEEDED', undefined],
      ['SUCCEEDED', undefined],
    ]);
    expect(raced.map((run) => run.output!.modelPackageArn).sort()).toEqual([
      'arn:aws:sagemaker:us-east-1:000000000000:model-package/iris-race/1',
      'arn:aws:sagemaker:us-east-1:000000000000:model-package/iris-race/2',
    ]);
    expect(afterLoss.description.status, afterLoss.description.cause).toBe('SUCCEEDED');
    expect(afterLoss.output).toEqual({ modelPackageArn: 'arn:aws:sagemaker:us-east-1:000000000000:model-package/iris-lost-group/1' });
  });

  it('refuses a bad registration before anything is registered, naming the field', async () => {
    // Prepare
    const before = await stack.sagemaker.sagemaker.send(new ListModelPackagesCommand({ MaxResults: 100 }));
    const calls = stack.proxy.requests.length;

    // Act
    const both = await stack.execute('register-model-package', { ...fullRegistration('iris-e2e'), modelPackageName: 'iris-both' });
    const badMime = await stack.execute('register-model-package', { ...fullRegistration('iris-e2e'), contentTypes: ['csv'] });

    // Assess
    expect(both.description.error).toBe('WorkflowInputError');
    expect(JSON.parse(both.description.cause!).errorMessage).toMatch(/modelPackageName: give either modelPackageGroupName \(a versioned package\) or modelPackageName/);
    expect(badMime.description.error).toBe('WorkflowInputError');
    expect(JSON.parse(badMime.description.cause!).errorMessage).toMatch(/contentTypes\[0\]: must be a MIME type such as text\/csv/);
    expect(stack.proxy.requests.length).toBe(calls);
    const after = await stack.sagemaker.sagemaker.send(new ListModelPackagesCommand({ MaxResults: 100 }));
    expect(after.ModelPackageSummaryList).toEqual(before.ModelPackageSummaryList);
  });

  it('deploys the approved package with deploy-pipeline-model: the endpoint answers what the three graphs give run directly', async () => {
    // Prepare
    const rows = (await irisModels()).rows;
    const expected = await irisLabels(rows);

    // Act
    const run = await stack.execute('deploy-pipeline-model', { endpointName: 'iris-from-package', instanceType: 'ml.m5.large', modelPackageName: packageArn });

    // Assess
    expect(run.description.status, run.description.cause).toBe('SUCCEEDED');
    expect(statesEntered(run.history)).toContain('DescribeModelPackage');
    const model = await stack.sagemaker.sagemaker.send(new DescribeModelCommand({ ModelName: run.output!.modelName }));
    expect(model.Containers?.map((c) => c.ModelPackageName) ?? [model.PrimaryContainer?.ModelPackageName]).toEqual([packageArn]);
    expect(await invokeLabels(stack.sagemaker.runtime, 'iris-from-package', rows)).toEqual(expected);
  });

  it('refuses to deploy a package that is not approved, before creating anything', async () => {
    // Act
    const run = await stack.execute('deploy-pipeline-model', {
      endpointName: 'iris-pending-package',
      instanceType: 'ml.m5.large',
      modelPackageName: 'arn:aws:sagemaker:us-east-1:000000000000:model-package/iris-e2e/2',
    });

    // Assess
    expect(run.description).toMatchObject({
      status: 'FAILED',
      error: 'ModelPackageNotApprovedError',
      cause: 'Model package arn:aws:sagemaker:us-east-1:000000000000:model-package/iris-e2e/2 is PendingManualApproval; only an Approved package is deployed',
    });
    expect(await resourcesNamed(stack.sagemaker.sagemaker, 'iris-pending-package')).toEqual({ models: [], endpointConfigs: [], endpoints: [] });
  });
});
