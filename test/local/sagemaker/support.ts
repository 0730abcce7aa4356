/**
 * Shared pieces of the emulator tests: s3rver in process on a free port, the emulator on its own server,
 * SDK clients built by `src/aws/clients.ts`, and the Iris models (scaler, classifier, label decoder) built
 * with `src/onnx` and uploaded as real `model.tar.gz` files.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DescribeEndpointCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { ort } from '../../../src/onnx/runtime';
import { createS3Client, createSageMakerClient, createSageMakerRuntimeClient } from '../../../src/aws/clients';
import {
  buildLabelDecoderModel,
  buildScalerModel,
  buildSoftmaxClassifierModel,
  fitStandardScaler,
  loadIris,
  packOnnxModel,
  trainSoftmaxRegression,
} from '../../../src/onnx';
import { startSageMakerServer, type SageMakerEmulatorOptions, type SageMakerServer } from '../../../src/local/sagemaker';

export const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
export const BUCKET = 'models';
export const ROLE = 'arn:aws:iam::000000000000:role/SageMakerRole';
export const ONNX_IMAGE = 'smhost/onnxruntime:1';

/**
 * A user container (run as `node -e`) that answers every invocation with the request's own bytes and content
 * type, and `echoed <length>` as custom attributes; a body starting `sleep:<ms>` is answered after that long.
 */
export const ECHO_CONTAINER = `require('node:http').createServer((req, res) => {
  if (req.url === '/ping') return res.end();
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const sleep = /^sleep:(\\d+)/.exec(body.toString('latin1', 0, 20));
    setTimeout(() => {
      res.writeHead(200, { 'content-type': req.headers['content-type'], 'x-amzn-sagemaker-custom-attributes': 'echoed ' + body.length });
      res.end(body);
    }, sleep ? Number(sleep[1]) : 0);
  });
}).listen(Number(process.env.SAGEMAKER_BIND_TO_PORT), '127.0.0.1')`;

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: Record<string, unknown>) => S3rverInstance;

export interface TestStack {
  s3: S3Client;
  s3Endpoint: string;
  server: SageMakerServer;
  sagemaker: SageMakerClient;
  runtime: ReturnType<typeof createSageMakerRuntimeClient>;
  dataDir: string;
  /** Uploads bytes as `s3://models/<key>` and returns the URL. */
  put(key: string, body: Uint8Array | string): Promise<string>;
  /** Restarts the emulator on the same data dir (a new port). */
  restart(options?: Partial<SageMakerEmulatorOptions>): Promise<void>;
  stop(): Promise<void>;
}

/** Starts s3rver and the emulator (fast time scale) in a temporary folder. */
export async function startStack(options: Partial<SageMakerEmulatorOptions> = {}): Promise<TestStack> {
  const root = await mkdtemp(join(tmpdir(), 'sm-emulator-'));
  const s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: join(root, 's3') });
  const { port } = await s3rver.run();
  const s3Endpoint = `http://127.0.0.1:${port}`;
  const s3 = createS3Client({ endpoint: s3Endpoint, credentials: CREDENTIALS, region: 'us-east-1' });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const dataDir = join(root, 'data');
  const base: SageMakerEmulatorOptions = { s3, dataDir, timeScale: 0.001, minHealthCheckTimeoutMs: 30_000, region: 'us-east-1', ...options };
  const stack: TestStack = {
    s3,
    s3Endpoint,
    dataDir,
    server: await startSageMakerServer(base),
    sagemaker: undefined as unknown as SageMakerClient,
    runtime: undefined as unknown as TestStack['runtime'],
    async put(key, body) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: typeof body === 'string' ? body : Buffer.from(body) }));
      return `s3://${BUCKET}/${key}`;
    },
    async restart(more = {}) {
      await stack.server.close();
      stack.sagemaker.destroy();
      stack.runtime.destroy();
      stack.server = await startSageMakerServer({ ...base, ...more });
      connect();
    },
    async stop() {
      await stack.server.close();
      stack.sagemaker.destroy();
      stack.runtime.destroy();
      s3.destroy();
      await s3rver.close();
      await rm(root, { recursive: true, force: true });
    },
  };
  const connect = () => {
    const clientOptions = { endpoint: stack.server.url, credentials: CREDENTIALS, region: 'us-east-1', maxAttempts: 1 };
    stack.sagemaker = createSageMakerClient(clientOptions);
    stack.runtime = createSageMakerRuntimeClient(clientOptions);
  };
  connect();
  return stack;
}

/** Polls DescribeEndpoint until the status is one of `statuses` (or the time runs out). */
export async function waitForEndpoint(sagemaker: SageMakerClient, name: string, statuses: string[], timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  const seen: string[] = [];
  for (;;) {
    const d = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: name }));
    const status = d.EndpointStatus ?? 'unknown';
    if (seen[seen.length - 1] !== status) seen.push(status);
    if (statuses.includes(status)) return { description: d, seen };
    if (Date.now() > deadline) throw new Error(`endpoint ${name} still ${status} (seen ${seen.join(' → ')}) after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface IrisModels {
  scaler: Uint8Array;
  classifier: Uint8Array;
  decoder: Uint8Array;
  rows: number[][];
  classNames: string[];
}

let iris: IrisModels | undefined;

/** The three Iris models; the classifier is trained on scaled rows, as a pipeline would feed it. */
export async function irisModels(): Promise<IrisModels> {
  if (iris) return iris;
  const { features, labels, classNames } = loadIris();
  const scalerParams = fitStandardScaler(features);
  const scaler = buildScalerModel(scalerParams);
  const scaled = features.map((row) => row.map((x, j) => (x - scalerParams.mean[j]!) / scalerParams.scale[j]!));
  const classifier = buildSoftmaxClassifierModel(trainSoftmaxRegression(scaled, labels, 3, { epochs: 200 }));
  iris = { scaler, classifier, decoder: buildLabelDecoderModel(classNames), rows: features, classNames };
  return iris;
}

/** Uploads the three Iris models as `model.tar.gz` files and returns their URLs. */
export async function uploadIris(stack: TestStack, prefix = 'iris') {
  const m = await irisModels();
  return {
    scaler: await stack.put(`${prefix}/scaler/model.tar.gz`, await packOnnxModel(m.scaler)),
    classifier: await stack.put(`${prefix}/classifier/model.tar.gz`, await packOnnxModel(m.classifier)),
    decoder: await stack.put(`${prefix}/decoder/model.tar.gz`, await packOnnxModel(m.decoder)),
  };
}

/** Runs a graph directly in onnxruntime on float rows and returns its first output as rows (the reference). */
export async function runDirect(model: Uint8Array, feed: ort.Tensor): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(model);
  try {
    const out = await session.run({ [session.inputNames[0]!]: feed });
    return out[session.outputNames[0]!]!;
  } finally {
    await session.release();
  }
}

export function floatTensor(rows: number[][]): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0]!.length]);
}

/** True when a process with this pid is alive. */
export function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
