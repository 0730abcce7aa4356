import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  DeleteEndpointCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  ListEndpointsCommand,
  ListModelsCommand,
  UpdateEndpointCommand,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { errorName, httpStatus } from '../../../src/aws/errors';
import { STATE_FILE_NAME } from '../../../src/local/sagemaker';
import { alive, floatTensor, irisModels, ONNX_IMAGE, ROLE, runDirect, startStack, uploadIris, waitForEndpoint, type TestStack } from './support';

let stack: TestStack;
let urls: Awaited<ReturnType<typeof uploadIris>>;

async function deploy(name: string, variants: { variant: string; model: string; weight?: number }[]) {
  await stack.sagemaker.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: `${name}-config`,
      ProductionVariants: variants.map((v) => ({
        VariantName: v.variant,
        ModelName: v.model,
        InitialInstanceCount: 1,
        InstanceType: 'ml.m5.large',
        InitialVariantWeight: v.weight ?? 1,
        VolumeSizeInGB: 4,
        ModelDataDownloadTimeoutInSeconds: 600,
        ContainerStartupHealthCheckTimeoutInSeconds: 600,
      })),
    }),
  );
  await stack.sagemaker.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: `${name}-config` }));
}

function invoke(endpoint: string, body: unknown, extra: Record<string, string> = {}) {
  return stack.runtime.send(
    new InvokeEndpointCommand({
      EndpointName: endpoint,
      ContentType: 'application/json',
      Body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
      ...extra,
    }),
  );
}

function predictions(body: Uint8Array | undefined): unknown[] {
  return (JSON.parse(Buffer.from(body!).toString('utf8')) as { predictions: unknown[] }).predictions;
}

beforeAll(async () => {
  stack = await startStack();
  urls = await uploadIris(stack);
  for (const [name, url] of [
    ['scaler', urls.scaler],
    ['classifier', urls.classifier],
  ] as const) {
    await stack.sagemaker.send(
      new CreateModelCommand({
        ModelName: name,
        ExecutionRoleArn: ROLE,
        PrimaryContainer: { Image: ONNX_IMAGE, ModelDataUrl: url, Environment: { SMHOST_ONNX_OUTPUT: name === 'classifier' ? 'probabilities' : '' } },
      }),
    );
  }
});

afterAll(async () => {
  await stack?.stop();
});

