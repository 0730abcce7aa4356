/**
 * The state machines run from their real files against the SageMaker emulator when an answer is lost: the
 * fault proxy lets a create call take effect and replaces only its answer (a timeout, a dropped connection),
 * so the retry repeats a call that already worked and SageMaker refuses it as a duplicate. Names derived
 * from the execution let the state machine tell its own resource from someone else's: its own is confirmed
 * and the deployment (or job) goes on; a rival's is never touched, and only this execution's resources are
 * removed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  DescribeTransformJobCommand,
  ListTransformJobsCommand,
} from '@aws-sdk/client-sagemaker';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { irisModels, ONNX_IMAGE, ROLE, uploadIris } from '../../local/sagemaker/support';
import { packOnnxModel } from '../../../src/onnx';
import type { InjectedFault } from '../../support/fault-proxy';
import {
  ARTIFACTS_BUCKET,
  invokeLabels,
  irisLabels,
  irisPipelineInput,
  REGISTRY_TABLE,
  resourcesNamed,
  retriedErrors,
  startE2eStack,
  statesEntered,
  type E2eStack,
} from './support';

/** SageMaker's answer to a request it failed on its side; here it replaces an answer lost after the call took effect. */
const INTERNAL_FAILURE: InjectedFault = { code: 'InternalFailure', status: 500, message: 'We encountered an internal error. Please try again.' };

let stack: E2eStack;
let urls: Awaited<ReturnType<typeof uploadIris>>;
let rows: number[][];
let expected: string[];

beforeAll(async () => {
  stack = await startE2eStack({ timeScale: 0.002, dynamo: true });
  urls = await uploadIris(stack.sagemaker, 'lost-answers');
  rows = (await irisModels()).rows;
  expected = await irisLabels(rows);
});

afterAll(async () => {
  await stack?.close();
});

const irisPipeline = (endpointName: string, more: Record<string, unknown> = {}) => irisPipelineInput(urls, endpointName, more);

/** The calls of `operation` the proxy saw since `mark`: `lost` when the call took effect and its answer was replaced. */
function callsOf(operation: string, mark: number): string[] {
  return stack.proxy.requests
    .slice(mark)
    .filter((r) => r.operation === operation)
    .map((r) => (r.reachedService ? 'lost' : r.fault ?? 'answered'));
}

