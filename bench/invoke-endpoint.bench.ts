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
 * Reading the figures: the emulator's path has one process more than the baseline (client → emulator →
 * container, against client → server). The bracketed columns are references measured in the same rounds:
 * the container alone (it keeps pace with the baseline: its server is plain sockets, not Node's `http`), and
 * a byte relay in the emulator's place (a Node process that copies bytes and parses nothing: the least a
 * process in the path can cost). The last column is CPU per request of each process, from /proc.
 *
 * Where the figures stand (2 vCPUs shared with other work, every path warmed up first, four runs): added
 * p50 0.08-0.10 ms at concurrency 1 and 0.25-0.49 ms at 8 (target ≤ 2 met); throughput ratio 0.56-0.72 at
 * concurrency 1 (target ≥ 0.5 met), at 8 0.44-0.55 for 10 rows and 0.34-0.44 for one row (not met).
 *
 * What paid: serving the runtime on plain sockets (`src/local/http1/split-server.ts`; the runtime's answer
 * built without Node's request and response objects) took the concurrency-1 ratio from 0.41-0.44 to the
 * figures above and the emulator's CPU per request at 8 from 60-65 µs to 35-45; before that, the built-in
 * container on the same socket server (a Node `http` server answering from onnxruntime costs ~135 µs per
 * request, the socket server ~85), its codec's fast paths, one write per message on every side of the hop,
 * one deadline timer in the client.
 *
 * Why concurrency 8 falls short: there the two cores are the limit, and the emulator's path has three
 * processes wanting them (load generator, emulator, container) where the baseline has two. Measured per
 * request at 8 (µs of CPU, all threads): load generator ~35-45 on both paths, baseline server ~35-45,
 * emulator ~35-40, container behind it ~45-55; the three together leave a quarter of the two cores idle
 * (each request crosses four process wake-ups instead of two, and a wake-up on an idle vCPU is slow), so
 * the rate is lower than their CPU alone would allow. Of the emulator's ~37 µs, its own JavaScript is
 * about 8 (profiled: parsing both heads, routing, the runtime's checks, building the answer); the rest is
 * the kernel's part of two socket reads and two writes. A minimal HTTP relay made of the same socket
 * server and container client with no SageMaker logic measured within 2 µs of the emulator and the same
 * ratios; pipelining the hop to the container on one connection changed nothing measurable; only the byte
 * relay, which parses nothing, keeps 0.6-0.9. Closing the gap would take the HTTP hop itself out of the
 * path for the built-in container, which a process per container (the SageMaker contract) rules out.
 * A Unix socket for the emulator → container hop measured no better than loopback TCP and was not kept.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

/**
 * A reference for the extra hop itself: a relay that copies bytes between each client connection and one
 * connection of its own to the container, parsing nothing. No emulator can cost less than a process in the
 * path that does no work at all; its ratio is what the hop costs on this machine before any HTTP is read.
 */
const BYTE_RELAY = `
import { connect, createServer } from 'node:net';
const server = createServer({ noDelay: true }, (down) => {
  const up = connect({ host: '127.0.0.1', port: Number(process.env.TARGET_PORT), noDelay: true });
  const close = () => { down.destroy(); up.destroy(); };
  down.on('data', (d) => up.write(d));
  up.on('data', (d) => down.write(d));
  for (const s of [down, up]) { s.on('close', close); s.on('error', close); }
});
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
  const container = server.emulator.containers('bench')[0]!;
  console.log(
    JSON.stringify({ url: server.url, firstMs, cachedMs, scratchMs, containerUrl: `http://127.0.0.1:${container.port}`, emulatorPid: process.pid, containerPid: container.pid }),
  );
}

interface Run {
  p50: number;
  p99: number;
  perSecond: number;
  /** CPU time per request of each watched process (all its threads, user and system), in µs. */
  cpu: number[];
}

/** CPU time a process has used so far (user + system, all threads), in µs, from /proc (Linux; NaN elsewhere). */
function cpuMicros(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1e6;
  } catch {
    return Number.NaN;
  }
}
/** The kernel's USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux build Node supports. */
const CLOCK_TICKS = 100;

