import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand, DescribeModelCommand } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { ort } from '../../../src/onnx/runtime';
import { errorName } from '../../../src/aws/errors';
import { floatTensor, irisModels, ONNX_IMAGE, ROLE, runDirect, startStack, uploadIris, waitForEndpoint, type TestStack } from './support';

let stack: TestStack;

async function endpointFor(name: string, mode: 'Serial' | 'Direct', urls: Awaited<ReturnType<typeof uploadIris>>) {
  await stack.sagemaker.send(
    new CreateModelCommand({
      ModelName: name,
      ExecutionRoleArn: ROLE,
      InferenceExecutionConfig: { Mode: mode },
      Containers: [
        { ContainerHostname: 'scaler', Image: ONNX_IMAGE, ModelDataUrl: urls.scaler },
        { ContainerHostname: 'classifier', Image: ONNX_IMAGE, ModelDataUrl: urls.classifier },
        { ContainerHostname: 'decoder', Image: ONNX_IMAGE, ModelDataUrl: urls.decoder },
      ],
    }),
  );
  await stack.sagemaker.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: name,
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: name, InitialInstanceCount: 1, InstanceType: 'ml.c5.xlarge' }],
    }),
  );
  await stack.sagemaker.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: name }));
}

beforeAll(async () => {
  stack = await startStack();
  const urls = await uploadIris(stack);
  await endpointFor('iris-pipeline', 'Serial', urls);
  await endpointFor('iris-direct', 'Direct', urls);
  await waitForEndpoint(stack.sagemaker, 'iris-pipeline', ['InService']);
  await waitForEndpoint(stack.sagemaker, 'iris-direct', ['InService']);
});

afterAll(async () => {
  await stack?.stop();
});

/** The reference: the three graphs run one after another directly in onnxruntime. */
async function expectedClasses(rows: number[][]): Promise<string[]> {
  const m = await irisModels();
  const scaled = await runDirect(m.scaler, floatTensor(rows));
  const label = await runDirect(m.classifier, new ort.Tensor('float32', scaled.data as Float32Array, scaled.dims));
  const decoded = await runDirect(m.decoder, new ort.Tensor('int64', label.data as BigInt64Array, label.dims));
  return Array.from(decoded.data as string[]);
}

describe('Function: InvokeEndpoint (serial inference pipeline)', () => {
  it('chains scaler → classifier → label decoder and answers what the three models give one after another', async () => {
    // Prepare
    const { rows } = await irisModels();
    const expected = await expectedClasses(rows);

    // Act
    const response = await stack.runtime.send(
      new InvokeEndpointCommand({ EndpointName: 'iris-pipeline', ContentType: 'application/json', Body: Buffer.from(JSON.stringify({ instances: rows })) }),
    );
    const got = (JSON.parse(Buffer.from(response.Body!).toString('utf8')) as { predictions: string[] }).predictions;

    // Assess
    expect(got).toEqual(expected);
    expect(new Set(got)).toEqual(new Set(['setosa', 'versicolor', 'virginica']));
  });

  it('carries CSV in and answers CSV when Accept asks for it at the end of the chain', async () => {
    // Prepare
    const { rows } = await irisModels();
    const sample = [rows[0]!, rows[60]!, rows[120]!];
    const expected = await expectedClasses(sample);

    // Act
    const response = await stack.runtime.send(
      new InvokeEndpointCommand({
        EndpointName: 'iris-pipeline',
        ContentType: 'text/csv',
        Accept: 'text/csv',
        Body: Buffer.from(sample.map((r) => r.join(',')).join('\n')),
      }),
    );

    // Assess
    expect(response.ContentType).toBe('text/csv');
    expect(Buffer.from(response.Body!).toString('utf8').trim().split('\n')).toEqual(expected);
  });

  it('names the container that failed in the ModelError', async () => {
    // Act
    const error = await stack.runtime
      .send(new InvokeEndpointCommand({ EndpointName: 'iris-pipeline', ContentType: 'application/json', Body: Buffer.from('{"instances": [[1, 2, 3]]}') }))
      .catch((e: unknown) => e);

    // Assess
    expect(errorName(error)).toBe('ModelError');
    expect((error as Error).message).toMatch(/from scaler with message/);
  });

  it('keeps the model definition as created', async () => {
    // Act
    const model = await stack.sagemaker.send(new DescribeModelCommand({ ModelName: 'iris-pipeline' }));

    // Assess
    expect(model.Containers?.map((c) => c.ContainerHostname)).toEqual(['scaler', 'classifier', 'decoder']);
    expect(model.InferenceExecutionConfig).toEqual({ Mode: 'Serial' });
    expect(model.PrimaryContainer).toBeUndefined();
  });
});

describe('Function: InvokeEndpoint (Direct mode)', () => {
  it('calls only the container named by TargetContainerHostname', async () => {
    // Prepare
    const m = await irisModels();
    const scaled = await runDirect(m.scaler, floatTensor([m.rows[0]!]));

    // Act
    const decoded = await stack.runtime.send(
      new InvokeEndpointCommand({ EndpointName: 'iris-direct', TargetContainerHostname: 'decoder', ContentType: 'application/json', Body: Buffer.from('{"instances": [2, 0]}') }),
    );
    const scaledOut = await stack.runtime.send(
      new InvokeEndpointCommand({ EndpointName: 'iris-direct', TargetContainerHostname: 'scaler', ContentType: 'application/json', Body: Buffer.from(JSON.stringify({ instances: [m.rows[0]] })) }),
    );

    // Assess
    expect(JSON.parse(Buffer.from(decoded.Body!).toString('utf8'))).toEqual({ predictions: ['virginica', 'setosa'] });
    const values = (JSON.parse(Buffer.from(scaledOut.Body!).toString('utf8')) as { predictions: number[][] }).predictions[0]!;
    values.forEach((v, i) => expect(v).toBeCloseTo((scaled.data as Float32Array)[i]!, 5));
  });

  it('requires a known TargetContainerHostname in Direct mode and refuses one in Serial mode', async () => {
    // Act
    const none = await stack.runtime
      .send(new InvokeEndpointCommand({ EndpointName: 'iris-direct', ContentType: 'application/json', Body: Buffer.from('[1]') }))
      .catch((e: unknown) => e);
    const unknown = await stack.runtime
      .send(new InvokeEndpointCommand({ EndpointName: 'iris-direct', TargetContainerHostname: 'other', ContentType: 'application/json', Body: Buffer.from('[1]') }))
      .catch((e: unknown) => e);
    const serial = await stack.runtime
      .send(new InvokeEndpointCommand({ EndpointName: 'iris-pipeline', TargetContainerHostname: 'scaler', ContentType: 'application/json', Body: Buffer.from('[1]') }))
      .catch((e: unknown) => e);

    // Assess
    expect(errorName(none)).toBe('ValidationError');
    expect((none as Error).message).toMatch(/Direct mode; TargetContainerHostname is required/);
    expect(errorName(unknown)).toBe('ValidationError');
    expect((unknown as Error).message).toMatch(/other is not a container of endpoint iris-direct \(scaler, classifier, decoder\)/);
    expect(errorName(serial)).toBe('ValidationError');
  });
});