describe('Function: CreateEndpoint', () => {
  it('moves from Creating to InService and then serves the model as onnxruntime runs it', async () => {
    // Prepare
    const models = await irisModels();
    const rows = models.rows.slice(0, 5);

    // Act
    await deploy('scaler-ep', [{ variant: 'AllTraffic', model: 'scaler' }]);
    const { description, seen } = await waitForEndpoint(stack.sagemaker, 'scaler-ep', ['InService', 'Failed']);
    const response = await invoke('scaler-ep', { instances: rows });

    // Assess
    expect(seen[0]).toBe('Creating');
    expect(description.EndpointStatus).toBe('InService');
    expect(description.ProductionVariants?.[0]).toMatchObject({
      VariantName: 'AllTraffic',
      CurrentInstanceCount: 1,
      CurrentWeight: 1,
      DeployedImages: [{ SpecifiedImage: ONNX_IMAGE }],
    });
    expect(response.ContentType).toBe('application/json');
    expect(response.InvokedProductionVariant).toBe('AllTraffic');
    const expected = await runDirect(models.scaler, floatTensor(rows));
    const got = (predictions(response.Body) as number[][]).flat();
    got.forEach((v, i) => expect(v).toBeCloseTo((expected.data as Float32Array)[i]!, 5));
  });

  it('answers text/csv when asked by Accept, and passes CustomAttributes and InferenceId through', async () => {
    // Act
    const response = await stack.runtime.send(
      new InvokeEndpointCommand({
        EndpointName: 'scaler-ep',
        ContentType: 'text/csv',
        Accept: 'text/csv',
        CustomAttributes: 'trace=abc',
        InferenceId: 'req-1',
        Body: Buffer.from('5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n'),
      }),
    );

    // Assess
    expect(response.ContentType).toBe('text/csv');
    const lines = Buffer.from(response.Body!).toString('utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]!.split(',')).toHaveLength(4);
  });

  it('reports a container error as ModelError 424 with the original status and message', async () => {
    // Act
    const error = await invoke('scaler-ep', { instances: [[1, 2]] }).catch((e: unknown) => e);

    // Assess
    expect(errorName(error)).toBe('ModelError');
    expect(httpStatus(error)).toBe(424);
    expect(error).toMatchObject({ OriginalStatusCode: 400 });
    expect((error as { OriginalMessage: string }).OriginalMessage).toMatch(/model rejected the input/);
    expect((error as Error).message).toMatch(/Received client error \(400\) from primary/);
    expect((error as { LogStreamArn: string }).LogStreamArn).toMatch(/\/aws\/sagemaker\/Endpoints\/scaler-ep$/);
  });

  it('refuses payloads over 6 MB, unknown variants, TargetModel and unknown endpoints with ValidationError', async () => {
    // Act
    const big = await invoke('scaler-ep', 'x'.repeat(6 * 1024 * 1024 + 1)).catch((e: unknown) => e);
    const variant = await invoke('scaler-ep', { instances: [[1, 2, 3, 4]] }, { TargetVariant: 'Nope' }).catch((e: unknown) => e);
    const target = await invoke('scaler-ep', { instances: [[1, 2, 3, 4]] }, { TargetModel: 'm.tar.gz' }).catch((e: unknown) => e);
    const missing = await invoke('no-such-ep', { instances: [[1, 2, 3, 4]] }).catch((e: unknown) => e);
    const direct = await invoke('scaler-ep', { instances: [[1, 2, 3, 4]] }, { TargetContainerHostname: 'primary' }).catch((e: unknown) => e);

    // Assess
    expect(errorName(big)).toBe('ValidationError');
    expect((big as Error).message).toMatch(/6 MB/);
    expect(errorName(variant)).toBe('ValidationError');
    expect((variant as Error).message).toMatch(/variant Nope does not exist/);
    expect(errorName(target)).toBe('ValidationError');
    expect((target as Error).message).toMatch(/only valid for multi-model endpoints/);
    expect(errorName(missing)).toBe('ValidationError');
    expect((missing as Error).message).toBe('Endpoint no-such-ep of account 000000000000 not found.');
    expect(errorName(direct)).toBe('ValidationError');
  });

  it('routes by weight across variants and honours TargetVariant', async () => {
    // Prepare
    await deploy('weighted-ep', [
      { variant: 'Heavy', model: 'classifier', weight: 3 },
      { variant: 'Light', model: 'classifier', weight: 1 },
    ]);
    await waitForEndpoint(stack.sagemaker, 'weighted-ep', ['InService']);
    const body = { instances: [[0, 0, 0, 0]] };

    // Act
    const counts: Record<string, number> = { Heavy: 0, Light: 0 };
    for (let i = 0; i < 80; i++) {
      const r = await invoke('weighted-ep', body);
      counts[r.InvokedProductionVariant!]! += 1;
    }
    const targeted = await invoke('weighted-ep', body, { TargetVariant: 'Light' });

    // Assess
    expect(counts.Heavy! + counts.Light!).toBe(80);
    expect(counts.Heavy!).toBeGreaterThan(counts.Light!);
    expect(counts.Light!).toBeGreaterThan(5);
    expect(targeted.InvokedProductionVariant).toBe('Light');
  });
});

describe('Function: CreateEndpoint (instance replacement)', () => {
  it('replaces a container that dies while in service, answering ServiceUnavailable meanwhile', async () => {
    // Prepare
    const [before] = stack.server.emulator.containers('scaler-ep');
    const exited = new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (!alive(before!.pid)) {
          clearInterval(poll);
          resolve();
        }
      }, 10);
    });

    // Act
    process.kill(before!.pid!, 'SIGKILL');
    await exited;
    const during = await invoke('scaler-ep', { instances: [[5.1, 3.5, 1.4, 0.2]] }).catch((e: unknown) => e);
    const deadline = Date.now() + 20_000;
    while (stack.server.emulator.containers('scaler-ep')[0]!.pid === before!.pid && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const after = stack.server.emulator.containers('scaler-ep')[0]!;
    const served = await invoke('scaler-ep', { instances: [[5.1, 3.5, 1.4, 0.2]] });

    // Assess
    if (!(during instanceof Error && errorName(during) === 'ServiceUnavailable')) {
      // The replacement can win the race and serve already; either way nothing else is acceptable.
      expect((during as { InvokedProductionVariant?: string }).InvokedProductionVariant).toBe('AllTraffic');
    }
    expect(after.pid).not.toBe(before!.pid);
    expect(after.port).not.toBe(before!.port);
    expect(served.InvokedProductionVariant).toBe('AllTraffic');
  });
});