async function load(url: string, path: string, body: Buffer, concurrency: number, requests: number, watch: number[]): Promise<Run> {
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
  const cpuBefore = watch.map(cpuMicros);
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
  const cpu = watch.map((pid, i) => (cpuMicros(pid) - cpuBefore[i]!) / requests);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    p50: latencies[Math.floor(latencies.length * 0.5)]!,
    p99: latencies[Math.floor(latencies.length * 0.99)]!,
    perSecond: (latencies.length / elapsed) * 1000,
    cpu,
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
    const [emulatorPid, containerPid, baselinePid] = [Number(emulator.info.emulatorPid), Number(emulator.info.containerPid), baseline.child.pid!];
    const relay = await startChild(['--input-type=module', '-e', BYTE_RELAY], { TARGET_PORT: new URL(String(emulator.info.containerUrl)).port });
    children.push(relay.child);
    const relayUrl = `http://127.0.0.1:${relay.info.port}`;
    const payloads = { 'one row': [scaled[0]], '10 rows': scaled.slice(0, 10) };

    const ms = (key: string) => `${Number(emulator.info[key]).toFixed(0)} ms`;
    console.log(
      `CreateEndpoint → InService (provisioning delay 0): first endpoint ${ms('firstMs')} (model data fetched, container from scratch); ` +
        `model data cached: ${ms('cachedMs')} with the container from the standby process, ${ms('scratchMs')} from scratch (SMHOST_CONTAINER_STANDBY=off)`,
    );
    console.log(
      'payload   conc  baseline p50/p99 ms   emulator p50/p99 ms   added p50 ms  throughput ratio (emulator/baseline)   [container alone: p50 ms, ratio]' +
        '  [byte relay → container: p50 ms, ratio]  CPU µs/request: baseline server | emulator + container | relay + container | container alone',
    );
    // Every process on every path is warmed up first, the same way, so the first rows measured are steady state
    // rather than whichever path has fewer processes still compiling (100 requests per run left the one-row
    // figures on cold JIT: 190-230 us of CPU per baseline request against 60-80 warm).
    for (const rows of Object.values(payloads)) {
      const body = Buffer.from(JSON.stringify({ instances: rows }));
      await load(baselineUrl, '/invocations', body, 8, 3000, []);
      await load(emulatorUrl, '/endpoints/bench/invocations', body, 8, 3000, []);
      await load(String(emulator.info.containerUrl), '/invocations', body, 8, 3000, []);
      await load(relayUrl, '/invocations', body, 8, 3000, []);
    }
    for (const [label, rows] of Object.entries(payloads)) {
      const body = Buffer.from(JSON.stringify({ instances: rows }));
      for (const concurrency of [1, 8]) {
        const requests = concurrency === 1 ? 1000 : 2000;
        // Rounds alternate the three targets and the median round is kept, so a burst of load from
        // elsewhere on a shared machine does not land on one target only.
        const rounds: { base: Run; emu: Run; alone: Run; relay: Run }[] = [];
        for (let round = 0; round < 3; round++) {
          rounds.push({
            base: await load(baselineUrl, '/invocations', body, concurrency, requests, [baselinePid]),
            emu: await load(emulatorUrl, '/endpoints/bench/invocations', body, concurrency, requests, [emulatorPid, containerPid]),
            alone: await load(String(emulator.info.containerUrl), '/invocations', body, concurrency, requests, [containerPid]),
            relay: await load(relayUrl, '/invocations', body, concurrency, requests, [relay.child.pid!, containerPid]),
          });
        }
        const median = (pick: (r: (typeof rounds)[number]) => Run): Run => {
          const runs = rounds.map(pick);
          const mid = (values: number[]) => values.sort((a, b) => a - b)[1]!;
          return {
            p50: mid(runs.map((r) => r.p50)),
            p99: mid(runs.map((r) => r.p99)),
            perSecond: mid(runs.map((r) => r.perSecond)),
            cpu: runs[0]!.cpu.map((_, i) => mid(runs.map((r) => r.cpu[i]!))),
          };
        };
        const base = median((r) => r.base);
        const emu = median((r) => r.emu);
        const alone = median((r) => r.alone);
        const relayed = median((r) => r.relay);
        console.log(
          `${label.padEnd(9)} ${String(concurrency).padStart(4)}  ${base.p50.toFixed(3)}/${base.p99.toFixed(3)}`.padEnd(40) +
            `${emu.p50.toFixed(3)}/${emu.p99.toFixed(3)}`.padEnd(22) +
            `${(emu.p50 - base.p50).toFixed(3)}`.padEnd(14) +
            `${(emu.perSecond / base.perSecond).toFixed(2)}  (${emu.perSecond.toFixed(0)}/s vs ${base.perSecond.toFixed(0)}/s)`.padEnd(39) +
            `[${alone.p50.toFixed(3)}, ${(alone.perSecond / base.perSecond).toFixed(2)}]`.padEnd(17) +
            `[${relayed.p50.toFixed(3)}, ${(relayed.perSecond / base.perSecond).toFixed(2)}]`.padEnd(17) +
            `${base.cpu[0]!.toFixed(0)} | ${emu.cpu[0]!.toFixed(0)} + ${emu.cpu[1]!.toFixed(0)} | ${relayed.cpu[0]!.toFixed(0)} + ${relayed.cpu[1]!.toFixed(0)} | ${alone.cpu[0]!.toFixed(0)}`,
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
