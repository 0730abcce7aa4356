/**
 * The harness of the end-to-end state machine tests: the project's `serverless.yml` state machines, read
 * from their real ASL files by the local Step Functions and served over HTTP, with their SageMaker tasks
 * carried out by the SageMaker emulator behind a fault proxy (so throttling can be injected where AWS would
 * answer it), S3 by the emulator's s3rver and DynamoDB by dynalite. Tests drive it through SDK clients
 * built by `src/aws/clients.ts`, the way CI drives AWS.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import {
  ListEndpointConfigsCommand,
  ListEndpointsCommand,
  ListModelsCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import {
  DescribeExecutionCommand,
  StartExecutionCommand,
  type DescribeExecutionCommandOutput,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { createSfnClient } from '../../../src/aws/clients';
import { startLocalStepFunctions, type LocalStepFunctions } from '../../../src/local/stepfunctions';
import { history as executionHistory } from '../../local/stepfunctions/support';
import type { SageMakerEmulatorOptions } from '../../../src/local/sagemaker';
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { ort } from '../../../src/onnx/runtime';
import { CREDENTIALS, floatTensor, irisModels, ONNX_IMAGE, runDirect, startStack, type TestStack } from '../../local/sagemaker/support';
import { startLocalDynamo, type LocalDynamo } from '../../support/local-aws';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy';

const SERVERLESS_YML = fileURLToPath(new URL('../../../serverless.yml', import.meta.url));

/** What `serverless.yml` resolves to with no stage or account given: the names the state machines use. */
export const SERVICE = 'smhost-dev';
export const ARTIFACTS_BUCKET = 'smhost-dev-artifacts-000000000000';
export const REGISTRY_TABLE = 'smhost-dev-registry';

/** The workflows `serverless.yml` declares, by the file name of their definition. */
export type Workflow = 'deploy-pipeline-model' | 'deploy-multi-model-endpoint' | 'register-model-package' | 'batch-transform';

export interface E2eOptions {
  /**
   * Local clock speed of both Step Functions and the emulator: one scale, so a Wait state's emulated
   * seconds and the emulator's provisioning seconds are the same seconds.
   */
  timeScale: number;
  /** Emulated seconds an instance takes before its containers start (SageMaker's provisioning). */
  provisioningSeconds?: number;
  /** Image URI → local command, for containers the built-in ONNX server does not stand for. */
  images?: Record<string, { command: string[] }>;
  /** Start dynalite with the registry table, for the multi-model deployment's registry item. */
  dynamo?: boolean;
}

export interface E2eStack {
  /** s3rver, the emulator and clients straight to them (never through the fault proxy). */
  sagemaker: TestStack;
  /** In front of the emulator: what the state machines' SageMaker tasks call. */
  proxy: FaultProxy;
  dynamo?: LocalDynamo;
  local: LocalStepFunctions;
  /** The Step Functions API over HTTP. */
  sfn: SFNClient;
  timeScale: number;
  stateMachineArn(workflow: Workflow): string;
  /** Starts an execution of `workflow` through the API and waits until it has ended. */
  execute(workflow: Workflow, input: unknown, name?: string): Promise<ExecutionResult>;
  close(): Promise<void>;
}

export interface ExecutionResult {
  description: DescribeExecutionCommandOutput;
  history: HistoryEvent[];
  /** Output parsed from JSON (successful executions). */
  output: Record<string, any> | undefined;
}

