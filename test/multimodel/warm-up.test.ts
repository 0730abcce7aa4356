import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DescribeEndpointCommand, SageMakerClient, SageMakerServiceException } from '@aws-sdk/client-sagemaker';
import {
  InvokeEndpointCommand,
  ModelError,
  ModelNotReadyException,
  SageMakerRuntimeClient,
  ServiceUnavailable,
  ValidationError,
} from '@aws-sdk/client-sagemaker-runtime';
import { warmUp, warmUpDelay } from '../../src/multimodel/warm-up';

const sagemaker = new SageMakerClient({ region: 'us-east-1' });
const runtime = new SageMakerRuntimeClient({ region: 'us-east-1' });
const sagemakerMock = mockClient(sagemaker);
const runtimeMock = mockClient(runtime);
const settings = { maxAttempts: 4, initialDelayMs: 100, maxDelayMs: 250 };
const sample = { body: new TextEncoder().encode('{"instances":[[1,2]]}'), contentType: 'application/json', source: 'incoming/ep/m.sample.json' };
const request = { endpoint: 'ep', targetModel: 'm/0123456789abcdef.tar.gz', sample };

function deps(delays: number[] = []) {
  return { sagemaker, sagemakerRuntime: runtime, settings, sleep: async (ms: number) => void delays.push(ms) };
}

const notReady = () => new ModelNotReadyException({ $metadata: { httpStatusCode: 429 }, message: 'Model is loading' });

