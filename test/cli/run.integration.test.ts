/**
 * `smhost run` against real services: the local Step Functions running the project's serverless.yml state
 * machines from their real ASL files (the prepare function run by its real handler), over HTTP through the
 * CLI's own SFN client, with their SageMaker tasks carried out by the SageMaker emulator serving the Iris models.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { DescribeEndpointCommand, ListModelsCommand } from '@aws-sdk/client-sagemaker';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../src/aws/clients';
import { stackNames } from '../../src/aws/stack-names';
import type { ContextFactory } from '../../src/cli/context';
import { serveOnLoopback, type LoopbackServer } from '../../src/local/edge/loopback-server';
import type { LocalStepFunctions } from '../../src/local/stepfunctions';
import { CREDENTIALS, ONNX_IMAGE, startStack, uploadIris, type TestStack } from '../local/sagemaker/support';
import { startProjectStepFunctions } from '../local/stepfunctions/support';
import { run, stubRegistry } from './fakes';

let sagemaker: TestStack;
let local: LocalStepFunctions;
let server: LoopbackServer;
let sfnUrl: string;
let factory: ContextFactory;
let dir: string;
let urls: Awaited<ReturnType<typeof uploadIris>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smhost-run-it-'));
  sagemaker = await startStack();
  await sagemaker.s3.send(new CreateBucketCommand({ Bucket: 'smhost-dev-artifacts-000000000000' }));
  urls = await uploadIris(sagemaker, 'pipelines');
  local = await startProjectStepFunctions(sagemaker);
  server = await serveOnLoopback((req, res) => local.handle(req, res));
  sfnUrl = server.url;
  factory = (options) => {
    const clients = createClients({ endpoint: sfnUrl, credentials: CREDENTIALS, region: 'us-east-1', maxAttempts: 1 });
    const { bucket: _bucket, ...names } = stackNames({ env: {}, ...(options.stage ? { stage: options.stage } : {}) });
    return { clients, names, registry: stubRegistry({}), bucket: async () => 'smhost-dev-artifacts-000000000000' };
  };
}, 60_000);

afterAll(async () => {
  await local?.close();
  await server?.close();
  await sagemaker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function inputFile(name: string, input: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(input));
  return path;
}

function pipelineInput(endpointName: string, classifierUrl: string) {
  return {
    endpointName,
    instanceType: 'ml.m5.large',
    containers: [
      { image: ONNX_IMAGE, modelDataUrl: urls.scaler },
      { image: ONNX_IMAGE, modelDataUrl: classifierUrl },
    ],
    wait: { initialSeconds: 5, maxSeconds: 30, timeoutSeconds: 600 },
  };
}

describe('Command: smhost run (local Step Functions, real state machine files, SageMaker emulator)', () => {
  it('deploys a pipeline endpoint with --wait, printing each state and the endpoint status, and exits 0', async () => {
    // Prepare
    const input = await inputFile('deploy.json', pipelineInput('iris-run', urls.classifier));

    // Act
    const result = await run(['run', 'deploy-pipeline-model', '--input', input, '--wait', '--timeout', '120', '--poll', '0.1', '--json'], factory);

    // Assess
    expect(result.code, result.stderr()).toBe(0);
    const document = JSON.parse(result.stdout());
    expect(document).toMatchObject({
      status: 'SUCCEEDED',
      stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:smhost-dev-deploy-pipeline-model',
      output: { endpointName: 'iris-run' },
    });
    const progress = result.stderr().split('\n');
    expect(progress[0]).toMatch(/^started arn:aws:states:us-east-1:000000000000:execution:smhost-dev-deploy-pipeline-model:/);
    for (const state of ['→ Prepare', '→ CreateModel', '→ CreateEndpointConfig', '→ CreateEndpoint', '→ DescribeEndpoint']) {
      expect(progress).toContain(state);
    }
    expect(progress).toContain('  endpoint iris-run: InService');
    expect(progress.at(-2)).toBe('succeeded');
    const endpoint = await sagemaker.sagemaker.send(new DescribeEndpointCommand({ EndpointName: 'iris-run' }));
    expect(endpoint.EndpointStatus).toBe('InService');
  }, 120_000);

  it('exits 1 with SageMaker\'s failure reason when the endpoint fails, after the execution cleaned up', async () => {
    // Prepare
    const input = await inputFile('broken.json', pipelineInput('iris-broken', 's3://models/pipelines/missing/model.tar.gz'));

    // Act
    const result = await run(['run', 'deploy-pipeline-model', '--input', input, '--wait', '--timeout', '120', '--poll', '0.1', '--json'], factory);

    // Assess
    expect(result.code, result.stderr()).toBe(1);
    const error = JSON.parse(result.stdout()).error;
    expect(error).toMatchObject({ name: 'ExecutionFailedError', status: 'FAILED', error: 'EndpointFailedError' });
    expect(error.cause).toMatch(/missing\/model\.tar\.gz/);
    expect(result.stderr()).toContain('smhost: execution failed: EndpointFailedError: ');
    const models = await sagemaker.sagemaker.send(new ListModelsCommand({ NameContains: 'iris-broken' }));
    expect(models.Models ?? []).toEqual([]);
  }, 120_000);

  it('exits 2 for an input the workflow refuses, starting no execution, and 3 for a state machine that does not exist', async () => {
    // Prepare
    const bad = await inputFile('bad.json', { ...pipelineInput('iris-bad', urls.classifier), instanceType: 'large' });
    const good = await inputFile('good.json', pipelineInput('iris-never', urls.classifier));
    const machine = 'arn:aws:states:us-east-1:000000000000:stateMachine:smhost-dev-deploy-pipeline-model';
    const sfn = factory({ json: false }, {}).clients.sfn;
    const before = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine }))).executions?.length ?? 0;

    // Act
    const refused = await run(['run', 'deploy-pipeline-model', '--input', bad], factory);
    const missing = await run(['--stage', 'prod', 'run', 'smhost-prod-deploy-pipeline-model', '--input', good], factory);

    // Assess
    expect(refused.code).toBe(2);
    expect(refused.stderr()).toMatch(/^smhost: invalid --input ".*bad\.json": deploy-pipeline-model input is invalid: instanceType: /);
    expect(missing.code).toBe(3);
    expect(missing.stderr()).toContain('smhost: no state machine is called "smhost-prod-deploy-pipeline-model"');
    expect((await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine }))).executions?.length ?? 0).toBe(before);
    sfn.destroy();
  });

  it('exits 4 when --timeout passes while the deployment still waits on the endpoint; the execution goes on', async () => {
    // Prepare: the first poll comes after 600 s, 6 real seconds at this time scale.
    const input = await inputFile('slow.json', { ...pipelineInput('iris-slow', urls.classifier), wait: { initialSeconds: 600, maxSeconds: 600, timeoutSeconds: 7200 } });

    // Act
    const result = await run(['run', 'deploy-pipeline-model', '--input', input, '--wait', '--timeout', '1', '--poll', '0.1'], factory);

    // Assess
    expect(result.code).toBe(4);
    expect(result.stderr()).toMatch(/smhost: execution still running after 1 s; stopped waiting \(it goes on: arn:aws:states:.*\)/);
    expect(result.stderr()).toContain('→ WaitForEndpoint');
  }, 30_000);
});
