import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
} from '@aws-sdk/client-sagemaker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../src/aws/clients';
import { errorName } from '../../src/aws/errors';
import { stackNames } from '../../src/aws/stack-names';
import type { ContextFactory } from '../../src/cli/context';
import { CREDENTIALS, ONNX_IMAGE, ROLE, startStack, uploadIris, waitForEndpoint, type TestStack } from '../local/sagemaker/support';
import { run, stubRegistry } from './fakes';
import { runBin } from './run-bin';

// Instances take 3 real seconds to provision (3000 AWS seconds at this time scale): long enough to catch an
// endpoint while it is Creating on a busy machine, short enough for a test.
const PROVISIONING_SECONDS = 3000;

let stack: TestStack;
let factory: ContextFactory;

beforeAll(async () => {
  stack = await startStack({ provisioningSeconds: PROVISIONING_SECONDS });
  const urls = await uploadIris(stack, 'delete');
  for (const name of ['scaler', 'classifier', 'spare']) {
    await stack.sagemaker.send(
      new CreateModelCommand({
        ModelName: name,
        ExecutionRoleArn: ROLE,
        PrimaryContainer: { Image: ONNX_IMAGE, ModelDataUrl: name === 'scaler' ? urls.scaler : urls.classifier },
      }),
    );
  }
  // The CLI's own clients, built by src/aws/clients.ts, pointed at the emulator's server.
  factory = (options) => {
    const clients = createClients({ endpoint: stack.server.url, credentials: CREDENTIALS, region: 'us-east-1', maxAttempts: 1 });
    const { bucket: _bucket, ...names } = stackNames({ env: {}, ...(options.stage ? { stage: options.stage } : {}) });
    return { clients, names, registry: stubRegistry({}), bucket: async () => 'unused' };
  };
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

async function deploy(endpoint: string, models: string[]): Promise<void> {
  await stack.sagemaker.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: `${endpoint}-config`,
      ProductionVariants: models.map((model, index) => ({
        VariantName: `v${index}`,
        ModelName: model,
        InitialInstanceCount: 1,
        InstanceType: 'ml.m5.large',
      })),
    }),
  );
  await stack.sagemaker.send(new CreateEndpointCommand({ EndpointName: endpoint, EndpointConfigName: `${endpoint}-config` }));
}

async function exists(check: () => Promise<unknown>): Promise<boolean> {
  try {
    await check();
    return true;
  } catch (error) {
    if (errorName(error) === 'ValidationException') return false;
    throw error;
  }
}

describe('Command: smhost delete (against the SageMaker emulator)', () => {
  it('refuses an endpoint while it is Creating, then deletes it with its config and unshared models once in service', async () => {
    // Prepare
    await deploy('iris-a', ['scaler', 'classifier']);

    // Act
    const whileCreating = await run(['delete', 'endpoint', 'iris-a', '--with-models'], factory);
    await deploy('iris-b', ['classifier']);
    await waitForEndpoint(stack.sagemaker, 'iris-a', ['InService'], 30_000);
    await waitForEndpoint(stack.sagemaker, 'iris-b', ['InService'], 30_000);
    const inUse = await run(['delete', 'model', 'classifier', '--json'], factory);
    const deleted = await run(['delete', 'endpoint', 'iris-a', '--with-models', '--json'], factory);

    // Assess
    expect(whileCreating.code).toBe(1);
    expect(whileCreating.stderr()).toContain('smhost: endpoint "iris-a" is Creating; SageMaker cannot delete it until');
    expect(inUse.code).toBe(1);
    expect(JSON.parse(inUse.stdout()).error).toMatchObject({ name: 'ResourceInUseError', model: 'classifier', endpoints: ['iris-a', 'iris-b'] });
    expect(deleted.stderr()).toBe('');
    expect(deleted.code).toBe(0);
    expect(JSON.parse(deleted.stdout())).toEqual({
      endpoint: { name: 'iris-a', outcome: 'deleted', previousStatus: 'InService' },
      endpointConfig: { name: 'iris-a-config', outcome: 'deleted' },
      models: [
        { name: 'scaler', outcome: 'deleted' },
        { name: 'classifier', outcome: 'kept', reason: 'in use by endpoint iris-b (InService, config iris-b-config)' },
      ],
    });
    expect(await exists(() => stack.sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: 'iris-a-config' })))).toBe(false);
    expect(await exists(() => stack.sagemaker.send(new DescribeModelCommand({ ModelName: 'scaler' })))).toBe(false);
    expect(await exists(() => stack.sagemaker.send(new DescribeModelCommand({ ModelName: 'classifier' })))).toBe(true);
    // Deleting is asynchronous: one Describe sees it either still Deleting or already gone, never anything else.
    const status = await stack.sagemaker
      .send(new DescribeEndpointCommand({ EndpointName: 'iris-a' }))
      .then((endpoint) => endpoint.EndpointStatus, (error: unknown) => errorName(error));
    expect(['Deleting', 'ValidationException']).toContain(status);
  }, 60_000);

  it('deletes a model no endpoint uses, then answers 3 for it and for an endpoint that does not exist', async () => {
    // Act
    const deleted = await run(['delete', 'model', 'spare'], factory);
    const again = await run(['delete', 'model', 'spare'], factory);
    const endpoint = await run(['delete', 'endpoint', 'never-deployed'], factory);

    // Assess
    expect(deleted.code).toBe(0);
    expect(deleted.stdout()).toBe('model:   spare\noutcome: deleted\n');
    expect(await exists(() => stack.sagemaker.send(new DescribeModelCommand({ ModelName: 'spare' })))).toBe(false);
    expect(again.code).toBe(3);
    expect(again.stderr()).toBe('smhost: model "spare" does not exist\n');
    expect(endpoint.code).toBe(3);
    expect(endpoint.stderr()).toBe('smhost: endpoint "never-deployed" does not exist\n');
  });

  it('runs from the bin with AWS_ENDPOINT_URL alone, its exit code the command\'s', async () => {
    // Act
    const result = await runBin(['delete', 'endpoint', 'never-deployed'], {
      env: {
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
        AWS_ENDPOINT_URL: stack.server.url,
      },
    });

    // Assess
    expect(result).toMatchObject({ code: 3, stderr: 'smhost: endpoint "never-deployed" does not exist\n' });
  }, 30_000);
});
