/**
 * A 100,000-row CSV batch transform through the emulator (CreateTransformJob to Completed: its own container
 * started, the object read from S3, MultiRecord batches of up to 1 MB, two in flight, the output written back)
 * against an in-process onnxruntime loop over the same rows in batches of the same size (parse the CSV,
 * run, format CSV answers). Target throughput ratio (emulator rows/s over in-process rows/s) ≥ 0.5.
 *
 * Printed, each against the same baseline:
 * - the steady-state ratio: the job from its containers being ready to Completed (the target's measure);
 * - the end-to-end ratio: CreateTransformJob to Completed, for jobs after the first, whose container comes
 *   from the emulator's standby process;
 * - the end-to-end ratio of the first job, whose container starts from scratch (Node, onnxruntime's load
 *   and set-up, the model).
 * The job processes about as fast as the in-process loop, so the end-to-end ratio can reach 0.5 only if
 * everything before the first batch (container start, listing and reading the input) takes no longer than
 * the baseline's whole run.
 *
 * The emulator (with s3rver) runs in its own process. `npx tsx bench/run.ts batch-transform`
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateModelCommand, CreateTransformJobCommand, DescribeTransformJobCommand } from '@aws-sdk/client-sagemaker';
import { ort } from '../src/onnx/runtime';
import { createS3Client, createSageMakerClient } from '../src/aws/clients';
import { buildBallastLinearModel, packOnnxModel } from '../src/onnx';
import { CREDENTIALS, ROLE, startBenchEmulator, startEmulatorChild } from './emulator-child';

const ROWS = 100_000;
const MAX_PAYLOAD_BYTES = 1024 * 1024;
const MODEL = buildBallastLinearModel({ weights: [0.5, -1.25, 2], bias: 3, ballastBytes: 0 });

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
  const { s3, s3Url, server, sagemaker: sm, dataDir } = await startBenchEmulator('bench-transform-');
  await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: 'model.tar.gz', Body: await packOnnxModel(MODEL) }));
  await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: 'in/rows.csv', Body: dataset() }));
  await sm.send(new CreateModelCommand({ ModelName: 'linear', ExecutionRoleArn: ROLE, PrimaryContainer: { Image: 'smhost/onnxruntime:1', ModelDataUrl: 's3://bench/model.tar.gz' } }));
  console.log(JSON.stringify({ url: server.url, s3Url, logsDir: join(dataDir, 'logs') }));
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
  const { child, info } = await startEmulatorChild(self);
  const s3 = createS3Client({ endpoint: String(info.s3Url), credentials: CREDENTIALS, region: 'us-east-1' });
  const sm = createSageMakerClient({ endpoint: String(info.url), credentials: CREDENTIALS, region: 'us-east-1' });
  try {
    const csv = dataset();
    // The job's own log stamps when it began starting containers, when they were ready and when it completed.
    const phases = async (name: string) => {
      const log = await readFile(join(String(info.logsDir), 'transform-jobs', name, 'transform.log'), 'utf8');
      const at = (event: string) => Date.parse(log.split('\n').find((l) => l.endsWith(event))!.split(' ')[0]!);
      return { startMs: at('containers ready') - at(`starting containers of model linear`), processingMs: at('completed') - at('containers ready') };
    };
    // Round 0 is the emulator's first built-in container, started from scratch; it leaves a standby process
    // behind, so later rounds show what every job after the first costs.
    const rounds: { endToEndMs: number; startMs: number; processingMs: number; baselineMs: number }[] = [];
    let emulatorOutput = '';
    let baselineOutput = '';
    for (let round = 0; round < 4; round++) {
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
      const endToEndMs = performance.now() - started;
      const got = await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: `out/${name}/rows.csv.out` }));
      emulatorOutput = Buffer.from(await got.Body!.transformToByteArray()).toString();
      const base = await inProcess(csv);
      baselineOutput = base.output;
      rounds.push({ endToEndMs, ...(await phases(name)), baselineMs: base.ms });
    }
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const warm = rounds.slice(1);
    const base = median(rounds.map((r) => r.baselineMs));
    const expected = baselineOutput.split('\n');
    const got = emulatorOutput.split('\n');
    const same = got.length === expected.length && got.every((line, i) => Math.abs(Number(line) - Number(expected[i])) < 1e-4);
    const rate = (ms: number) => `${ms.toFixed(0)} ms = ${((ROWS / ms) * 1000).toFixed(0)} rows/s`;
    const processing = median(warm.map((r) => r.processingMs));
    const endToEnd = median(warm.map((r) => r.endToEndMs));
    const first = rounds[0]!;
    console.log(`${ROWS} CSV rows, MultiRecord batches ≤ ${MAX_PAYLOAD_BYTES / 1024 / 1024} MB, 2 in flight; outputs equal: ${same}`);
    console.log(`baseline, in-process onnxruntime over the same batches (median of 4): ${rate(base)}`);
    console.log(
      `steady-state throughput ratio ${(base / processing).toFixed(2)} (target ≥ 0.5): containers ready → Completed (read from S3, batches, write to S3), median of rounds 2-4: ${rate(processing)}`,
    );
    console.log(
      `end-to-end throughput ratio ${(base / endToEnd).toFixed(2)}: CreateTransformJob → Completed, median of rounds 2-4 (container from the standby process, ready in ${median(warm.map((r) => r.startMs)).toFixed(0)} ms): ${rate(endToEnd)}`,
    );
    console.log(
      `end-to-end throughput ratio ${(base / first.endToEndMs).toFixed(2)}: CreateTransformJob → Completed, round 1 (the emulator's first container, from scratch, ready in ${first.startMs.toFixed(0)} ms): ${rate(first.endToEndMs)}`,
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