describe('Function: CreateEndpoint (model from the model registry)', () => {
  it('serves a model whose container is a registered model package version', async () => {
    // Prepare
    await stack.sagemaker.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: 'scalers' }));
    const registered = await stack.sagemaker.send(
      new CreateModelPackageCommand({
        ModelPackageGroupName: 'scalers',
        ModelApprovalStatus: 'Approved',
        InferenceSpecification: {
          Containers: [{ Image: ONNX_IMAGE, ModelDataUrl: urls.scaler }],
          SupportedContentTypes: ['application/json'],
          SupportedResponseMIMETypes: ['application/json'],
        },
      }),
    );
    await stack.sagemaker.send(
      new CreateModelCommand({ ModelName: 'from-package', ExecutionRoleArn: ROLE, PrimaryContainer: { ModelPackageName: registered.ModelPackageArn } }),
    );

    // Act
    await deploy('package-ep', [{ variant: 'AllTraffic', model: 'from-package' }]);
    const { description } = await waitForEndpoint(stack.sagemaker, 'package-ep', ['InService', 'Failed']);
    const response = await invoke('package-ep', { instances: [[5.1, 3.5, 1.4, 0.2]] });
    await stack.sagemaker.send(new DeleteEndpointCommand({ EndpointName: 'package-ep' }));

    // Assess
    expect(description.FailureReason).toBeUndefined();
    expect(description.ProductionVariants?.[0]?.DeployedImages?.[0]?.SpecifiedImage).toBe(ONNX_IMAGE);
    expect((predictions(response.Body) as number[][])[0]).toHaveLength(4);
  });
});

describe('Function: UpdateEndpoint', () => {
  it('rolls back a failed update and keeps serving the old configuration, with the reason shown', async () => {
    // Prepare
    await stack.sagemaker.send(
      new CreateModelCommand({ ModelName: 'unmapped', ExecutionRoleArn: ROLE, PrimaryContainer: { Image: 'example.com/unknown:1', ModelDataUrl: urls.scaler } }),
    );
    await stack.sagemaker.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'unmapped-config',
        ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'unmapped', InitialInstanceCount: 1, InstanceType: 'ml.m5.large' }],
      }),
    );

    // Act
    await stack.sagemaker.send(new UpdateEndpointCommand({ EndpointName: 'scaler-ep', EndpointConfigName: 'unmapped-config' }));
    const updating = await stack.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'scaler-ep' }));
    const during = await invoke('scaler-ep', { instances: [[5.1, 3.5, 1.4, 0.2]] });
    await stack.server.emulator.settled('scaler-ep');
    const after = await stack.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'scaler-ep' }));
    const served = await invoke('scaler-ep', { instances: [[5.1, 3.5, 1.4, 0.2]] });

    // Assess
    expect(updating.EndpointStatus).toBe('Updating');
    expect(updating.PendingDeploymentSummary?.EndpointConfigName).toBe('unmapped-config');
    expect(predictions(during.Body)).toHaveLength(1);
    expect(after.EndpointStatus).toBe('InService');
    expect(after.EndpointConfigName).toBe('scaler-ep-config');
    expect(after.FailureReason).toMatch(/Update to endpoint configuration unmapped-config failed and was rolled back: Image example.com\/unknown:1 is not mapped/);
    expect((predictions(served.Body) as number[][])[0]).toHaveLength(4);
  });

  it('switches traffic to a new configuration and stops the old containers', async () => {
    // Prepare
    await stack.sagemaker.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'to-classifier',
        ProductionVariants: [{ VariantName: 'Blue', ModelName: 'classifier', InitialInstanceCount: 1, InstanceType: 'ml.m5.large' }],
      }),
    );
    const oldPids = pidsOf('scaler-ep');

    // Act
    await stack.sagemaker.send(new UpdateEndpointCommand({ EndpointName: 'scaler-ep', EndpointConfigName: 'to-classifier' }));
    const { description } = await waitForEndpoint(stack.sagemaker, 'scaler-ep', ['InService']);
    const response = await invoke('scaler-ep', { instances: [[5.1, 3.5, 1.4, 0.2]] });
    await new Promise((r) => setTimeout(r, 600));

    // Assess
    expect(description.EndpointConfigName).toBe('to-classifier');
    expect(description.FailureReason).toBeUndefined();
    expect(response.InvokedProductionVariant).toBe('Blue');
    const probabilities = (predictions(response.Body) as number[][])[0]!;
    expect(probabilities).toHaveLength(3);
    expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(oldPids.length).toBeGreaterThan(0);
    for (const pid of oldPids) expect(alive(pid)).toBe(false);
  });

  it('refuses to update an endpoint that is not in service', async () => {
    // Prepare
    await stack.sagemaker.send(new CreateEndpointCommand({ EndpointName: 'busy-ep', EndpointConfigName: 'to-classifier' }));

    // Act
    const error = await stack.sagemaker
      .send(new UpdateEndpointCommand({ EndpointName: 'busy-ep', EndpointConfigName: 'to-classifier' }))
      .catch((e: unknown) => e);

    // Assess
    expect(errorName(error)).toBe('ValidationException');
    expect((error as Error).message).toMatch(/^Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint\/busy-ep"\.$/);
    await stack.sagemaker.send(new DeleteEndpointCommand({ EndpointName: 'busy-ep' }));
  });
});

