/**
 * deploy-pipeline-model executed from its real file by the local Step Functions, its SageMaker tasks run by
 * the dispatcher against the SageMaker emulator serving the Iris models: a new endpoint, updates of the
 * endpoint in service, failures with SageMaker's reason and the clean-up DESIGN.md §6 asks for, the wait
 * timeout, and inputs refused before anything exists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DescribeEndpointCommand,
  DescribeModelCommand,
  ListEndpointConfigsCommand,
  ListEndpointsCommand,
  ListModelsCommand,
} from '@aws-sdk/client-sagemaker';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { irisModels, ONNX_IMAGE, uploadIris } from '../../local/sagemaker/support';
import { executionHistory, invokeLabels, irisLabels, irisPipelineInput, resourcesNamed, retriedErrors, startE2eStack, statesEntered, type E2eStack } from './support';

/** A container that takes 3 real seconds before it answers /ping: far longer than a 60-second wait at this scale. */
const SLOW_START = `setTimeout(() => require('node:http').createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{}'); }).listen(Number(process.env.SAGEMAKER_BIND_TO_PORT), '127.0.0.1'), 3000)`;

let stack: E2eStack;
let urls: Awaited<ReturnType<typeof uploadIris>>;
let rows: number[][];
let expected: string[];

beforeAll(async () => {
  stack = await startE2eStack({ timeScale: 0.002, images: { 'local/slow-start:1': { command: [process.execPath, '-e', SLOW_START] } } });
  urls = await uploadIris(stack.sagemaker, 'pipelines');
  rows = (await irisModels()).rows;
  expected = await irisLabels(rows);
});

afterAll(async () => {
  await stack?.close();
});

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const irisPipeline = (endpointName: string, more: Record<string, unknown> = {}) => irisPipelineInput(urls, endpointName, more);

