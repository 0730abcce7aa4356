import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand, DeleteEndpointCommand, type ProductionVariantInstanceType } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { errorName, httpStatus } from '../../../src/aws/errors';
import type { EndpointModelsListing } from '../../../src/local/sagemaker';
import { buildBallastLinearModel, packModelArchive, packOnnxModel } from '../../../src/onnx';
import { BUCKET, ONNX_IMAGE, ROLE, startStack, uploadIris, waitForEndpoint, type TestStack } from './support';

const MIB = 1024 * 1024;
const BALLAST = 2 * MIB;
const MODELS = 100;
const ROW = [1, 2, 3];

let stack: TestStack;

/** The model `m<i>`: y = x1 + x2 + x3 + i, with 2 MiB of resident ballast. */
function model(i: number): Uint8Array {
  return buildBallastLinearModel({ weights: [1, 1, 1], bias: i, ballastBytes: BALLAST, seed: i + 1 });
}

async function deployMme(name: string, prefix: string, options: { environment?: Record<string, string>; cache?: 'Enabled' | 'Disabled'; instanceType?: ProductionVariantInstanceType } = {}) {
  await stack.sagemaker.send(
    new CreateModelCommand({
      ModelName: `${name}-model`,
      ExecutionRoleArn: ROLE,
      PrimaryContainer: {
        Image: ONNX_IMAGE,
        Mode: 'MultiModel',
        ModelDataUrl: `s3://${BUCKET}/${prefix}`,
        Environment: options.environment,
        ...(options.cache ? { MultiModelConfig: { ModelCacheSetting: options.cache } } : {}),
      },
    }),
  );
  await stack.sagemaker.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: `${name}-config`,
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: `${name}-model`, InitialInstanceCount: 1, InstanceType: options.instanceType ?? 'ml.m5.large' }],
    }),
  );
  await stack.sagemaker.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: `${name}-config` }));
  const { description } = await waitForEndpoint(stack.sagemaker, name, ['InService', 'Failed']);
  expect(description.FailureReason).toBeUndefined();
}

async function invoke(endpoint: string, targetModel: string | undefined, rows: number[][] = [ROW]) {
  const answer = await stack.runtime.send(
    new InvokeEndpointCommand({
      EndpointName: endpoint,
      ContentType: 'application/json',
      Body: Buffer.from(JSON.stringify({ instances: rows })),
      ...(targetModel !== undefined ? { TargetModel: targetModel } : {}),
    }),
  );
  return (JSON.parse(Buffer.from(answer.Body!).toString()) as { predictions: number[][] }).predictions;
}

async function listing(endpoint: string): Promise<EndpointModelsListing> {
  const res = await fetch(`${stack.server.url}/_smhost/endpoints/${endpoint}/models`);
  expect(res.status).toBe(200);
  return (await res.json()) as EndpointModelsListing;
}