function pidsOf(endpoint: string): number[] {
  return stack.server.emulator.containers(endpoint).map((c) => c.pid!);
}

describe('Function: DeleteEndpoint', () => {
  it('stops the endpoint processes and removes the endpoint', async () => {
    // Prepare
    const before = pidsOf('weighted-ep');

    // Act
    await stack.sagemaker.send(new DeleteEndpointCommand({ EndpointName: 'weighted-ep' }));
    await stack.server.emulator.settled('weighted-ep');
    const error = await stack.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'weighted-ep' })).catch((e: unknown) => e);

    // Assess
    expect(errorName(error)).toBe('ValidationException');
    expect((error as Error).message).toBe('Could not find endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/weighted-ep".');
    expect(before).toHaveLength(2);
    for (const pid of before) expect(alive(pid)).toBe(false);
    expect(pidsOf('weighted-ep')).toEqual([]);
  });
});

describe('Function: createSageMakerEmulator', () => {
  it('keeps models, configs and endpoints across a restart and brings in-service endpoints back up', async () => {
    // Act
    await stack.restart();
    const models = await stack.sagemaker.send(new ListModelsCommand({ SortBy: 'Name', SortOrder: 'Ascending' }));
    const config = await stack.sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: 'to-classifier' }));
    const model = await stack.sagemaker.send(new DescribeModelCommand({ ModelName: 'classifier' }));
    const endpoints = await stack.sagemaker.send(new ListEndpointsCommand({}));
    await stack.server.emulator.settled('scaler-ep');
    const response = await invoke('scaler-ep', { instances: [[5.1, 3.5, 1.4, 0.2]] });

    // Assess
    expect(existsSync(join(stack.dataDir, STATE_FILE_NAME))).toBe(true);
    expect(JSON.parse(readFileSync(join(stack.dataDir, STATE_FILE_NAME), 'utf8')).models.classifier.ModelName).toBe('classifier');
    expect(models.Models?.map((m) => m.ModelName)).toEqual(['classifier', 'from-package', 'scaler', 'unmapped']);
    expect(config.ProductionVariants?.[0]?.VariantName).toBe('Blue');
    expect(model.PrimaryContainer?.Environment).toEqual({ SMHOST_ONNX_OUTPUT: 'probabilities' });
    expect(endpoints.Endpoints?.find((e) => e.EndpointName === 'scaler-ep')?.EndpointStatus).toBe('InService');
    expect(response.InvokedProductionVariant).toBe('Blue');
  });
});
