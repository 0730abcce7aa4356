/**
 * Multi-model endpoint through the emulator, in one run:
 * - first-call latency (fetch from S3, safe extraction, load into the container, one prediction) against
 *   doing the same directly in one process: GetObject, `extractArchive`, `InferenceSession.create`, `run`,
 *   on artifacts of the same size (target ratio ≤ 1.3);
 * - cached-call overhead: the p50 of a call to a loaded model of the multi-model endpoint against the p50 of
 *   a single-model endpoint serving the same graph through the same emulator (what issue 4 measures).
 *
 * The emulator (with s3rver) runs in its own process. `npx tsx bench/run.ts multi-model`
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand, DescribeEndpointCommand } from '@aws-sdk/client-sagemaker';
import { ort } from '../src/onnx/runtime';
import { extractArchive } from '../src/artifacts';
import { createS3Client } from '../src/aws/clients';
import { buildBallastLinearModel, packOnnxModel } from '../src/onnx';
import { CREDENTIALS, ROLE, startBenchEmulator, startEmulatorChild } from './emulator-child';

const ROUNDS = 15;
const BALLAST = 4 * 1024 * 1024;

const artifact = (i: number) => packOnnxModel(buildBallastLinearModel({ weights: [1, 1, 1], bias: i, ballastBytes: BALLAST, seed: i + 1 }));

async function emulatorRole(): Promise<void> {
  const { s3, s3Url, server, sagemaker: sm } = await startBenchEmulator('bench-mme-');
  // Artifacts 0..ROUNDS-1 for the emulator, ROUNDS..2*ROUNDS-1 for the direct baseline: none is cached anywhere.
  for (let i = 0; i < 2 * ROUNDS; i++) await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: `mme/m${i}.tar.gz`, Body: await artifact(i) }));
  await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: 'single/model.tar.gz', Body: await artifact(0) }));
  const endpoint = async (name: string, container: Record<string, unknown>) => {
    await sm.send(new CreateModelCommand({ ModelName: name, ExecutionRoleArn: ROLE, PrimaryContainer: { Image: 'smhost/onnxruntime:1', ...container } }));
    await sm.send(
      new CreateEndpointConfigCommand({ EndpointConfigName: name, ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: name, InitialInstanceCount: 1, InstanceType: 'ml.m5.large' }] }),
    );
    await sm.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: name }));
    for (;;) {
      const d = await sm.send(new DescribeEndpointCommand({ EndpointName: name }));
      if (d.EndpointStatus === 'InService') return;
      if (d.EndpointStatus === 'Failed') throw new Error(d.FailureReason);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await endpoint('mme', { Mode: 'MultiModel', ModelDataUrl: 's3://bench/mme/' });
  await endpoint('single', { ModelDataUrl: 's3://bench/single/model.tar.gz' });
  console.log(JSON.stringify({ url: server.url, s3Url }));
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const BODY = Buffer.from(JSON.stringify({ instances: [[1, 2, 3]] }));

function invoke(url: string, endpoint: string, targetModel?: string): Promise<number> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': BODY.length };
    if (targetModel) headers['x-amzn-sagemaker-target-model'] = targetModel;
    const req = request({ host: target.hostname, port: target.port, path: `/endpoints/${endpoint}/invocations`, method: 'POST', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(BODY);
  });
}

const p50 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const { child, info } = await startEmulatorChild(self);
  const work = await mkdtemp(join(tmpdir(), 'bench-mme-direct-'));
  const s3 = createS3Client({ endpoint: String(info.s3Url), credentials: CREDENTIALS, region: 'us-east-1' });
  try {
    const url = String(info.url);
    const direct = async (i: number) => {
      const started = performance.now();
      const got = await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: `mme/m${i}.tar.gz` }));
      const dir = join(work, `m${i}`);
      await extractArchive(got.Body as NodeJS.ReadableStream as never, dir);
      const session = await ort.InferenceSession.create(join(dir, 'model.onnx'), { intraOpNumThreads: 1, interOpNumThreads: 1, enableCpuMemArena: false });
      await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3]), [1, 3]) });
      const elapsed = performance.now() - started;
      await session.release();
      return elapsed;
    };
    // One warm-up of each path, so neither pays onnxruntime's first-load initialisation in the figures.
    await direct(2 * ROUNDS - 1);
    await invoke(url, 'mme', `m${ROUNDS - 1}.tar.gz`);
    const emulatorFirst: number[] = [];
    const directFirst: number[] = [];
    for (let i = 0; i < ROUNDS - 1; i++) {
      emulatorFirst.push(await invoke(url, 'mme', `m${i}.tar.gz`));
      directFirst.push(await direct(ROUNDS + i));
    }
    const cached: number[] = [];
    const single: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 300; i++) cached.push(await invoke(url, 'mme', 'm0.tar.gz'));
      for (let i = 0; i < 300; i++) single.push(await invoke(url, 'single'));
    }
    console.log(`artifacts: ${BALLAST / 1024 / 1024} MiB of weights each, ${ROUNDS - 1} first calls per side`);
    console.log(
      `first call p50: emulator ${p50(emulatorFirst).toFixed(1)} ms, direct fetch+extract+load+run ${p50(directFirst).toFixed(1)} ms, ratio ${(p50(emulatorFirst) / p50(directFirst)).toFixed(2)} (target ≤ 1.3)`,
    );
    console.log(
      `cached call p50: multi-model ${p50(cached).toFixed(3)} ms, single-model endpoint ${p50(single).toFixed(3)} ms, added ${(p50(cached) - p50(single)).toFixed(3)} ms`,
    );
  } finally {
    agent.destroy();
    s3.destroy();
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'emulator') await emulatorRole();
else await main();