beforeAll(async () => {
  stack = await startStack({ multiModel: { loadWaitSeconds: 30 } });
  const archives = await Promise.all(Array.from({ length: MODELS }, (_, i) => packOnnxModel(model(i))));
  for (const [i, archive] of archives.entries()) await stack.put(`mme/m${i}.tar.gz`, archive);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe('Function: a multi-model endpoint in the emulator', () => {
  it('serves 100 models through an endpoint whose memory fits 10, evicting least recently used ones', async () => {
    // Prepare: measure one model's resident footprint on a calibration endpoint (budget from the instance type)
    await deployMme('calibrate', 'mme/');
    for (let i = 0; i < 4; i++) await invoke('calibrate', `m${i}.tar.gz`);
    const calibration = (await listing('calibrate')).instances[0]!;
    const footprints = calibration.models.map((m) => m.footprintBytes!).sort((a, b) => a - b);
    const footprint = footprints[Math.floor(footprints.length / 2)]!;
    // Four are loaded now: room for six more makes ten.
    const budgetBytes = calibration.memory.residentBytes + 6.5 * footprint;
    await stack.sagemaker.send(new DeleteEndpointCommand({ EndpointName: 'calibrate' }));
    await deployMme('hundred', 'mme/', { environment: { SMHOST_MME_MEMORY_MB: String(budgetBytes / MIB) } });

    // Act
    const answers: number[] = [];
    for (let i = 0; i < MODELS; i++) answers.push((await invoke('hundred', `m${i}.tar.gz`))[0]![0]!);
    const afterFirstPass = (await listing('hundred')).instances[0]!;
    for (let i = MODELS - 5; i < MODELS; i++) answers.push((await invoke('hundred', `m${i}.tar.gz`))[0]![0]!);
    answers.push((await invoke('hundred', 'm0.tar.gz'))[0]![0]!);
    const end = await listing('hundred');
    const instance = end.instances[0]!;

    // Assess: every answer is its own model's (sum of the row plus the model's bias)
    expect(answers).toEqual([...Array.from({ length: MODELS }, (_, i) => 6 + i), 6 + 95, 6 + 96, 6 + 97, 6 + 98, 6 + 99, 6]);
    expect(afterFirstPass.counters).toMatchObject({ misses: MODELS, hits: 0, loads: MODELS, loadFailures: 0 });
    expect(afterFirstPass.counters.evictions).toBeGreaterThanOrEqual(MODELS - 13);
    expect(afterFirstPass.models.length).toBeGreaterThanOrEqual(7);
    expect(afterFirstPass.models.length).toBeLessThanOrEqual(13);
    expect(instance.counters.hits).toBe(5);
    expect(instance.counters.misses).toBe(MODELS + 1);
    expect(instance.memory.budgetSource).toBe('container Environment SMHOST_MME_MEMORY_MB');
    expect(instance.memory.peakResidentBytes).toBeLessThanOrEqual(instance.memory.budgetBytes + 2 * footprint);
    expect(instance.counters.loadMsMax).toBeGreaterThan(0);
    // Evicted models' files are gone: the model-data cache holds about what is loaded
    expect(end.modelData.entries).toBeLessThanOrEqual(instance.models.length + 1);
    const log = await readFile(join(stack.dataDir, 'logs', 'hundred', 'multi-model.log'), 'utf8');
    expect(log).toMatch(/loaded m0\.tar\.gz in [\d.]+ ms/);
    expect(log).toMatch(/unloaded m0\.tar\.gz: evicted/);
  }, 180_000);

  it('loads a model once for concurrent first calls, and keeps serving it after its artifact is deleted', async () => {
    // Prepare
    await deployMme('burst', 'mme/');

    // Act
    const answers = await Promise.all(Array.from({ length: 8 }, () => invoke('burst', 'm42.tar.gz')));
    await stack.s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'mme/m99.tar.gz' }));
    await invoke('burst', 'm7.tar.gz');
    const kept = await invoke('burst', 'm7.tar.gz');
    const { counters, models } = (await listing('burst')).instances[0]!;

    // Assess
    expect(answers.map((a) => a[0]![0])).toEqual(Array(8).fill(48));
    expect(counters.loads).toBe(2);
    expect(counters.misses).toBe(9);
    expect(counters.hits).toBe(1);
    expect(kept[0]![0]).toBe(13);
    expect(models.map((m) => m.targetModel).sort()).toEqual(['m42.tar.gz', 'm7.tar.gz']);
  });

  it('answers SageMaker errors for a missing TargetModel, a missing object and corrupt or unsafe archives, and keeps serving', async () => {
    // Prepare
    await deployMme('errors', 'bad/');
    await stack.put('bad/good.tar.gz', await packOnnxModel(model(3)));
    await stack.put('bad/corrupt.tar.gz', 'this is not a gzip file');
    await stack.put('bad/no-onnx.tar.gz', await packModelArchive([{ path: 'README.txt', data: 'no model here' }]));
    const urls = await uploadIris(stack, 'single');
    await stack.sagemaker.send(new CreateModelCommand({ ModelName: 'single-model', ExecutionRoleArn: ROLE, PrimaryContainer: { Image: ONNX_IMAGE, ModelDataUrl: urls.scaler } }));
    await stack.sagemaker.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'single-config',
        ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'single-model', InitialInstanceCount: 1, InstanceType: 'ml.m5.large' }],
      }),
    );
    await stack.sagemaker.send(new CreateEndpointCommand({ EndpointName: 'single', EndpointConfigName: 'single-config' }));
    await waitForEndpoint(stack.sagemaker, 'single', ['InService']);

    // Act
    const outcome = (p: Promise<unknown>) => p.then(() => undefined, (error: unknown) => error as Error & { OriginalStatusCode?: number });
    const noTarget = await outcome(invoke('errors', undefined));
    const onSingle = await outcome(invoke('single', 'good.tar.gz', [[1, 2, 3, 4]]));
    const missing = await outcome(invoke('errors', 'absent.tar.gz'));
    const corrupt = await outcome(invoke('errors', 'corrupt.tar.gz'));
    const noOnnx = await outcome(invoke('errors', 'no-onnx.tar.gz'));
    const tooLong = await outcome(invoke('errors', `${'x'.repeat(1020)}.tar.gz`));
    const climbing = await outcome(invoke('errors', '../single/scaler/model.tar.gz'));
    const good = await invoke('errors', 'good.tar.gz');
    const { counters } = (await listing('errors')).instances[0]!;

    // Assess
    expect(errorName(noTarget)).toBe('ValidationError');
    expect(noTarget!.message).toMatch(/multi-model endpoint; the TargetModel header is required/);
    expect(errorName(onSingle)).toBe('ValidationError');
    expect(onSingle!.message).toMatch(/only valid for multi-model endpoints/);
    expect(errorName(missing)).toBe('ValidationError');
    expect(missing!.message).toMatch(/Failed to download model data\(bucket: models, key: bad\/absent\.tar\.gz\)/);
    expect(errorName(corrupt)).toBe('ModelError');
    expect(httpStatus(corrupt)).toBe(424);
    expect(corrupt!.message).toMatch(/Failed to extract model data archive .*corrupt\.tar\.gz/);
    expect(errorName(noOnnx)).toBe('ModelError');
    expect(noOnnx!.message).toMatch(/Failed to load model no-onnx\.tar\.gz .*status 404 .*no ONNX model/);
    expect(noOnnx!.OriginalStatusCode).toBe(404);
    expect(errorName(tooLong)).toBe('ValidationError');
    expect(tooLong!.message).toMatch(/must be 1 to 1024 printable characters/);
    expect(errorName(climbing)).toBe('ValidationError');
    expect(climbing!.message).toMatch(/must not contain "\.\." path segments/);
    expect(good[0]![0]).toBe(9);
    expect(counters.loadFailures).toBe(3);
    expect(counters.loads).toBe(1);
  });

  it('unloads after every call when ModelCacheSetting is Disabled, deleting the local files', async () => {
    // Prepare
    await deployMme('nocache', 'mme/', { cache: 'Disabled' });

    // Act
    const first = await invoke('nocache', 'm1.tar.gz');
    const second = await invoke('nocache', 'm1.tar.gz');
    const { instances, modelData } = await listing('nocache');

    // Assess
    expect([first[0]![0], second[0]![0]]).toEqual([7, 7]);
    expect(instances[0]!.modelCache).toBe('Disabled');
    expect(instances[0]!.models).toEqual([]);
    expect(instances[0]!.counters).toMatchObject({ loads: 2, unloadsAfterCall: 2, hits: 0, misses: 2 });
    expect(modelData.entries).toBeGreaterThanOrEqual(0);
    const cacheDirs = (await readdir(join(stack.dataDir, 'model-data'))).filter((d) => d !== 'empty');
    expect(cacheDirs.length).toBe(modelData.entries);
  });

  it('fails an endpoint whose memory budget setting is not a number of MiB, naming the setting', async () => {
    // Act
    await stack.sagemaker.send(
      new CreateModelCommand({
        ModelName: 'bad-budget-model',
        ExecutionRoleArn: ROLE,
        PrimaryContainer: { Image: ONNX_IMAGE, Mode: 'MultiModel', ModelDataUrl: `s3://${BUCKET}/mme/`, Environment: { SMHOST_MME_MEMORY_MB: 'lots' } },
      }),
    );
    await stack.sagemaker.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'bad-budget-config',
        ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'bad-budget-model', InitialInstanceCount: 1, InstanceType: 'ml.m5.large' }],
      }),
    );
    await stack.sagemaker.send(new CreateEndpointCommand({ EndpointName: 'bad-budget', EndpointConfigName: 'bad-budget-config' }));
    const { description } = await waitForEndpoint(stack.sagemaker, 'bad-budget', ['InService', 'Failed']);

    // Assess
    expect(description.EndpointStatus).toBe('Failed');
    expect(description.FailureReason).toMatch(/Environment SMHOST_MME_MEMORY_MB must be a number of MiB greater than 0.*"lots"/);
  });
});