describe('Function: warmUp', () => {
  beforeEach(() => {
    sagemakerMock.reset();
    runtimeMock.reset();
    sagemakerMock.on(DescribeEndpointCommand).resolves({ EndpointName: 'ep', EndpointStatus: 'InService' });
  });

  it('verifies a model the endpoint serves, sending TargetModel and the sample', async () => {
    // Prepare
    runtimeMock.on(InvokeEndpointCommand).resolves({ Body: new Uint8Array() as never });

    // Act
    const result = await warmUp(deps(), request);

    // Assess
    expect(result).toEqual({ kind: 'verified', attempts: 1 });
    expect(runtimeMock.commandCalls(InvokeEndpointCommand)[0]?.args[0].input).toMatchObject({
      EndpointName: 'ep',
      TargetModel: 'm/0123456789abcdef.tar.gz',
      ContentType: 'application/json',
      Body: sample.body,
    });
  });

  it('reports an absent endpoint as unverified, invoking nothing', async () => {
    sagemakerMock.on(DescribeEndpointCommand).rejects(
      new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Could not find endpoint "ep".' }),
    );
    const result = await warmUp(deps(), request);
    expect(result).toMatchObject({ kind: 'unverified', reason: expect.stringMatching(/endpoint "ep" was not found \(ValidationException: Could not find endpoint/) });
    expect(runtimeMock.commandCalls(InvokeEndpointCommand)).toHaveLength(0);
  });

  it.each(['Creating', 'Updating', 'Failed', 'OutOfService'])('reports an endpoint that is %s as unverified', async (status) => {
    sagemakerMock.on(DescribeEndpointCommand).resolves({ EndpointStatus: status as 'Creating' });
    const result = await warmUp(deps(), request);
    expect(result).toEqual({ kind: 'unverified', reason: `endpoint "ep" is ${status}, not InService; not warmed up`, attempts: 0 });
    expect(runtimeMock.commandCalls(InvokeEndpointCommand)).toHaveLength(0);
  });

  it('does not invoke without a sample payload, saying why', async () => {
    const result = await warmUp(deps(), { endpoint: 'ep', targetModel: 'm/x.tar.gz', noSampleReason: 'no sample payload "incoming/ep/m.sample.json"' });
    expect(result).toEqual({ kind: 'unverified', reason: 'no sample payload "incoming/ep/m.sample.json"; not warmed up', attempts: 0 });
    expect(runtimeMock.commandCalls(InvokeEndpointCommand)).toHaveLength(0);
  });

  it('reads the sample through loadSample only once the endpoint is in service', async () => {
    // Prepare
    runtimeMock.on(InvokeEndpointCommand).resolves({});
    let loads = 0;
    const loadSample = async () => {
      loads += 1;
      return { sample };
    };

    // Act
    const result = await warmUp(deps(), { endpoint: 'ep', targetModel: 'm/x.tar.gz', loadSample });

    // Assess
    expect(result).toEqual({ kind: 'verified', attempts: 1 });
    expect(loads).toBe(1);
    expect(runtimeMock.commandCalls(InvokeEndpointCommand)[0]?.args[0].input.Body).toBe(sample.body);
  });

  it('does not read the sample for an endpoint that is absent or not in service', async () => {
    // Prepare
    let loads = 0;
    const loadSample = async () => {
      loads += 1;
      return { sample };
    };
    sagemakerMock.on(DescribeEndpointCommand).resolvesOnce({ EndpointStatus: 'Creating' }).rejectsOnce(
      new SageMakerServiceException({ name: 'ValidationException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Could not find endpoint "ep".' }),
    );

    // Act
    const creating = await warmUp(deps(), { endpoint: 'ep', targetModel: 'm/x.tar.gz', loadSample });
    const absent = await warmUp(deps(), { endpoint: 'ep', targetModel: 'm/x.tar.gz', loadSample });

    // Assess
    expect(creating).toMatchObject({ kind: 'unverified', reason: 'endpoint "ep" is Creating, not InService; not warmed up' });
    expect(absent).toMatchObject({ kind: 'unverified', reason: expect.stringMatching(/endpoint "ep" was not found/) });
    expect(loads).toBe(0);
  });

  it('says why loadSample found no sample', async () => {
    const result = await warmUp(deps(), { endpoint: 'ep', targetModel: 'm/x.tar.gz', loadSample: async () => ({ reason: 'no sample payload "incoming/ep/m.sample.json"' }) });
    expect(result).toEqual({ kind: 'unverified', reason: 'no sample payload "incoming/ep/m.sample.json"; not warmed up', attempts: 0 });
    expect(runtimeMock.commandCalls(InvokeEndpointCommand)).toHaveLength(0);
  });

  it('retries ModelNotReadyException with growing, capped delays until it answers', async () => {
    // Prepare
    runtimeMock.on(InvokeEndpointCommand).rejectsOnce(notReady()).rejectsOnce(notReady()).rejectsOnce(notReady()).resolves({});
    const delays: number[] = [];

    // Act
    const result = await warmUp(deps(delays), request);

    // Assess
    expect(result).toEqual({ kind: 'verified', attempts: 4 });
    expect(delays).toEqual([100, 200, 250]);
  });

  it('gives up on ModelNotReadyException after the bound, as unverified', async () => {
    runtimeMock.on(InvokeEndpointCommand).rejects(notReady());
    const result = await warmUp(deps(), request);
    expect(result).toMatchObject({ kind: 'unverified', attempts: 4, reason: expect.stringMatching(/still loading after 4 attempts/) });
    expect(runtimeMock.commandCalls(InvokeEndpointCommand)).toHaveLength(4);
  });

  it('reports a ModelError with the container status and message', async () => {
    runtimeMock.on(InvokeEndpointCommand).rejects(
      new ModelError({ $metadata: { httpStatusCode: 424 }, message: 'Received server error (500)', OriginalStatusCode: 500, OriginalMessage: 'cannot load model.onnx' }),
    );
    const result = await warmUp(deps(), request);
    expect(result).toEqual({ kind: 'model-error', attempts: 1, reason: 'ModelError (container status 500): cannot load model.onnx' });
  });

  it('reports other refusals as unverified with SageMaker message', async () => {
    runtimeMock.on(InvokeEndpointCommand).rejects(new ValidationError({ $metadata: { httpStatusCode: 400 }, message: 'Endpoint ep is not a multi-model endpoint' }));
    const result = await warmUp(deps(), request);
    expect(result).toMatchObject({ kind: 'unverified', reason: 'InvokeEndpoint refused the warm-up (ValidationError: Endpoint ep is not a multi-model endpoint)' });
  });

  it('throws transient failures for the queue to retry', async () => {
    runtimeMock.on(InvokeEndpointCommand).rejects(new ServiceUnavailable({ $metadata: { httpStatusCode: 503 }, message: 'busy' }));
    await expect(warmUp(deps(), request)).rejects.toBeInstanceOf(ServiceUnavailable);
    sagemakerMock.on(DescribeEndpointCommand).rejects(
      new SageMakerServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' }),
    );
    await expect(warmUp(deps(), request)).rejects.toMatchObject({ name: 'ThrottlingException' });
  });
});

describe('Function: warmUpDelay', () => {
  it('doubles from the initial delay and caps at the maximum', () => {
    expect([2, 3, 4, 5].map((attempt) => warmUpDelay(attempt, { maxAttempts: 9, initialDelayMs: 1000, maxDelayMs: 5000 }))).toEqual([1000, 2000, 4000, 5000]);
  });
});
