/**
 * InvokeEndpoint through the emulator against the same ONNX model behind a minimal one-hop Node HTTP server,
 * same payloads, concurrency 1 and 8: the emulator's added p50 latency (target ≤ 2 ms) and its throughput
 * ratio (target ≥ 0.5). Also CreateEndpoint → InService for a small model (provisioning delay set to 0, so
 * the figure is the real local work: fetch, safe extraction, process start, /ping), from scratch and from
 * the emulator's standby process.
 *
 * The emulator and the baseline each run in their own process, so neither shares an event loop with the
 * load generator. `npx tsx bench/run.ts invoke-endpoint`
 *
 * Reading the figures: the emulator's path has one hop more than the baseline (client → emulator →
 * container, against client → server), and the bracketed column shows the container alone keeps pace with
 * the baseline. At concurrency 1 the throughput ratio is the latency ratio, and the baseline's whole answer
 * takes about 0.1 ms on this machine, so the ratio can reach 0.5 only if the extra hop (two more process
 * wake-ups, and the emulator's own work: about 60 µs of CPU per request, 45 µs of it in Node's HTTP server
 * reading the request and writing the answer) costs under 0.1 ms. At concurrency 8 the machine's cores
 * are the limit and the ratio follows the CPU each request costs across processes.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand, DescribeEndpointCommand } from '@aws-sdk/client-sagemaker';
import { buildSoftmaxClassifierModel, fitStandardScaler, loadIris, packOnnxModel, trainSoftmaxRegression } from '../src/onnx';
import { ROLE, startBenchEmulator, startChild, startEmulatorChild } from './emulator-child';


/** The baseline: onnxruntime behind one plain HTTP hop, the least any server can do for the same answer. */
const BASELINE_SERVER = `
import { createServer } from 'node:http';
import * as ort from 'onnxruntime-node';
const session = await ort.InferenceSession.create(process.env.MODEL_FILE, { intraOpNumThreads: 1, interOpNumThreads: 1 });
const input = session.inputNames[0], output = session.outputNames[0];
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const rows = JSON.parse(Buffer.concat(chunks).toString()).instances;
    const out = await session.run({ [input]: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0].length]) }, [output]);
    const t = out[output];
    const body = JSON.stringify({ predictions: Array.from(t.data, Number) });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
`;

/** Child role: s3rver + the emulator, one endpoint in service; prints its URL and the creation times. */
async function emulatorRole(): Promise<void> {
  const { s3, server, sagemaker: sm } = await startBenchEmulator('bench-invoke-');
  await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: 'model.tar.gz', Body: await packOnnxModel(Buffer.from(process.env.MODEL_B64!, 'base64')) }));
  await sm.send(new CreateModelCommand({ ModelName: 'm', ExecutionRoleArn: ROLE, PrimaryContainer: { Image: 'smhost/onnxruntime:1', ModelDataUrl: 's3://bench/model.tar.gz' } }));
  await sm.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: 'c',
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'm', InitialInstanceCount: 1, InstanceType: 'ml.m5.large' }],
    }),
  );
  const inService = async (name: string) => {
    const started = performance.now();
    await sm.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: 'c' }));
    for (;;) {
      const d = await sm.send(new DescribeEndpointCommand({ EndpointName: name }));
      if (d.EndpointStatus === 'InService') return performance.now() - started;
      if (d.EndpointStatus === 'Failed') throw new Error(d.FailureReason);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  // First: model data fetched and the built-in container started from scratch (no standby yet). Second:
  // model data cached, container from the standby the first start left. Third: cached, standby turned off.
  const firstMs = await inService('bench');
  const cachedMs = await inService('bench-2');
  process.env.SMHOST_CONTAINER_STANDBY = 'off';
  const scratchMs = await inService('bench-3');
  delete process.env.SMHOST_CONTAINER_STANDBY;
  // The built-in container's own port, to tell the emulator's hop apart from the container's work.
  const containerPort = server.emulator.containers('bench')[0]!.port;
  console.log(JSON.stringify({ url: server.url, firstMs, cachedMs, scratchMs, containerUrl: `http://127.0.0.1:${containerPort}` }));
}

interface Run {
  p50: number;
  p99: number;
  perSecond: number;
}

