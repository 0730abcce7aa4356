/**
 * deploy-multi-model-endpoint and batch-transform executed from their real files against the SageMaker
 * emulator: a multi-model endpoint over the artifacts bucket's models/<endpoint>/ prefix recorded in the
 * registry table (dynalite), and a scheduled transform of the Iris pipeline writing `.out` objects under the
 * path dated by its scheduled time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateModelCommand, DescribeEndpointCommand, DescribeModelCommand, DescribeTransformJobCommand, ListTransformJobsCommand } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { irisModels, ONNX_IMAGE, ROLE, uploadIris } from '../../local/sagemaker/support';
import { packOnnxModel } from '../../../src/onnx';
import { ARTIFACTS_BUCKET, irisLabels, REGISTRY_TABLE, retriedErrors, startE2eStack, statesEntered, type E2eStack } from './support';

let stack: E2eStack;
let rows: number[][];

beforeAll(async () => {
  stack = await startE2eStack({ timeScale: 0.002, dynamo: true });
  rows = (await irisModels()).rows;
});

afterAll(async () => {
  await stack?.close();
});

async function putArtifact(key: string, body: Uint8Array | string): Promise<void> {
  await stack.sagemaker.s3.send(new PutObjectCommand({ Bucket: ARTIFACTS_BUCKET, Key: key, Body: typeof body === 'string' ? body : Buffer.from(body) }));
}

async function readArtifact(key: string): Promise<string> {
  const object = await stack.sagemaker.s3.send(new GetObjectCommand({ Bucket: ARTIFACTS_BUCKET, Key: key }));
  return object.Body!.transformToString();
}

describe('State machine: deploy-multi-model-endpoint (real file, SageMaker emulator, dynalite registry)', () => {
  it('deploys a multi-model endpoint over models/<endpoint>/ that serves a TargetModel, and records it in the registry', async () => {
    // Prepare
    const models = await irisModels();
    await putArtifact('models/iris-mme/scaler/0123456789abcdef.tar.gz', await packOnnxModel(models.scaler));

    // Act
    const run = await stack.execute('deploy-multi-model-endpoint', { endpointName: 'iris-mme', image: ONNX_IMAGE, instanceType: 'ml.m5.large' }, 'ci-mme-1');

    // Assess
    expect(run.description.status, run.description.cause).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ endpointName: 'iris-mme', endpointStatus: 'InService', operation: 'created' });
    const model = await stack.sagemaker.sagemaker.send(new DescribeModelCommand({ ModelName: run.output!.modelName }));
    expect(model.PrimaryContainer).toMatchObject({ Mode: 'MultiModel', Image: ONNX_IMAGE, ModelDataUrl: `s3://${ARTIFACTS_BUCKET}/models/iris-mme/` });
    const item = await stack.dynamo!.dynamo.send(new GetCommand({ TableName: REGISTRY_TABLE, Key: { pk: 'ENDPOINTS', sk: 'iris-mme' } }));
    // createdAt is $$.Execution.StartTime. The local engine stamps that itself, a tick after the ExecutionStarted
    // event DescribeExecution reports (aws-local-stepfunctions overrides any StartTime given), so allow a few ms.
    expect(item.Item).toEqual({ pk: 'ENDPOINTS', sk: 'iris-mme', kind: 'endpoint', endpoint: 'iris-mme', createdAt: expect.any(String) });
    const recordedLag = Date.parse(item.Item!.createdAt as string) - run.description.startDate!.getTime();
    expect(recordedLag).toBeGreaterThanOrEqual(0);
    expect(recordedLag).toBeLessThan(50);
    const answer = await stack.sagemaker.runtime.send(
      new InvokeEndpointCommand({
        EndpointName: 'iris-mme',
        TargetModel: 'scaler/0123456789abcdef.tar.gz',
        ContentType: 'application/json',
        Body: Buffer.from(JSON.stringify({ instances: rows.slice(0, 2) })),
      }),
    );
    expect((JSON.parse(Buffer.from(answer.Body!).toString('utf8')) as { predictions: number[][] }).predictions).toHaveLength(2);
  });

  it('updates the endpoint in service and keeps the registry item the first deployment wrote', async () => {
    // Prepare
    const before = await stack.dynamo!.dynamo.send(new GetCommand({ TableName: REGISTRY_TABLE, Key: { pk: 'ENDPOINTS', sk: 'iris-mme' } }));

    // Act
    const run = await stack.execute('deploy-multi-model-endpoint', { endpointName: 'iris-mme', image: ONNX_IMAGE, instanceType: 'ml.c5.xlarge' });

    // Assess
    expect(run.description.status, run.description.cause).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ endpointName: 'iris-mme', operation: 'updated', replacedKept: false });
    expect(statesEntered(run.history).slice(-2)).toEqual(['RecordEndpoint', 'EndpointAlreadyRecorded']);
    const after = await stack.dynamo!.dynamo.send(new GetCommand({ TableName: REGISTRY_TABLE, Key: { pk: 'ENDPOINTS', sk: 'iris-mme' } }));
    expect(after.Item).toEqual(before.Item);
    const endpoint = await stack.sagemaker.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'iris-mme' }));
    expect(endpoint).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: run.output!.endpointConfigName });
    const answer = await stack.sagemaker.runtime.send(
      new InvokeEndpointCommand({ EndpointName: 'iris-mme', TargetModel: 'scaler/0123456789abcdef.tar.gz', ContentType: 'application/json', Body: Buffer.from(JSON.stringify({ instances: [rows[0]] })) }),
    );
    expect(answer.$metadata.httpStatusCode).toBe(200);
  });

  it('refuses a bad input before any model, endpoint or registry item exists, naming the field', async () => {
    // Prepare
    const calls = stack.proxy.requests.length;

    // Act
    const run = await stack.execute('deploy-multi-model-endpoint', { endpointName: 'iris-mme-bad', image: ONNX_IMAGE, instanceType: 'ml.m5.large', initialInstanceCount: 0 });

    // Assess
    expect(run.description.error).toBe('WorkflowInputError');
    expect(JSON.parse(run.description.cause!).errorMessage).toBe('deploy-multi-model-endpoint input is invalid: initialInstanceCount: must be at least 1');
    expect(stack.proxy.requests.length).toBe(calls);
    const item = await stack.dynamo!.dynamo.send(new GetCommand({ TableName: REGISTRY_TABLE, Key: { pk: 'ENDPOINTS', sk: 'iris-mme-bad' } }));
    expect(item.Item).toBeUndefined();
  });
});

describe('State machine: batch-transform (real file, SageMaker emulator)', () => {
  it('runs a scheduled transform of the Iris pipeline, writing <input key>.out under the path dated by the scheduled time, through throttling', async () => {
    // Prepare
    const urls = await uploadIris(stack.sagemaker, 'batch-models');
    await stack.sagemaker.sagemaker.send(
      new CreateModelCommand({
        ModelName: 'iris-batch',
        ExecutionRoleArn: ROLE,
        Containers: [
          { Image: ONNX_IMAGE, ModelDataUrl: urls.scaler },
          { Image: ONNX_IMAGE, ModelDataUrl: urls.classifier },
          { Image: ONNX_IMAGE, ModelDataUrl: urls.decoder },
        ],
      }),
    );
    const first = rows.slice(0, 75);
    const second = rows.slice(75);
    await putArtifact('batch/input/day-1.csv', first.map((r) => r.join(',')).join('\n') + '\n');
    await putArtifact('batch/input/late/day-2.csv', second.map((r) => r.join(',')).join('\n') + '\n');
    stack.proxy.inject('CreateTransformJob', 1);
    stack.proxy.inject('DescribeTransformJob', 2);
    const input = {
      modelName: 'iris-batch',
      data: `s3://${ARTIFACTS_BUCKET}/batch/input/`,
      outputPath: `s3://${ARTIFACTS_BUCKET}/batch/output`,
      instanceType: 'ml.m5.large',
      contentType: 'text/csv',
      splitType: 'Line',
      strategy: 'MultiRecord',
      accept: 'text/csv',
      assembleWith: 'Line',
      maxPayload: 1,
      scheduledTime: '2024-05-01T09:30:00Z',
    };

    // Act
    const run = await stack.execute('batch-transform', input);

    // Assess
    expect(run.description.status, run.description.cause).toBe('SUCCEEDED');
    const dated = `s3://${ARTIFACTS_BUCKET}/batch/output/2024-05-01T09-30-00Z/`;
    expect(run.output).toMatchObject({ outputPath: dated, outputKeysTruncated: false });
    expect(run.output!.outputKeys.sort()).toEqual(['batch/output/2024-05-01T09-30-00Z/day-1.csv.out', 'batch/output/2024-05-01T09-30-00Z/late/day-2.csv.out']);
    expect(run.output!.transformJob).toMatchObject({ TransformJobStatus: 'Completed', ModelName: 'iris-batch', TransformOutput: { S3OutputPath: dated, Accept: 'text/csv', AssembleWith: 'Line' } });
    const job = await stack.sagemaker.sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: run.output!.transformJobName }));
    expect(job.TransformJobStatus).toBe('Completed');
    const lines = (text: string) => text.split('\n').filter((line) => line !== '');
    expect(lines(await readArtifact('batch/output/2024-05-01T09-30-00Z/day-1.csv.out'))).toEqual(await irisLabels(first));
    expect(lines(await readArtifact('batch/output/2024-05-01T09-30-00Z/late/day-2.csv.out'))).toEqual(await irisLabels(second));
    // The optimized integration names every SageMaker error SageMaker.AmazonSageMakerException: the file reads
    // the throttling code in the cause and starts the job again after a jittered pause, not through a Retry.
    expect(retriedErrors(run.history)).toEqual([]);
    expect(statesEntered(run.history).slice(0, 6)).toEqual(['Prepare', 'RunTransformJob', 'ClassifyStartFailure', 'ScheduleStartRetry', 'WaitBeforeStartRetry', 'RunTransformJob']);
    expect(stack.proxy.pending()).toEqual({});
    expect(stack.proxy.requests.filter((r) => r.operation === 'DescribeTransformJob' && r.fault === undefined).length).toBeGreaterThanOrEqual(1);
    expect(run.history.map((e) => e.type)).toContain('TaskSubmitted');
  });

  it('refuses a scheduled time that is not a date-time before any job exists', async () => {
    // Prepare
    const before = await stack.sagemaker.sagemaker.send(new ListTransformJobsCommand({}));

    // Act
    const run = await stack.execute('batch-transform', {
      modelName: 'iris-batch',
      data: `s3://${ARTIFACTS_BUCKET}/batch/input/`,
      outputPath: `s3://${ARTIFACTS_BUCKET}/batch/output`,
      instanceType: 'ml.m5.large',
      scheduledTime: 'yesterday',
    });

    // Assess
    expect(run.description.error).toBe('WorkflowInputError');
    expect(JSON.parse(run.description.cause!).errorMessage).toBe('batch-transform input is invalid: scheduledTime: must be an ISO 8601 date-time such as 2024-05-01T09:30:00Z');
    const after = await stack.sagemaker.sagemaker.send(new ListTransformJobsCommand({}));
    expect(after.TransformJobSummaries).toEqual(before.TransformJobSummaries);
  });
});
