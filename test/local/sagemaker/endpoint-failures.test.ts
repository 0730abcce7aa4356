import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { errorName } from '../../../src/aws/errors';
import { packModelArchive } from '../../../src/onnx';
import { ONNX_IMAGE, ROLE, startStack, waitForEndpoint, type TestStack } from './support';

let stack: TestStack;
let mapDir: string;

const NEVER_HEALTHY = `require('node:http').createServer((req, res) => { res.writeHead(500); res.end('still loading'); }).listen(Number(process.env.SAGEMAKER_BIND_TO_PORT), '127.0.0.1')`;

beforeAll(async () => {
  mapDir = mkdtempSync(join(tmpdir(), 'sm-image-map-'));
  const imageMap = join(mapDir, 'image-map.json');
  writeFileSync(
    imageMap,
    JSON.stringify({
      images: {
        'local/crash:*': { command: [process.execPath, '-e', "console.error('boom: weights file is unreadable'); process.exit(3)"] },
        'local/never-healthy:1': { command: [process.execPath, '-e', NEVER_HEALTHY] },
      },
    }),
  );
  // A short health-check floor so the never-healthy container fails within a couple of seconds.
  stack = await startStack({ imageMapFile: imageMap, minHealthCheckTimeoutMs: 1500 });
});

afterAll(async () => {
  await stack?.stop();
  rmSync(mapDir, { recursive: true, force: true });
});

async function failureOf(name: string, image: string | undefined, modelDataUrl?: string, packageName?: string): Promise<{ reason: string; seen: string[] }> {
  await stack.sagemaker.send(
    new CreateModelCommand({ ModelName: name, ExecutionRoleArn: ROLE, PrimaryContainer: {
        ...(image ? { Image: image } : {}),
        ...(modelDataUrl ? { ModelDataUrl: modelDataUrl } : {}),
        ...(packageName ? { ModelPackageName: packageName } : {}),
      },
    }),
  );
  await stack.sagemaker.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: name,
      ProductionVariants: [
        { VariantName: 'AllTraffic', ModelName: name, InitialInstanceCount: 1, InstanceType: 'ml.t2.medium', ContainerStartupHealthCheckTimeoutInSeconds: 60 },
      ],
    }),
  );
  await stack.sagemaker.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: name }));
  const { description, seen } = await waitForEndpoint(stack.sagemaker, name, ['InService', 'Failed']);
  return { reason: description.FailureReason ?? `(status ${description.EndpointStatus})`, seen };
}

describe('Function: CreateEndpoint (failures)', () => {
  it('fails an endpoint whose image is not mapped, naming the image and the built-in one', async () => {
    // Act
    const { reason, seen } = await failureOf('unknown-image', '123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1');

    // Assess
    expect(seen).toEqual(['Creating', 'Failed']);
    expect(reason).toMatch(/^Image 123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/xgboost:1 is not mapped to a local container: add it to the image map .*image-map\.json, or use smhost\/onnxruntime:<tag>/);
  });

  it('fails an endpoint whose model data does not exist', async () => {
    // Act
    const { reason } = await failureOf('missing-data', ONNX_IMAGE, 's3://models/nowhere/model.tar.gz');

    // Assess
    expect(reason).toBe(
      'Failed to download model data for container "primary" of production variant AllTraffic from URL: "s3://models/nowhere/model.tar.gz". Please ensure that there is an object located at the URL and that the role passed to CreateModel has permissions to download the model.',
    );
  });

  it('fails an endpoint whose model data is not a tar.gz, with the archive rule', async () => {
    // Prepare
    const url = await stack.put('corrupt/model.tar.gz', 'this is not a gzip stream');

    // Act
    const { reason } = await failureOf('corrupt-data', ONNX_IMAGE, url);

    // Assess
    expect(reason).toMatch(/^Failed to extract model data archive from URL "s3:\/\/models\/corrupt\/model\.tar\.gz" for container "primary".*valid tar\.gz archive: archive rejected: not-gzip/);
  });

  it('fails an endpoint whose archive holds no ONNX model, with the container’s own message', async () => {
    // Prepare
    const url = await stack.put('no-onnx/model.tar.gz', await packModelArchive([{ path: 'README.txt', data: 'no model here' }]));

    // Act
    const { reason } = await failureOf('no-onnx', ONNX_IMAGE, url);

    // Assess
    expect(reason).toMatch(/^Container no-onnx\/AllTraffic\/primary exited with code 1: onnx container: no ONNX model in .*: expected model\.onnx/);
  });

  it('fails an endpoint whose container crashes, with its exit code and stderr', async () => {
    // Act
    const { reason } = await failureOf('crashing', 'local/crash:2');

    // Assess
    expect(reason).toBe('Container crashing/AllTraffic/primary exited with code 3: boom: weights file is unreadable');
  });

  it('fails an endpoint whose container never passes /ping within the health-check timeout', async () => {
    // Act
    const { reason } = await failureOf('never-healthy', 'local/never-healthy:1');

    // Assess
    expect(reason).toMatch(/^Container never-healthy\/AllTraffic\/primary did not pass the ping health check within 1\.5 seconds \(last: status 500\)$/);
    expect(stack.server.emulator.containers('never-healthy')).toEqual([]);
  });

  it('fails an endpoint whose model names a model package that does not exist', async () => {
    // Act
    const { reason } = await failureOf('no-package', undefined, undefined, 'arn:aws:sagemaker:us-east-1:000000000000:model-package/none/1');

    // Assess
    expect(reason).toBe('Model package arn:aws:sagemaker:us-east-1:000000000000:model-package/none/1 does not exist or has no InferenceSpecification containers.');
  });

  it('answers InvokeEndpoint on a failed endpoint with ValidationError', async () => {
    // Act
    const error = await stack.runtime
      .send(new InvokeEndpointCommand({ EndpointName: 'crashing', ContentType: 'application/json', Body: Buffer.from('[]') }))
      .catch((e: unknown) => e);

    // Assess
    expect(errorName(error)).toBe('ValidationError');
    expect((error as Error).message).toMatch(/not in service \(status Failed\)/);
  });
});