async function load(url: string, path: string, body: Buffer, concurrency: number, requests: number): Promise<Run> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const started = performance.now();
      const req = request(
        { host: target.hostname, port: target.port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`status ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  for (let i = 0; i < 100; i++) await once();
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        next += 1;
        latencies.push(await once());
      }
    }),
  );
  const elapsed = performance.now() - started;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    p50: latencies[Math.floor(latencies.length * 0.5)]!,
    p99: latencies[Math.floor(latencies.length * 0.99)]!,
    perSecond: (latencies.length / elapsed) * 1000,
  };
}

async function main(): Promise<void> {
  const { features, labels } = loadIris();
  const scaler = fitStandardScaler(features);
  const scaled = features.map((r) => r.map((x, j) => (x - scaler.mean[j]!) / scaler.scale[j]!));
  const model = buildSoftmaxClassifierModel(trainSoftmaxRegression(scaled, labels, 3, { epochs: 100 }));
  const root = await mkdtemp(join(tmpdir(), 'bench-baseline-'));
  const modelFile = join(root, 'model.onnx');
  await writeFile(modelFile, model);
  const self = fileURLToPath(import.meta.url);
  const children: ChildProcess[] = [];
  try {
    const emulator = await startEmulatorChild(self, { MODEL_B64: Buffer.from(model).toString('base64') });
    children.push(emulator.child);
    const baseline = await startChild(['--input-type=module', '-e', BASELINE_SERVER], { MODEL_FILE: modelFile });
    children.push(baseline.child);
    const emulatorUrl = String(emulator.info.url);
    const baselineUrl = `http://127.0.0.1:${baseline.info.port}`;
    const payloads = { 'one row': [scaled[0]], '10 rows': scaled.slice(0, 10) };

    const ms = (key: string) => `${Number(emulator.info[key]).toFixed(0)} ms`;
    console.log(
      `CreateEndpoint → InService (provisioning delay 0): first endpoint ${ms('firstMs')} (model data fetched, container from scratch); ` +
        `model data cached: ${ms('cachedMs')} with the container from the standby process, ${ms('scratchMs')} from scratch (SMHOST_CONTAINER_STANDBY=off)`,
    );
    console.log('payload   conc  baseline p50/p99 ms   emulator p50/p99 ms   added p50 ms  throughput ratio (emulator/baseline)   [container alone: p50 ms, ratio]');
    for (const [label, rows] of Object.entries(payloads)) {
      const body = Buffer.from(JSON.stringify({ instances: rows }));
      for (const concurrency of [1, 8]) {
        const requests = concurrency === 1 ? 1000 : 2000;
        // Rounds alternate the three targets and the median round is kept, so a burst of load from
        // elsewhere on a shared machine does not land on one target only.
        const rounds: { base: Run; emu: Run; alone: Run }[] = [];
        for (let round = 0; round < 3; round++) {
          rounds.push({
            base: await load(baselineUrl, '/invocations', body, concurrency, requests),
            emu: await load(emulatorUrl, '/endpoints/bench/invocations', body, concurrency, requests),
            alone: await load(String(emulator.info.containerUrl), '/invocations', body, concurrency, requests),
          });
        }
        const median = (pick: (r: (typeof rounds)[number]) => Run): Run => {
          const runs = rounds.map(pick);
          const mid = (values: number[]) => values.sort((a, b) => a - b)[1]!;
          return { p50: mid(runs.map((r) => r.p50)), p99: mid(runs.map((r) => r.p99)), perSecond: mid(runs.map((r) => r.perSecond)) };
        };
        const base = median((r) => r.base);
        const emu = median((r) => r.emu);
        const alone = median((r) => r.alone);
        console.log(
          `${label.padEnd(9)} ${String(concurrency).padStart(4)}  ${base.p50.toFixed(3)}/${base.p99.toFixed(3)}`.padEnd(40) +
            `${emu.p50.toFixed(3)}/${emu.p99.toFixed(3)}`.padEnd(22) +
            `${(emu.p50 - base.p50).toFixed(3)}`.padEnd(14) +
            `${(emu.perSecond / base.perSecond).toFixed(2)}  (${emu.perSecond.toFixed(0)}/s vs ${base.perSecond.toFixed(0)}/s)`.padEnd(39) +
            `[${alone.p50.toFixed(3)}, ${(alone.perSecond / base.perSecond).toFixed(2)}]`,
        );
      }
    }
  } finally {
    for (const child of children) {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    }
    await rm(root, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'emulator') await emulatorRole();
else await main();