describe('State machine: deploy-pipeline-model (answers lost after the call took effect)', () => {
  it('goes on waiting when the CreateEndpoint answer was lost, since the endpoint being created runs its own config', async () => {
    // Prepare
    stack.proxy.inject('CreateEndpoint', 1, { lose: true, fault: INTERNAL_FAILURE });
    const mark = stack.proxy.requests.length;

    // Act
    const run = await stack.execute('deploy-pipeline-model', irisPipeline('iris-lost-create'));

    // Assess
    expect(run.description.status, run.description.cause).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ endpointName: 'iris-lost-create', endpointStatus: 'InService', operation: 'created' });
    expect(callsOf('CreateEndpoint', mark)).toEqual(['lost', 'answered']);
    expect(retriedErrors(run.history)).toEqual([{ state: 'CreateEndpoint', error: 'SageMaker.InternalFailureException' }]);
    const entered = statesEntered(run.history);
    expect(entered.slice(entered.indexOf('CreateEndpoint'), entered.indexOf('CreateEndpoint') + 4)).toEqual([
      'CreateEndpoint',
      'ConfirmEndpointDeployment',
      'CheckEndpointDeployment',
      'ScheduleNextPoll',
    ]);
    expect(entered).not.toContain('DeleteEndpointConfig');
    const endpoint = await stack.sagemaker.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'iris-lost-create' }));
    expect(endpoint).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: run.output!.endpointConfigName });
    expect(await resourcesNamed(stack.sagemaker.sagemaker, 'iris-lost-create')).toEqual({
      models: [run.output!.modelName],
      endpointConfigs: [run.output!.endpointConfigName],
      endpoints: ['iris-lost-create:InService'],
    });
    expect(await invokeLabels(stack.sagemaker.runtime, 'iris-lost-create', rows)).toEqual(expected);
  });

  it('goes on when the CreateModel and CreateEndpointConfig answers were lost, each confirmed by its derived name', async () => {
    // Prepare
    stack.proxy.inject('CreateModel', 1, { lose: true, fault: INTERNAL_FAILURE });
    stack.proxy.inject('CreateEndpointConfig', 1, { lose: true, fault: INTERNAL_FAILURE });
    const mark = stack.proxy.requests.length;

    // Act
    const run = await stack.execute('deploy-pipeline-model', irisPipeline('iris-lost-model'));

    // Assess
    expect(run.description.status, run.description.cause).toBe('SUCCEEDED');
    expect(callsOf('CreateModel', mark)).toEqual(['lost', 'answered']);
    expect(callsOf('CreateEndpointConfig', mark)).toEqual(['lost', 'answered']);
    expect(statesEntered(run.history).slice(3, 8)).toEqual(['CreateModel', 'ConfirmModel', 'CreateEndpointConfig', 'ConfirmEndpointConfig', 'CreateOrUpdateEndpoint']);
    expect(await resourcesNamed(stack.sagemaker.sagemaker, 'iris-lost-model')).toEqual({
      models: [run.output!.modelName],
      endpointConfigs: [run.output!.endpointConfigName],
      endpoints: ['iris-lost-model:InService'],
    });
    expect(await invokeLabels(stack.sagemaker.runtime, 'iris-lost-model', rows)).toEqual(expected);
  });

  it('goes on waiting when the UpdateEndpoint answer was lost, then removes the replaced config and model', async () => {
    // Prepare: an endpoint in service; the retried update finds it Updating to this execution's config.
    const first = await stack.execute('deploy-pipeline-model', irisPipeline('iris-lost-update'));
    expect(first.description.status, first.description.cause).toBe('SUCCEEDED');
    const before = await resourcesNamed(stack.sagemaker.sagemaker, 'iris-lost-update');
    stack.proxy.inject('UpdateEndpoint', 1, { lose: true, fault: INTERNAL_FAILURE });
    const mark = stack.proxy.requests.length;

    // Act
    const run = await stack.execute('deploy-pipeline-model', irisPipeline('iris-lost-update', { updateEndpoint: true }));

    // Assess
    expect(run.description.status, run.description.cause).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ operation: 'updated', replacedEndpointConfigName: before.endpointConfigs[0], replacedKept: false });
    expect(callsOf('UpdateEndpoint', mark)).toEqual(['lost', 'answered']);
    const confirmed = run.history.filter((e) => e.type === 'TaskSucceeded' && e.taskSucceededEventDetails?.resource === 'describeEndpoint')[1]!;
    expect(JSON.parse(confirmed.taskSucceededEventDetails!.output!)).toMatchObject({
      EndpointStatus: 'Updating',
      EndpointConfigName: before.endpointConfigs[0],
      PendingDeploymentSummary: { EndpointConfigName: run.output!.endpointConfigName },
    });
    expect(statesEntered(run.history)).toContain('CheckEndpointDeployment');
    expect(await resourcesNamed(stack.sagemaker.sagemaker, 'iris-lost-update')).toEqual({
      models: [run.output!.modelName],
      endpointConfigs: [run.output!.endpointConfigName],
      endpoints: ['iris-lost-update:InService'],
    });
    expect(await invokeLabels(stack.sagemaker.runtime, 'iris-lost-update', rows)).toEqual(expected);
  });

  it('after a lost CreateEndpoint answer, still removes a new endpoint that ends Failed, so a rerun succeeds', async () => {
    // Prepare
    const corrupt = await stack.sagemaker.put('lost-answers/corrupt/model.tar.gz', 'this is not a gzip stream');
    const failing = irisPipeline('iris-lost-failed', { containers: [{ image: ONNX_IMAGE, modelDataUrl: urls.scaler }, { image: ONNX_IMAGE, modelDataUrl: corrupt }] });
    stack.proxy.inject('CreateEndpoint', 1, { lose: true, fault: INTERNAL_FAILURE });

    // Act
    const failed = await stack.execute('deploy-pipeline-model', failing);
    const left = await resourcesNamed(stack.sagemaker.sagemaker, 'iris-lost-failed');
    const rerun = await stack.execute('deploy-pipeline-model', irisPipeline('iris-lost-failed'));

    // Assess
    expect(failed.description.status).toBe('FAILED');
    expect(failed.description.error).toBe('EndpointFailedError');
    expect(failed.description.cause).toMatch(/the endpoint is Failed: Failed to extract model data archive/);
    expect(statesEntered(failed.history).slice(-4)).toEqual(['DeleteFailedEndpoint', 'DeleteEndpointConfig', 'DeleteModel', 'DeploymentFailed']);
    expect(left).toEqual({ models: [], endpointConfigs: [], endpoints: [] });
    expect(rerun.description.status, rerun.description.cause).toBe('SUCCEEDED');
    expect(rerun.output).toMatchObject({ operation: 'created', endpointStatus: 'InService' });
  });

  it('fails when a rival created the endpoint after the look-up, removing only its own config and model', async () => {
    // Prepare: the rival's model and config exist; its endpoint appears just before this execution's CreateEndpoint.
    await stack.sagemaker.sagemaker.send(
      new CreateModelCommand({ ModelName: 'iris-rival-model', ExecutionRoleArn: ROLE, Containers: [{ Image: ONNX_IMAGE, ModelDataUrl: urls.scaler }, { Image: ONNX_IMAGE, ModelDataUrl: urls.classifier }] }),
    );
    await stack.sagemaker.sagemaker.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'iris-rival-config',
        ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'iris-rival-model', InstanceType: 'ml.m5.large', InitialInstanceCount: 1 }],
      }),
    );
    stack.proxy.beforeNext('CreateEndpoint', () =>
      stack.sagemaker.sagemaker.send(new CreateEndpointCommand({ EndpointName: 'iris-rival', EndpointConfigName: 'iris-rival-config' })),
    );

    // Act
    const run = await stack.execute('deploy-pipeline-model', irisPipeline('iris-rival'));

    // Assess
    expect(stack.proxy.hookErrors).toEqual([]);
    expect(run.description.status).toBe('FAILED');
    expect(run.description.error).toBe('SageMaker.ValidationException');
    expect(run.description.cause).toMatch(/^Cannot create already existing endpoint/);
    expect(statesEntered(run.history).slice(-5)).toEqual(['ConfirmEndpointDeployment', 'CheckEndpointDeployment', 'DeleteEndpointConfig', 'DeleteModel', 'DeploymentFailed']);
    expect(await resourcesNamed(stack.sagemaker.sagemaker, 'iris-rival')).toEqual({
      models: ['iris-rival-model'],
      endpointConfigs: ['iris-rival-config'],
      endpoints: [expect.stringMatching(/^iris-rival:(Creating|InService)$/)],
    });
    const endpoint = await stack.sagemaker.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'iris-rival' }));
    expect(endpoint.EndpointConfigName).toBe('iris-rival-config');
  });
});

