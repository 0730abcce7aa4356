/**
 * A 100,000-row CSV batch transform through the emulator (CreateTransformJob to Completed: its own container
 * started, the object read from S3, MultiRecord batches of up to 1 MB, two in flight, the output written back)
 * against an in-process onnxruntime loop over the same rows in batches of the same size (parse the CSV,
 * run, format CSV answers). Target throughput ratio (emulator rows/s over in-process rows/s) ≥ 0.5.
 *
 * The emulator (with s3rver) runs in its own process. `npx tsx bench/run.ts batch-transform`
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateModelCommand, CreateTransformJobCommand, DescribeTransformJobCommand } from '@aws-sdk/client-sagemaker';
import * as ort from 'onnxruntime-node';
import { createS3Client, createSageMakerClient } from '../src/aws/clients';
import { startSageMakerServer } from '../src/local/sagemaker';
import { buildBallastLinearModel, packOnnxModel } from '../src/onnx';

const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const ROLE = 'arn:aws:iam::000000000000:role/Bench';
const ROWS = 100_000;
const MAX_PAYLOAD_BYTES = 1024 * 1024;
const MODEL = buildBallastLinearModel({ weights: [0.5, -1.25, 2], bias: 3, ballastBytes: 0 });

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}

function dataset(): string {
  let state = 7;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state / 2147483648) * 10;
  };
  const lines: string[] = [];
  for (let i = 0; i < ROWS; i++) lines.push(`${next().toFixed(4)},${next().toFixed(4)},${next().toFixed(4)}`);
  return lines.join('\n') + '\n';
}

async function emulatorRole(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'bench-transform-'));
  process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  const S3rver = createRequire(import.meta.url)('s3rver') as new (o: Record<string, unknown>) => S3rverInstance;
  const s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: join(root, 's3') });
  const { port } = await s3rver.run();
  const s3Url = `http://127.0.0.1:${port}`;
  const s3 = createS3Client({ endpoint: s3Url, credentials: CREDENTIALS, region: 'us-east-1' });
  await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
  await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: 'model.tar.gz', Body: await packOnnxModel(MODEL) }));
  await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: 'in/rows.csv', Body: dataset() }));
  const server = await startSageMakerServer({ s3, dataDir: join(root, 'data'), provisioningSeconds: 0, timeScale: 1 });
  const sm = createSageMakerClient({ endpoint: server.url, credentials: CREDENTIALS, region: 'us-east-1' });
  await sm.send(new CreateModelCommand({ ModelName: 'linear', ExecutionRoleArn: ROLE, PrimaryContainer: { Image: 'smhost/onnxruntime:1', ModelDataUrl: 's3://bench/model.tar.gz' } }));
  console.log(JSON.stringify({ url: server.url, s3Url, logsDir: join(root, 'data', 'logs') }));
  process.on('SIGTERM', () => {
    void (async () => {
      await server.close();
      await s3rver.close();
      process.exit(0);
    })();
  });
}

function startChild(args: string[]): Promise<{ child: ChildProcess; info: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, info: JSON.parse(line) as Record<string, unknown> });
    });
    child.once('exit', (code) => reject(new Error(`child exited with ${code} before it was ready`)));
  });
}

/** The in-process baseline: same rows, same batch boundaries, CSV in and out. */
async function inProcess(csv: string): Promise<{ ms: number; output: string }> {
  const started = performance.now();
  const session = await ort.InferenceSession.create(MODEL, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const lines = csv.split('\n').filter((l) => l !== '');
  const out: string[] = [];
  let batch: string[] = [];
  let size = 0;
  const flush = async () => {
    const values = new Float32Array(batch.length * 3);
    batch.forEach((line, i) => line.split(',').forEach((cell, j) => (values[i * 3 + j] = Number(cell))));
    const result = await session.run({ x: new ort.Tensor('float32', values, [batch.length, 3]) });
    for (const v of result.y!.data as Float32Array) out.push(String(v));
    batch = [];
    size = 0;
  };
  for (const line of lines) {
    if (batch.length > 0 && size + line.length + 1 > MAX_PAYLOAD_BYTES) await flush();
    batch.push(line);
    size += line.length + 1;
  }
  if (batch.length > 0) await flush();
  const output = out.join('\n') + '\n';
  await session.release();
  return { ms: performance.now() - started, output };
}

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const tsx = createRequire(import.meta.url).resolve('tsx');
  const { child, info } = await startChild(['--import', tsx, self, 'emulator']);
  const s3 = createS3Client({ endpoint: String(info.s3Url), credentials: CREDENTIALS, region: 'us-east-1' });
  const sm = createSageMakerClient({ endpoint: String(info.url), credentials: CREDENTIALS, region: 'us-east-1' });
  try {
    const csv = dataset();
    const emulatorRuns: number[] = [];
    const processingRuns: number[] = [];
    // The job's own log stamps when its containers were ready and when it completed.
    const processingMs = async (name: string) => {
      const log = await readFile(join(String(info.logsDir), 'transform-jobs', name, 'transform.log'), 'utf8');
      const at = (event: string) => Date.parse(log.split('\n').find((l) => l.endsWith(event))!.split(' ')[0]!);
      return at('completed') - at('containers ready');
    };
    const baselineRuns: number[] = [];
    let emulatorOutput = '';
    let baselineOutput = '';
    for (let round = 0; round < 3; round++) {
      const name = `rows-${round}`;
      const started = performance.now();
      await sm.send(
        new CreateTransformJobCommand({
          TransformJobName: name,
          ModelName: 'linear',
          TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://bench/in/' } }, ContentType: 'text/csv', SplitType: 'Line' },
          TransformOutput: { S3OutputPath: `s3://bench/out/${name}`, Accept: 'text/csv', AssembleWith: 'Line' },
          TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1 },
          BatchStrategy: 'MultiRecord',
          MaxPayloadInMB: MAX_PAYLOAD_BYTES / 1024 / 1024,
          MaxConcurrentTransforms: 2,
        }),
      );
      for (;;) {
        const d = await sm.send(new DescribeTransformJobCommand({ TransformJobName: name }));
        if (d.TransformJobStatus === 'Completed') break;
        if (d.TransformJobStatus === 'Failed') throw new Error(d.FailureReason);
        await new Promise((r) => setTimeout(r, 5));
      }
      emulatorRuns.push(performance.now() - started);
      processingRuns.push(await processingMs(name));
      const got = await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: `out/${name}/rows.csv.out` }));
      emulatorOutput = Buffer.from(await got.Body!.transformToByteArray()).toString();
      const base = await inProcess(csv);
      baselineRuns.push(base.ms);
      baselineOutput = base.output;
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[1]!;
    const emu = median(emulatorRuns);
    const base = median(baselineRuns);
    const expected = baselineOutput.split('\n');
    const got = emulatorOutput.split('\n');
    const same = got.length === expected.length && got.every((line, i) => Math.abs(Number(line) - Number(expected[i])) < 1e-4);
    console.log(`${ROWS} CSV rows, MultiRecord batches ≤ ${MAX_PAYLOAD_BYTES / 1024 / 1024} MB, 2 in flight; outputs equal: ${same}`);
    const processing = median(processingRuns);
    console.log(
      `emulator once its container is up (read, batches, write): ${processing.toFixed(0)} ms = ${((ROWS / processing) * 1000).toFixed(0)} rows/s; throughput ratio ${(base / processing).toFixed(2)}`,
    );
    console.log(
      `emulator (CreateTransformJob → Completed, median of 3): ${emu.toFixed(0)} ms = ${((ROWS / emu) * 1000).toFixed(0)} rows/s; in-process onnxruntime: ${base.toFixed(0)} ms = ${((ROWS / base) * 1000).toFixed(0)} rows/s; end-to-end throughput ratio ${(base / emu).toFixed(2)} (target ≥ 0.5; includes starting the container)`,
    );
  } finally {
    s3.destroy();
    sm.destroy();
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  }
}

if (process.argv[2] === 'emulator') await emulatorRole();
else await main();
