import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand, DescribeEndpointCommand } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createClients, type AwsClients } from '../../src/aws/clients';
import { EndpointListingError, fetchEndpointModels } from '../../src/local/sagemaker';
import { startLocalStack, type LocalStack } from '../../src/local/stack';
import { buildBallastLinearModel, packOnnxModel } from '../../src/onnx';
import { eventually, LOCAL_TEST_CREDENTIALS } from '../local/fixture-stack';

const PROJECT_YML = fileURLToPath(new URL('../../serverless.yml', import.meta.url));
const ENDPOINT = 'warm-mme';
const ROLE = 'arn:aws:iam::000000000000:role/SageMakerRole';

let stack: LocalStack;
let clients: AwsClients;

beforeAll(async () => {
  stack = await startLocalStack({ ephemeral: true, port: 0, timeScale: 0.01, serverlessYml: PROJECT_YML });
  clients = createClients({ endpoint: stack.url, region: 'us-east-1', credentials: LOCAL_TEST_CREDENTIALS });
}, 60_000);

afterAll(async () => {
  for (const client of Object.values(clients ?? {})) client.destroy();
  await stack?.close();
});

describe('Function: registration warm-up on the whole local stack', () => {
  it('records a dropped version verified by its warm-up, and the first user call with its TargetModel is a cache hit', async () => {
    // Prepare: a multi-model endpoint over the project's live prefix
    const bucket = stack.names.bucket;
    await clients.sagemaker.send(
      new CreateModelCommand({
        ModelName: `${ENDPOINT}-model`,
        ExecutionRoleArn: ROLE,
        PrimaryContainer: { Image: 'smhost/onnxruntime:1', Mode: 'MultiModel', ModelDataUrl: `s3://${bucket}/models/${ENDPOINT}/` },
      }),
    );
    await clients.sagemaker.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: `${ENDPOINT}-config`,
        ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: `${ENDPOINT}-model`, InitialInstanceCount: 1, InstanceType: 'ml.m5.large' }],
      }),
    );
    await clients.sagemaker.send(new CreateEndpointCommand({ EndpointName: ENDPOINT, EndpointConfigName: `${ENDPOINT}-config` }));
    await eventually(async () => {
      const d = await clients.sagemaker.send(new DescribeEndpointCommand({ EndpointName: ENDPOINT }));
      if (d.EndpointStatus === 'Failed') throw new Error(d.FailureReason);
      return d.EndpointStatus === 'InService' ? d : undefined;
    }, 30_000, 'the endpoint in service');
    const archive = await packOnnxModel(buildBallastLinearModel({ weights: [1, 1, 1], bias: 100, ballastBytes: 0 }));

    // Act: the sample first, then the artifact, as a user drops them
    await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `incoming/${ENDPOINT}/churn.sample.json`, Body: JSON.stringify({ instances: [[1, 2, 3]] }) }));
    await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `incoming/${ENDPOINT}/churn.tar.gz`, Body: archive }));
    const version = await eventually(async () => {
      const items = (await clients.dynamo.send(new ScanCommand({ TableName: stack.names.registryTable }))).Items ?? [];
      const found = items.find((item) => item.kind === 'version' && item.endpoint === ENDPOINT && item.model === 'churn');
      return found && found.status !== 'pending' ? found : undefined;
    }, 30_000, 'the registered version of churn');
    const targetModel = `churn/${String(version.version)}.tar.gz`;
    const warmed = await fetchEndpointModels(stack.url, ENDPOINT, { credentials: LOCAL_TEST_CREDENTIALS });
    const answer = await clients.sagemakerRuntime.send(
      new InvokeEndpointCommand({ EndpointName: ENDPOINT, TargetModel: targetModel, ContentType: 'application/json', Body: Buffer.from(JSON.stringify({ instances: [[2, 3, 4]] })) }),
    );
    const after = await fetchEndpointModels(stack.url, ENDPOINT, { credentials: LOCAL_TEST_CREDENTIALS });

    // Assess
    expect(version.status).toBe('verified');
    expect(warmed.instances[0]!.models.map((m) => m.targetModel)).toEqual([targetModel]);
    expect(warmed.instances[0]!.counters).toMatchObject({ loads: 1, misses: 1, hits: 0 });
    expect(JSON.parse(Buffer.from(answer.Body!).toString())).toEqual({ predictions: [[109]] });
    expect(after.instances[0]!.counters).toMatchObject({ loads: 1, misses: 1, hits: 1 });
  });

  it('refuses the listing of an endpoint that is not in service, through the edge, with the emulator\'s reason', async () => {
    const error = await fetchEndpointModels(stack.url, 'absent', { credentials: LOCAL_TEST_CREDENTIALS }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EndpointListingError);
    expect((error as EndpointListingError).status).toBe(404);
    expect((error as Error).message).toMatch(/Endpoint absent is not in service/);
  });
});