/** Starts the emulator (with its s3rver), the fault proxy, dynalite if asked, and the local Step Functions. */
export async function startE2eStack(options: E2eOptions): Promise<E2eStack> {
  const mapDir = mkdtempSync(join(tmpdir(), 'sfn-e2e-images-'));
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(mapDir, { recursive: true, force: true })];
  const closeAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  };
  try {
    const imageMapFile = join(mapDir, 'image-map.json');
    writeFileSync(imageMapFile, JSON.stringify({ images: options.images ?? {} }));
    const emulatorOptions: Partial<SageMakerEmulatorOptions> = {
      timeScale: options.timeScale,
      imageMapFile,
      ...(options.provisioningSeconds !== undefined ? { provisioningSeconds: options.provisioningSeconds } : {}),
    };
    const sagemaker = await startStack(emulatorOptions);
    cleanups.push(() => sagemaker.stop());
    await sagemaker.s3.send(new CreateBucketCommand({ Bucket: ARTIFACTS_BUCKET }));
    const proxy = await startFaultProxy(sagemaker.server.url);
    cleanups.push(() => proxy.close());
    const dynamo = options.dynamo ? await startLocalDynamo({ table: REGISTRY_TABLE }) : undefined;
    if (dynamo) cleanups.push(() => dynamo.stop());
    const local = await startLocalStepFunctions({
      serverlessYml: SERVERLESS_YML,
      readOptions: { env: {} },
      // Nothing answers here: every service the tasks call has its own endpoint below.
      endpointUrl: 'http://127.0.0.1:9',
      endpoints: { sagemaker: proxy.url, s3: sagemaker.s3Endpoint, ...(dynamo ? { dynamodb: dynamo.endpoint } : {}) },
      credentials: CREDENTIALS,
      timeScale: options.timeScale,
      runSchedules: false,
    });
    cleanups.push(() => local.close());
    const server: Server = createServer((req, res) => void local.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const sfn = createSfnClient({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: 'us-east-1',
      credentials: CREDENTIALS,
      maxAttempts: 1,
    });
    cleanups.push(() => sfn.destroy());
    const stateMachineArn = (workflow: Workflow) => local.service.stateMachineArn(`${SERVICE}-${workflow}`);
    return {
      sagemaker,
      proxy,
      ...(dynamo ? { dynamo } : {}),
      local,
      sfn,
      timeScale: options.timeScale,
      stateMachineArn,
      async execute(workflow, input, name) {
        const started = await sfn.send(
          new StartExecutionCommand({ stateMachineArn: stateMachineArn(workflow), input: JSON.stringify(input), ...(name ? { name } : {}) }),
        );
        await local.service.waitForExecution(started.executionArn!);
        const description = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
        const history = await executionHistory(sfn, started.executionArn!);
        return { description, history, output: description.output ? JSON.parse(description.output) : undefined };
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** The whole history of an execution, page by page through the API (the local Step Functions tests' helper). */
export { history as executionHistory } from '../../local/stepfunctions/support';

/** The states entered, in order: Step Functions bills one transition for each. */
export function statesEntered(history: HistoryEvent[]): string[] {
  return history.filter((event) => event.type?.endsWith('StateEntered')).map((event) => event.stateEnteredEventDetails!.name!);
}

/**
 * The failed attempts of each task state that were retried: a `TaskFailed` followed, within the same
 * state, by another `TaskScheduled` (a retry enters no state again, so it is seen only this way).
 */
export function retriedErrors(history: HistoryEvent[]): { state: string; error: string }[] {
  const retried: { state: string; error: string }[] = [];
  let state = '';
  let failed: string | undefined;
  for (const event of history) {
    if (event.type?.endsWith('StateEntered')) {
      state = event.stateEnteredEventDetails!.name!;
      failed = undefined;
    } else if (event.type === 'TaskFailed') {
      failed = event.taskFailedEventDetails?.error ?? 'unknown';
    } else if (event.type === 'TaskScheduled' && failed !== undefined) {
      retried.push({ state, error: failed });
      failed = undefined;
    }
  }
  return retried;
}

/** The SageMaker resources whose name contains `fragment`: what an execution left behind. */
export async function resourcesNamed(sagemaker: SageMakerClient, fragment: string) {
  const [models, configs, endpoints] = await Promise.all([
    sagemaker.send(new ListModelsCommand({ NameContains: fragment, MaxResults: 100 })),
    sagemaker.send(new ListEndpointConfigsCommand({ NameContains: fragment, MaxResults: 100 })),
    sagemaker.send(new ListEndpointsCommand({ NameContains: fragment, MaxResults: 100 })),
  ]);
  return {
    models: (models.Models ?? []).map((m) => m.ModelName!).sort(),
    endpointConfigs: (configs.EndpointConfigs ?? []).map((c) => c.EndpointConfigName!).sort(),
    endpoints: (endpoints.Endpoints ?? []).map((e) => `${e.EndpointName}:${e.EndpointStatus}`).sort(),
  };
}

/** The labels the three Iris graphs give when run one after another directly in onnxruntime: the reference. */
export async function irisLabels(rows: number[][]): Promise<string[]> {
  const models = await irisModels();
  const scaled = await runDirect(models.scaler, floatTensor(rows));
  const label = await runDirect(models.classifier, new ort.Tensor('float32', scaled.data as Float32Array, scaled.dims));
  const decoded = await runDirect(models.decoder, new ort.Tensor('int64', label.data as BigInt64Array, label.dims));
  return Array.from(decoded.data as string[]);
}

/** Asks an endpoint for the labels of `rows` (JSON in, JSON out). */
export async function invokeLabels(runtime: SageMakerRuntimeClient, endpointName: string, rows: number[][]): Promise<string[]> {
  const response = await runtime.send(
    new InvokeEndpointCommand({ EndpointName: endpointName, ContentType: 'application/json', Body: Buffer.from(JSON.stringify({ instances: rows })) }),
  );
  return (JSON.parse(Buffer.from(response.Body!).toString('utf8')) as { predictions: string[] }).predictions;
}

/** The three Iris models' S3 URLs, as `uploadIris` returns them. */
export interface IrisUrls {
  scaler: string;
  classifier: string;
  decoder: string;
}

/** A deploy-pipeline-model input running the three Iris models in series; `more` overrides or adds fields. */
export function irisPipelineInput(urls: IrisUrls, endpointName: string, more: Record<string, unknown> = {}) {
  return {
    endpointName,
    instanceType: 'ml.m5.large',
    containers: [
      { image: ONNX_IMAGE, modelDataUrl: urls.scaler, containerHostname: 'scaler' },
      { image: ONNX_IMAGE, modelDataUrl: urls.classifier, containerHostname: 'classifier' },
      { image: ONNX_IMAGE, modelDataUrl: urls.decoder, containerHostname: 'decoder' },
    ],
    ...more,
  };
}
