/**
 * `npm run local` keeps its state in the data dir: after a stop and a start on the same dir, the objects, the
 * registry, the models, the endpoints (their containers started again) and the finished executions are there,
 * the same TargetModel answers the same, and a new drop registers against the endpoint brought back.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeEndpointCommand, DescribeModelCommand } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { DescribeExecutionCommand, StartExecutionCommand, type DescribeExecutionCommandOutput } from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients, type AwsClients } from '../../src/aws/clients';
import { errorName } from '../../src/aws/errors';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { stateMachineArn } from '../../src/local/stepfunctions/arns';
import { buildSoftmaxClassifierModel, packOnnxModel } from '../../src/onnx';
import { buildIrisArchive, firstOutputDirect, type IrisArchive } from './support/iris-reference';

const PROJECT_YML = fileURLToPath(new URL('../../serverless.yml', import.meta.url));
const ENDPOINT = 'restart-mme';
const CREDENTIALS = { accessKeyId: 'restart', secretAccessKey: 'restart' };

/** Polls `check` every 50 ms until it gives a value, or fails naming `what`. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Running {
  stack: LocalStack;
  clients: AwsClients;
  close(): Promise<void>;
}

async function start(dataDir: string): Promise<Running> {
  const stack = await startLocalStack({ dataDir, port: 0, timeScale: 0.01, serverlessYml: PROJECT_YML });
  const clients = createClients({ endpoint: stack.url, region: stack.region, credentials: CREDENTIALS });
  return {
    stack,
    clients,
    async close() {
      for (const client of Object.values(clients)) client.destroy();
      await stack.close();
    },
  };
}

async function currentTargetModel(running: Running, model: string): Promise<string | undefined> {
  const item = await running.clients.dynamo.send(
    new GetCommand({ TableName: running.stack.names.registryTable, Key: { pk: `ENDPOINT#${ENDPOINT}`, sk: `MODEL#${model}` }, ConsistentRead: true }),
  );
  return item.Item?.currentTargetModel as string | undefined;
}

/** Invokes, retrying while the endpoint answers that it is being restored (as a client's retries would). */
async function invoke(running: Running, targetModel: string, rows: number[][]): Promise<number[]> {
  return eventually(`an answer of ${ENDPOINT} for ${targetModel}`, async () => {
    try {
      const answer = await running.clients.sagemakerRuntime.send(
        new InvokeEndpointCommand({ EndpointName: ENDPOINT, TargetModel: targetModel, ContentType: 'application/json', Body: Buffer.from(JSON.stringify({ instances: rows })) }),
      );
      return (JSON.parse(Buffer.from(answer.Body!).toString('utf8')) as { predictions: number[] }).predictions;
    } catch (error) {
      if (errorName(error) === 'ServiceUnavailable') return undefined;
      throw error;
    }
  });
}

describe('Function: startLocalStack restarted on the same data dir', () => {
  let dataDir: string;
  let iris: IrisArchive;
  let running: Running | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'local-restart-'));
    iris = await buildIrisArchive();
  });

  afterAll(async () => {
    await running?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('brings back the endpoint with its container, the registry, the objects and the finished execution', async () => {
    // Prepare: a deployed multi-model endpoint serving a registered drop, then a stop
    running = await start(dataDir);
    const machine = stateMachineArn({ region: running.stack.region, accountId: running.stack.accountId }, 'smhost-dev-deploy-multi-model-endpoint');
    const { executionArn } = await running.clients.sfn.send(
      new StartExecutionCommand({ stateMachineArn: machine, input: JSON.stringify({ endpointName: ENDPOINT, image: 'smhost/onnxruntime:1', instanceType: 'ml.m5.large' }) }),
    );
    const deployed = await eventually('the deployment', async () => {
      const described = await running!.clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
      return described.status === 'RUNNING' ? undefined : described;
    });
    expect(deployed.status, deployed.cause).toBe('SUCCEEDED');
    const bucket = running.stack.names.bucket;
    await running.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `incoming/${ENDPOINT}/iris.tar.gz`, Body: iris.archive }));
    const target = await eventually('the registration of iris', () => currentTargetModel(running!, 'iris'));
    const before = await invoke(running, target, iris.heldOut.rows);
    await running.close();
    running = undefined;

    // Act
    running = await start(dataDir);
    const endpoint = await running.clients.sagemaker.send(new DescribeEndpointCommand({ EndpointName: ENDPOINT }));
    const after = await invoke(running, target, iris.heldOut.rows);

    // Assess
    expect(endpoint.EndpointStatus).toBe('InService');
    expect(after).toEqual(before);
    expect(after).toEqual(await firstOutputDirect(iris.onnx, iris.heldOut.rows));
    expect(await currentTargetModel(running, 'iris')).toBe(target);
    const live = await running.clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `models/${ENDPOINT}/${target}` }));
    expect(live.ContentLength).toBe(iris.archive.length);
    const kept: DescribeExecutionCommandOutput = await running.clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(kept).toMatchObject({ status: 'SUCCEEDED', output: deployed.output });
    const modelName = (JSON.parse(deployed.output!) as { modelName: string }).modelName;
    const model = await running.clients.sagemaker.send(new DescribeModelCommand({ ModelName: modelName }));
    expect(model.PrimaryContainer).toMatchObject({ Mode: 'MultiModel', ModelDataUrl: `s3://${bucket}/models/${ENDPOINT}/` });
  });

  it('registers and warms up a new drop against the endpoint brought back', async () => {
    // Prepare: another model, whose label is always class 2 (zero weights, the largest bias)
    const constant = await packOnnxModel(buildSoftmaxClassifierModel({ weights: [[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]], bias: [0, 0, 1] }));
    const version = createHash('sha256').update(constant).digest('hex').slice(0, 16);

    // Act
    await running!.clients.s3.send(new PutObjectCommand({ Bucket: running!.stack.names.bucket, Key: `incoming/${ENDPOINT}/always-two.sample.json`, Body: JSON.stringify({ instances: [[1, 2, 3, 4]] }) }));
    await running!.clients.s3.send(new PutObjectCommand({ Bucket: running!.stack.names.bucket, Key: `incoming/${ENDPOINT}/always-two.tar.gz`, Body: constant }));
    const target = await eventually('the registration of always-two', () => currentTargetModel(running!, 'always-two'));

    // Assess
    expect(target).toBe(`always-two/${version}.tar.gz`);
    const record = await running!.clients.dynamo.send(
      new GetCommand({ TableName: running!.stack.names.registryTable, Key: { pk: `MODEL#${ENDPOINT}#always-two`, sk: `VERSION#${version}` } }),
    );
    expect(record.Item?.status).toBe('verified');
    expect(await invoke(running!, target, [[5.1, 3.5, 1.4, 0.2]])).toEqual([2]);
  });
});