describe('State machine: deploy-multi-model-endpoint (answers lost after the call took effect)', () => {
  it('deploys and records the endpoint when the CreateModel and CreateEndpoint answers were lost', async () => {
    // Prepare
    const models = await irisModels();
    await stack.sagemaker.s3.send(
      new PutObjectCommand({ Bucket: ARTIFACTS_BUCKET, Key: 'models/iris-mme-lost/scaler/0123456789abcdef.tar.gz', Body: Buffer.from(await packOnnxModel(models.scaler)) }),
    );
    stack.proxy.inject('CreateModel', 1, { lose: true, fault: INTERNAL_FAILURE });
    stack.proxy.inject('CreateEndpoint', 1, { lose: true, fault: INTERNAL_FAILURE });
    const mark = stack.proxy.requests.length;

    // Act
    const run = await stack.execute('deploy-multi-model-endpoint', { endpointName: 'iris-mme-lost', image: ONNX_IMAGE, instanceType: 'ml.m5.large' });

    // Assess
    expect(run.description.status, run.description.cause).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ endpointName: 'iris-mme-lost', endpointStatus: 'InService', operation: 'created' });
    expect(callsOf('CreateModel', mark)).toEqual(['lost', 'answered']);
    expect(callsOf('CreateEndpoint', mark)).toEqual(['lost', 'answered']);
    expect(await resourcesNamed(stack.sagemaker.sagemaker, 'iris-mme-lost')).toEqual({
      models: [run.output!.modelName],
      endpointConfigs: [run.output!.endpointConfigName],
      endpoints: ['iris-mme-lost:InService'],
    });
    const item = await stack.dynamo!.dynamo.send(new GetCommand({ TableName: REGISTRY_TABLE, Key: { pk: 'ENDPOINTS', sk: 'iris-mme-lost' } }));
    expect(item.Item).toMatchObject({ kind: 'endpoint', endpoint: 'iris-mme-lost' });
  });
});

