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
import { runBin } from './run-bin';

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
    expect(progress).toContain('  FindEndpoint: endpoint iris-run does not exist yet (SageMaker.ValidationException), handled by its Catch');
    expect(progress.filter((line) => /Exception/.test(line) && !/handled by its Catch|retrying/.test(line))).toEqual([]);
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
    expect(missing.stderr()).toBe(
      'smhost: no state machine smhost-prod-deploy-pipeline-model; the machines of this workflow that exist: ' +
        'smhost-dev-deploy-pipeline-model (pick the stage with --stage)\n',
    );
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

  it('never starts another stage\'s machine: --stage prod with only dev deployed exits 3 and starts nothing', async () => {
    // Prepare
    const input = await inputFile('prod.json', pipelineInput('iris-prod', urls.classifier));
    const machine = 'arn:aws:states:us-east-1:000000000000:stateMachine:smhost-dev-deploy-pipeline-model';
    const sfn = factory({ json: false }, {}).clients.sfn;
    const before = (await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine }))).executions?.length ?? 0;

    // Act
    const result = await run(['--stage', 'prod', 'run', 'deploy-pipeline-model', '--input', input, '--wait'], factory);

    // Assess
    expect(result.code).toBe(3);
    expect(result.stderr()).toBe(
      'smhost: no state machine smhost-prod-deploy-pipeline-model (workflow deploy-pipeline-model of stage "prod"); ' +
        'the machines of this workflow that exist: smhost-dev-deploy-pipeline-model (pick the stage with --stage)\n',
    );
    expect((await sfn.send(new ListExecutionsCommand({ stateMachineArn: machine }))).executions?.length ?? 0).toBe(before);
    sfn.destroy();
  });

  it('on Ctrl-C (SIGINT to the command) exits 130, printing the execution that goes on and how to stop it', async () => {
    // Prepare: the first poll comes after 600 s, 6 real seconds at this time scale, so the execution is waiting.
    const input = await inputFile('interrupted.json', { ...pipelineInput('iris-interrupted', urls.classifier), wait: { initialSeconds: 600, maxSeconds: 600, timeoutSeconds: 7200 } });
    let signalled = false;

    // Act
    const result = await runBin(['run', 'deploy-pipeline-model', '--input', input, '--wait', '--poll', '0.1'], {
      env: { AWS_ENDPOINT_URL: sfnUrl, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey },
      onStderr: (stderr, child) => {
        if (!signalled && stderr.includes('→ WaitForEndpoint')) {
          signalled = true;
          child.kill('SIGINT');
        }
      },
    });

    // Assess
    expect(result.code, result.stderr).toBe(130);
    const arn = /started (arn:aws:states:\S+)/.exec(result.stderr)?.[1];
    expect(arn).toBeDefined();
    expect(result.stderr).toContain(
      `smhost: interrupted; stopped following the execution (it goes on: ${arn}; to stop it: aws stepfunctions stop-execution --execution-arn ${arn})`,
    );
    const sfn = factory({ json: false }, {}).clients.sfn;
    const { executions } = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:smhost-dev-deploy-pipeline-model', statusFilter: 'RUNNING' }),
    );
    expect(executions?.map((e) => e.executionArn)).toContain(arn);
    sfn.destroy();
  }, 60_000);
});