describe('Function: the local listing route', () => {
  it('answers 404 with the route it serves for unknown paths and endpoints not in service', async () => {
    const unknown = await fetch(`${stack.server.url}/_smhost/nothing`);
    const absent = await fetch(`${stack.server.url}/_smhost/endpoints/absent/models`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { message: string }).message).toMatch(/GET \/_smhost\/endpoints\/<name>\/models/);
    expect(absent.status).toBe(404);
    expect(((await absent.json()) as { message: string }).message).toMatch(/Endpoint absent is not in service/);
  });
});

describe('Function: a model load that outlasts the runtime wait', () => {
  it('answers ModelNotReadyException (429) while the load goes on, and serves the model once loaded', async () => {
    // Prepare: an emulator that waits 1 ms for loads
    const quick = await startStack({ multiModel: { loadWaitSeconds: 0.001 } });
    try {
      await quick.put('slow/big.tar.gz', await packOnnxModel(buildBallastLinearModel({ weights: [1, 1, 1], bias: 5, ballastBytes: 8 * MIB })));
      const main = stack;
      stack = quick;
      try {
        await deployMme('slow', 'slow/');

        // Act
        const first = await invoke('slow', 'big.tar.gz').then(() => undefined, (error: unknown) => error);
        let served: number[][] | undefined;
        for (let attempt = 0; attempt < 200 && !served; attempt++) {
          served = await invoke('slow', 'big.tar.gz').catch(async (error: unknown) => {
            if (errorName(error) !== 'ModelNotReadyException') throw error;
            await new Promise((r) => setTimeout(r, 25));
            return undefined;
          });
        }
        const { counters } = (await listing('slow')).instances[0]!;

        // Assess
        expect(errorName(first)).toBe('ModelNotReadyException');
        expect(httpStatus(first)).toBe(429);
        expect(served![0]![0]).toBe(11);
        expect(counters.loads).toBe(1);
        expect(counters.modelNotReady).toBeGreaterThanOrEqual(1);
      } finally {
        stack = main;
      }
    } finally {
      await quick.stop();
    }
  });
});