describe('State machine: batch-transform (answers lost after the call took effect)', () => {
  let modelName: string;
  const input = (more: Record<string, unknown> = {}) => ({
    modelName,
    data: `s3://${ARTIFACTS_BUCKET}/lost-batch/input/`,
    outputPath: `s3://${ARTIFACTS_BUCKET}/lost-batch/output`,
    instanceType: 'ml.m5.large',
    contentType: 'text/csv',
    splitType: 'Line',
    accept: 'text/csv',
    assembleWith: 'Line',
    ...more,
  });

  beforeAll(async () => {
    modelName = 'iris-lost-batch';
    await stack.sagemaker.sagemaker.send(
      new CreateModelCommand({
        ModelName: modelName,
        ExecutionRoleArn: ROLE,
        Containers: [
          { Image: ONNX_IMAGE, ModelDataUrl: urls.scaler },
          { Image: ONNX_IMAGE, ModelDataUrl: urls.classifier },
          { Image: ONNX_IMAGE, ModelDataUrl: urls.decoder },
        ],
      }),
    );
    await stack.sagemaker.s3.send(
      new PutObjectCommand({ Bucket: ARTIFACTS_BUCKET, Key: 'lost-batch/input/day-1.csv', Body: rows.slice(0, 40).map((r) => r.join(',')).join('\n') + '\n' }),
    );
  });

  it('follows the job its lost CreateTransformJob call started to the end, with the output a .sync run gives', async () => {
    // Prepare
    stack.proxy.inject('CreateTransformJob', 1, { lose: true, fault: INTERNAL_FAILURE });
    const mark = stack.proxy.requests.length;

    // Act
    const run = await stack.execute('batch-transform', input({ scheduledTime: '2024-06-01T00:00:00Z' }));

    // Assess
    expect(run.description.status, run.description.cause).toBe('SUCCEEDED');
    expect(callsOf('CreateTransformJob', mark)).toEqual(['lost', 'answered']);
    expect(statesEntered(run.history).slice(1, 7)).toEqual([
      'RunTransformJob',
      'ClassifyStartFailure',
      'ScheduleStartRetry',
      'WaitBeforeStartRetry',
      'RunTransformJob',
      'ClassifyStartFailure',
    ]);
    expect(statesEntered(run.history)).toContain('DescribeTransformJob');
    const dated = `s3://${ARTIFACTS_BUCKET}/lost-batch/output/2024-06-01T00-00-00Z/`;
    expect(run.output).toMatchObject({
      transformJobName: expect.stringMatching(/^iris-lost-batch-\w{10}$/),
      outputPath: dated,
      outputKeys: ['lost-batch/output/2024-06-01T00-00-00Z/day-1.csv.out'],
      outputKeysTruncated: false,
      transformJob: { TransformJobStatus: 'Completed', ModelName: modelName, TransformOutput: { S3OutputPath: dated, Accept: 'text/csv', AssembleWith: 'Line' } },
    });
    const described = await stack.sagemaker.sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: run.output!.transformJobName }));
    expect(described.TransformJobStatus).toBe('Completed');
    const jobs = await stack.sagemaker.sagemaker.send(new ListTransformJobsCommand({ NameContains: 'iris-lost-batch' }));
    expect(jobs.TransformJobSummaries?.map((j) => j.TransformJobName)).toEqual([run.output!.transformJobName]);
  });

  it('fails at once, without retrying, on an error a retry cannot fix', async () => {
    // Prepare
    const mark = stack.proxy.requests.length;

    // Act
    const run = await stack.execute('batch-transform', input({ modelName: 'iris-no-such-model' }));

    // Assess
    expect(run.description.status).toBe('FAILED');
    expect(run.description.error).toBe('SageMaker.AmazonSageMakerException');
    expect(run.description.cause).toMatch(/^Could not find model .*iris-no-such-model.*Error Code: /);
    expect(callsOf('CreateTransformJob', mark)).toEqual(['answered']);
    expect(retriedErrors(run.history)).toEqual([]);
  });

  it('fails with the job\'s FailureReason when the job it follows after a lost answer fails, as a failed .sync job does', async () => {
    // Prepare: no object under the input prefix fails the job once it runs.
    const empty = input({ data: `s3://${ARTIFACTS_BUCKET}/lost-batch/nothing-here/` });
    stack.proxy.inject('CreateTransformJob', 1, { lose: true, fault: INTERNAL_FAILURE });

    // Act
    const followed = await stack.execute('batch-transform', empty);
    const synced = await stack.execute('batch-transform', empty);

    // Assess
    expect(statesEntered(followed.history)).toContain('ClassifyStartFailure');
    expect(statesEntered(synced.history)).not.toContain('ClassifyStartFailure');
    for (const run of [followed, synced]) {
      expect(statesEntered(run.history).slice(-5)).toEqual(['DescribeTransformJob', 'CheckTransformJobStatus', 'ExplainTransformJobFailure', 'FormatTransformJobFailure', 'TransformFailed']);
      expect(run.description.status).toBe('FAILED');
      expect(run.description.error).toBe('TransformJobFailedError');
      const name = /^Transform job (\S+) ended Failed: /.exec(run.description.cause ?? '')?.[1] ?? 'no job named in the cause';
      const job = await stack.sagemaker.sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: name }));
      expect(job.TransformJobStatus).toBe('Failed');
      expect(run.description.cause).toBe(`Transform job ${name} ended Failed: ${job.FailureReason}`);
    }
  });
});