describe('State machine: deploy-pipeline-model (real file, SageMaker emulator)', () => {
  let created: Record<string, any>;

  it('creates a three-container Serial pipeline endpoint that answers what the three graphs give run directly', async () => {
    // Act
    const run = await stack.execute('deploy-pipeline-model', irisPipeline('iris-e2e', { tags: { team: 'ml' } }));

    // Assess
    expect(run.description.status, run.description.cause).toBe('SUCCEEDED');
    created = run.output!;
    expect(created).toMatchObject({ endpointName: 'iris-e2e', endpointStatus: 'InService', operation: 'created' });
    const endpoint = await stack.sagemaker.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'iris-e2e' }));
    expect(endpoint).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: created.endpointConfigName, EndpointArn: created.endpointArn });
    const model = await stack.sagemaker.sagemaker.send(new DescribeModelCommand({ ModelName: created.modelName }));
    expect(model.Containers?.map((c) => [c.ContainerHostname, c.ModelDataUrl])).toEqual([
      ['scaler', urls.scaler],
      ['classifier', urls.classifier],
      ['decoder', urls.decoder],
    ]);
    expect(model.InferenceExecutionConfig).toEqual({ Mode: 'Serial' });
    expect(await invokeLabels(stack.sagemaker.runtime, 'iris-e2e', rows)).toEqual(expected);
    expect(new Set(expected)).toEqual(new Set(['setosa', 'versicolor', 'virginica']));
  });

  it('updates the endpoint in service to a new config while it keeps answering, then removes the replaced config and models', async () => {
    // Prepare
    const input = irisPipeline('iris-e2e', { updateEndpoint: true });
    // The clean-up after the update is retried on throttling too, the model deletions inside the Map included.
    stack.proxy.inject('DescribeEndpointConfig', 1);
    stack.proxy.inject('DeleteModel', 2);
    const mark = stack.proxy.requests.length;
    const statuses = new Set<string>();
    const answers: (string[] | Error)[] = [];

    // Act: keep calling the endpoint from the moment the execution starts until it has ended.
    const started = await stack.sfn.send(new StartExecutionCommand({ stateMachineArn: stack.stateMachineArn('deploy-pipeline-model'), input: JSON.stringify(input) }));
    let finished = false;
    const ended = stack.local.service.waitForExecution(started.executionArn!).finally(() => (finished = true));
    while (!finished) {
      const [answer, described] = await Promise.all([
        invokeLabels(stack.sagemaker.runtime, 'iris-e2e', rows.slice(45, 105)).catch((error: Error) => error),
        stack.sagemaker.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'iris-e2e' })),
      ]);
      answers.push(answer);
      statuses.add(described.EndpointStatus!);
    }
    const record = await ended;

    // Assess
    expect(record.status, record.cause).toBe('SUCCEEDED');
    const output = JSON.parse(record.output!);
    expect(output).toMatchObject({ operation: 'updated', replacedEndpointConfigName: created.endpointConfigName, replacedKept: false, endpointStatus: 'InService' });
    expect(output.endpointConfigName).not.toBe(created.endpointConfigName);
    expect(statuses).toContain('Updating');
    expect(retriedErrors(await executionHistory(stack.sfn, started.executionArn!)).map((r) => r.state)).toContain('DescribeReplacedEndpointConfig');
    expect(stack.proxy.requests.slice(mark).filter((r) => r.fault !== undefined).map((r) => r.operation)).toEqual(['DescribeEndpointConfig', 'DeleteModel', 'DeleteModel']);
    expect(stack.proxy.pending()).toEqual({});
    expect(answers.filter((answer) => answer instanceof Error)).toEqual([]);
    expect(answers.length).toBeGreaterThan(3);
    for (const answer of answers) expect(answer).toEqual(expected.slice(45, 105));
    const endpoint = await stack.sagemaker.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'iris-e2e' }));
    expect(endpoint).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: output.endpointConfigName });
    expect(await resourcesNamed(stack.sagemaker.sagemaker, 'iris-e2e')).toEqual({
      models: [output.modelName],
      endpointConfigs: [output.endpointConfigName],
      endpoints: ['iris-e2e:InService'],
    });
    created = output;
  });

  it('keeps the replaced config and models when the input sets keepReplaced', async () => {
    // Act
    const run = await stack.execute('deploy-pipeline-model', irisPipeline('iris-e2e', { keepReplaced: true }));

    // Assess
    expect(run.description.status, run.description.cause).toBe('SUCCEEDED');
    expect(run.output).toMatchObject({ operation: 'updated', replacedEndpointConfigName: created.endpointConfigName, replacedKept: true });
    expect(statesEntered(run.history)).not.toContain('DeleteReplacedEndpointConfig');
    expect(await resourcesNamed(stack.sagemaker.sagemaker, 'iris-e2e')).toEqual({
      models: [created.modelName, run.output!.modelName].sort(),
      endpointConfigs: [created.endpointConfigName, run.output!.endpointConfigName].sort(),
      endpoints: ['iris-e2e:InService'],
    });
    created = run.output!;
  });

  it('fails an update whose containers cannot start with SageMaker\'s reason, leaving the endpoint in service on its old config', async () => {
    // Prepare: an image nothing is mapped to fails the new deployment; SageMaker rolls the endpoint back.
    const input = irisPipeline('iris-e2e', { containers: [{ image: 'example.org/unmapped:1', modelDataUrl: urls.scaler }, { image: ONNX_IMAGE, modelDataUrl: urls.classifier }] });
    const before = await resourcesNamed(stack.sagemaker.sagemaker, 'iris-e2e');

    // Act
    const run = await stack.execute('deploy-pipeline-model', input);

    // Assess
    expect(run.description.status).toBe('FAILED');
    expect(run.description.error).toBe('EndpointFailedError');
    const endpoint = await stack.sagemaker.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'iris-e2e' }));
    expect(endpoint).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: created.endpointConfigName });
    expect(endpoint.FailureReason).toMatch(/Image example\.org\/unmapped:1 is not mapped to a local container/);
    expect(run.description.cause).toContain(`the endpoint is InService: ${endpoint.FailureReason}`);
    expect(await resourcesNamed(stack.sagemaker.sagemaker, 'iris-e2e')).toEqual(before);
    expect(await invokeLabels(stack.sagemaker.runtime, 'iris-e2e', rows)).toEqual(expected);
  });

  it('fails a new endpoint that ends Failed with SageMaker\'s reason, and removes the endpoint, its config and its model', async () => {
    // Prepare
    const corrupt = await stack.sagemaker.put('pipelines/corrupt/model.tar.gz', 'this is not a gzip stream');
    const input = irisPipeline('iris-corrupt', { containers: [{ image: ONNX_IMAGE, modelDataUrl: urls.scaler }, { image: ONNX_IMAGE, modelDataUrl: corrupt }] });
    // The clean-up calls are retried on throttling like every other call.
    for (const operation of ['DeleteEndpoint', 'DeleteEndpointConfig', 'DeleteModel']) stack.proxy.inject(operation, 1);

    // Act
    const run = await stack.execute('deploy-pipeline-model', input);

    // Assess
    expect(run.description.status).toBe('FAILED');
    expect(run.description.error).toBe('EndpointFailedError');
    const lastDescribe = run.history.filter((e) => e.type === 'TaskSucceeded' && e.taskSucceededEventDetails?.resource === 'describeEndpoint').at(-1);
    const described = JSON.parse(lastDescribe!.taskSucceededEventDetails!.output!);
    expect(described.EndpointStatus).toBe('Failed');
    expect(described.FailureReason).toMatch(/^Failed to extract model data archive from URL "s3:\/\/models\/pipelines\/corrupt\/model\.tar\.gz"/);
    expect(run.description.cause).toBe(`Deployment of endpoint config ${described.EndpointConfigName} to endpoint iris-corrupt failed; the endpoint is Failed: ${described.FailureReason}`);
    expect(statesEntered(run.history).slice(-4)).toEqual(['DeleteFailedEndpoint', 'DeleteEndpointConfig', 'DeleteModel', 'DeploymentFailed']);
    expect(retriedErrors(run.history).map((r) => r.state)).toEqual(['DeleteFailedEndpoint', 'DeleteEndpointConfig', 'DeleteModel']);
    expect(stack.proxy.pending()).toEqual({});
    expect(await resourcesNamed(stack.sagemaker.sagemaker, 'iris-corrupt')).toEqual({ models: [], endpointConfigs: [], endpoints: [] });
  });

  it('fails with EndpointWaitTimeoutError once the wait timeout has passed, leaving the creating endpoint, its config and model in place', async () => {
    // Prepare
    const slow = { image: 'local/slow-start:1' };
    const input = { endpointName: 'iris-slow', instanceType: 'ml.m5.large', containers: [slow, slow], wait: { initialSeconds: 20, growthFactor: 2, maxSeconds: 40, timeoutSeconds: 60 } };

    // Act
    const run = await stack.execute('deploy-pipeline-model', input);

    // Assess
    expect(run.description.status).toBe('FAILED');
    expect(run.description.error).toBe('EndpointWaitTimeoutError');
    expect(run.description.cause).toMatch(/^Endpoint iris-slow was still Creating after 60 seconds of waiting; endpoint config iris-slow-\w+ and model iris-slow-\w+ were left in place$/);
    const waits = run.history.filter((e) => e.type === 'WaitStateEntered').map((e) => JSON.parse(e.stateEnteredEventDetails!.input!).poll.seconds);
    expect(waits).toEqual([20, 40]);
    const left = await resourcesNamed(stack.sagemaker.sagemaker, 'iris-slow');
    expect(left.models).toHaveLength(1);
    expect(left.endpointConfigs).toHaveLength(1);
    expect(left.endpoints).toEqual(['iris-slow:Creating']);
  });

  it('refuses bad inputs and impossible create-or-update requests before creating anything, naming the field or the endpoint', async () => {
    // Prepare
    const countAll = async () => {
      const sm = stack.sagemaker.sagemaker;
      const [m, c, e] = await Promise.all([
        sm.send(new ListModelsCommand({ MaxResults: 100 })),
        sm.send(new ListEndpointConfigsCommand({ MaxResults: 100 })),
        sm.send(new ListEndpointsCommand({ MaxResults: 100 })),
      ]);
      return { models: m.Models?.length, configs: c.EndpointConfigs?.length, endpoints: e.Endpoints?.length };
    };
    const before = await countAll();
    const good = irisPipeline('iris-refused');
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ ...good, containers: [good.containers[0]] }, /containers: must list at least 2 containers/],
      [{ ...good, instanceType: 'large' }, /instanceType: must be a SageMaker instance type/],
      [{ ...good, endpointName: 'iris_refused' }, /endpointName: must be 1 to 63 letters, digits or hyphens/],
      [{ ...good, containers: [{ image: ONNX_IMAGE, modelDataUrl: 'https://example.org/m.tar.gz' }, good.containers[1]] }, /containers\[0\]\.modelDataUrl: must be an S3 URI/],
      [{ ...good, modelPackageName: 'iris/1' }, /modelPackageName: give either containers or modelPackageName/],
      [{ ...good, wait: { timeoutSeconds: 10 } }, /wait\.timeoutSeconds: must be at least 60/],
      [{ ...good, surprise: true }, /surprise/],
    ];
    const sageMakerCallsBefore = stack.proxy.requests.length;

    // Act
    const refused = await Promise.all(bad.map(([input]) => stack.execute('deploy-pipeline-model', input)));
    const refusedCalls = stack.proxy.requests.slice(sageMakerCallsBefore);
    const missing = await stack.execute('deploy-pipeline-model', irisPipeline('iris-missing', { updateEndpoint: true }));
    const existing = await stack.execute('deploy-pipeline-model', irisPipeline('iris-e2e', { updateEndpoint: false }));

    // Assess
    refused.forEach((run, i) => {
      expect(run.description.status).toBe('FAILED');
      expect(run.description.error).toBe('WorkflowInputError');
      expect(JSON.parse(run.description.cause!).errorMessage).toMatch(bad[i]![1]);
      expect(statesEntered(run.history)).toEqual(['Prepare']);
    });
    expect(refusedCalls).toEqual([]);
    expect(missing.description).toMatchObject({ status: 'FAILED', error: 'EndpointNotFoundError', cause: 'Endpoint iris-missing does not exist and updateEndpoint is true' });
    expect(existing.description).toMatchObject({ status: 'FAILED', error: 'EndpointExistsError', cause: 'Endpoint iris-e2e already exists and updateEndpoint is false' });
    for (const run of [missing, existing]) expect(statesEntered(run.history)).not.toContain('CreateModel');
    expect(await countAll()).toEqual(before);
    expect(await resourcesNamed(stack.sagemaker.sagemaker, 'iris-refused')).toEqual({ models: [], endpointConfigs: [], endpoints: [] });
    expect(retriedErrors(missing.history)).toEqual([]);
  });

  it('retries throttled SageMaker calls with backoff and still deploys; the history shows each retry', async () => {
    // Prepare: throttle the look-up, every create call, and the status polls once the endpoint is being created.
    stack.proxy.inject('DescribeEndpoint', 2);
    stack.proxy.inject('CreateModel', 2);
    stack.proxy.inject('CreateEndpointConfig', 1);
    stack.proxy.inject('CreateEndpoint', 3);
    stack.proxy.inject('ListModels', 1);
    const pollThrottles = { operation: 'DescribeEndpoint', times: 2, after: 'CreateEndpoint' };

    // Act
    const mark = stack.proxy.requests.length;
    const runs = stack.execute('deploy-pipeline-model', irisPipeline('iris-throttled'));
    // The look-up's throttles must be spent before the polls' are armed, so wait for the first CreateModel.
    await waitFor(() => stack.proxy.requests.slice(mark).some((r) => r.operation === 'CreateModel' && r.fault === undefined));
    stack.proxy.inject(pollThrottles.operation, pollThrottles.times, { after: pollThrottles.after });
    const run = await runs;

    // Assess
    expect(run.description.status, run.description.cause).toBe('SUCCEEDED');
    const retried = retriedErrors(run.history);
    const count = (state: string) => retried.filter((r) => r.state === state).length;
    expect(new Set(retried.map((r) => r.error))).toEqual(new Set(['SageMaker.ThrottlingException']));
    expect([count('FindEndpoint'), count('CreateModel'), count('CreateEndpointConfig'), count('CreateEndpoint'), count('DescribeEndpoint')]).toEqual([2, 2, 1, 3, 2]);
    expect(stack.proxy.pending()).toEqual({ ListModels: 1 });
    const throttled = stack.proxy.requests.slice(mark).filter((r) => r.fault === 'ThrottlingException').map((r) => r.operation);
    expect(throttled.sort()).toEqual(['CreateEndpoint', 'CreateEndpoint', 'CreateEndpoint', 'CreateEndpointConfig', 'CreateModel', 'CreateModel', 'DescribeEndpoint', 'DescribeEndpoint', 'DescribeEndpoint', 'DescribeEndpoint']);
    expect(await invokeLabels(stack.sagemaker.runtime, 'iris-throttled', rows)).toEqual(expected);
    stack.proxy.reset();
  });
});
