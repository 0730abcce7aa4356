/**
 * A burst of artifacts dropped on the running local stack: the time until every one is registered (S3
 * notification -> local queue -> registration handler -> registry), against the same objects copied with
 * plain CopyObject at the same concurrency on the same stack. Prints the ratio (copy time / drop time;
 * target >= 0.4), the requests each registration made through the edge, how busy the stack's own thread was,
 * the CPU each drop cost by thread, how many execution environments the function started, and checks that
 * nothing was lost or registered twice.
 *
 * Where each millisecond of a drop goes (two cores shared with other work; one environment per core):
 * - the stack's thread, 4.5-5 ms: the drop's own CopyObject with its SDK client (what a baseline copy costs,
 *   1.2-1.3 ms), then serving the registration's nine requests, measured one kind at a time with the client in
 *   another thread: GetObject 0.35, HeadObject 404 0.31, CopyObject 0.67, DescribeEndpoint 404 0.16 and five
 *   DynamoDB calls through dynalite, 0.29 (GetItem) to 0.5 (conditional Put/UpdateItem) each, about 2.2 in
 *   all; the notification and the queue cost too little to tell from noise;
 * - the execution environments, 8-9 ms: the SDK side of the nine requests (0.7-0.9 ms each: middleware,
 *   SigV4, HTTP, parsing), 7.2 ms a registration once an isolate is warm (the figure one environment reaches),
 *   plus each isolate's warm-up, which is why environments are capped at one per core (four of them cost
 *   10.6-12.8 ms);
 * - V8's helper threads, 3.6-3.9 ms, most of it optimizing compilers (perf: compile samples outnumber GC
 *   samples 3 to 1; about 5,000 functions optimized over a run, few deoptimized): a fresh process and fresh
 *   isolates compiling the SDK, dynalite and the HTTP stack;
 * - libuv's pool, about 1 ms: object files, LevelDB, gunzip.
 * That is 17-19 ms of CPU a drop against 1.2-1.3 ms of CPU for a baseline copy, which runs on one thread.
 * Two idle cores run a drop in half its CPU at best, so the ratio is bounded near 1.25 / 9 = 0.14 here, and
 * other work on the machine moves both sides alike (measured 0.14-0.16). 0.4 would need a drop, its copy
 * included, below about 6 ms of CPU; a stack that served the nine requests for free would still leave the
 * handler's SDK side (7.2 ms) and the drop's copy (1.25 ms), so no saving in the stack reaches the target on
 * two cores: only a registration that makes fewer requests, or more cores, would. The SDK client was once
 * thought to cost twice as much in a worker thread: warm, it costs the same as on the main thread; the extra
 * was warm-up spread over four isolates. "stack thread busy" counts time the thread waited for a core as busy,
 * so with other work on the machine it overstates; the per-thread CPU is the figure to watch.
 *
 * `npm run bench -- drop-burst`; `BENCH_DROPS` (default 1000) and `BENCH_CONCURRENCY` (default 16) tune it.
 */
import { subscribe } from 'node:diagnostics_channel';
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CopyObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createClients } from '../src/aws/clients';
import { lambdaServiceFor } from '../src/local/lambda/lambda-service';
import { startLocalStack } from '../src/local/stack';
import { tarGzBuffer } from '../test/support/archives';

const drops = Number(process.env.BENCH_DROPS ?? 1000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const PROJECT_YML = fileURLToPath(new URL('../serverless.yml', import.meta.url));

/**
 * CPU time of every thread of this process (Linux /proc; empty elsewhere), in ms by thread id, with the
 * thread's name. Wall-clock figures such as the event loop's utilization count time a thread waited for a
 * core as busy, which on a shared two-core machine says little; these count only time on a core.
 */
function threadCpu(): Map<string, { name: string; ms: number }> {
  const threads = new Map<string, { name: string; ms: number }>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return threads;
  }
  const tick = 10; // USER_HZ is 100 on Linux
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      threads.set(tid, { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ms: (Number(fields[11]) + Number(fields[12])) * tick });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return threads;
}
/** Threads alive before the stack started: the main thread and V8's own helpers (GC, compilers). */
const threadsAtStart = new Set(threadCpu().keys());

async function pool(count: number, width: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < count) {
      const index = next;
      next += 1;
      await task(index);
    }
  }));
}

/** Requests the edge served while counting, by the signing name of their credential scope. */
const served = new Map<string, number>();
let counting = false;
subscribe('http.server.request.start', (message) => {
  const req = (message as { request: IncomingMessage }).request;
  if (!counting || req.socket.localPort !== stack.port) return;
  const service = /\/[^/]+\/([^/]+)\/aws4_request/.exec(String(req.headers.authorization ?? ''))?.[1] ?? 'unsigned';
  served.set(service, (served.get(service) ?? 0) + 1);
});

const stack = await startLocalStack({ ephemeral: true, timeScale: 0.01, serverlessYml: PROJECT_YML });
const clients = createClients({ endpoint: stack.url, region: stack.region, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
const bucket = stack.names.bucket;

async function registeredVersions(): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await clients.dynamo.send(new ScanCommand({
      TableName: stack.names.registryTable,
      FilterExpression: '#kind = :version AND endpoint = :endpoint',
      ExpressionAttributeNames: { '#kind': 'kind' },
      ExpressionAttributeValues: { ':version': 'version', ':endpoint': 'burst' },
      ExclusiveStartKey: start,
    }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

async function countKeys(prefix: string): Promise<number> {
  let total = 0;
  let token: string | undefined;
  do {
    const page = await clients.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    total += page.KeyCount ?? 0;
    token = page.NextContinuationToken;
  } while (token);
  return total;
}

try {
  // Staging objects live outside incoming/, so putting them notifies nothing.
  await pool(drops, concurrency, async (index) => {
    const archive = await tarGzBuffer([{ name: 'model.onnx', content: `model number ${index}\n` }]);
    await clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: `staging/m${index}.tar.gz`, Body: archive }));
  });

  const copyStart = performance.now();
  await pool(drops, concurrency, async (index) => {
    await clients.s3.send(new CopyObjectCommand({ Bucket: bucket, Key: `copies/m${index}.tar.gz`, CopySource: `${bucket}/staging/m${index}.tar.gz` }));
  });
  const copyMs = performance.now() - copyStart;

  counting = true;
  const eluStart = performance.eventLoopUtilization();
  const cpuStart = process.cpuUsage();
  const threadsBefore = threadCpu();
  const dropStart = performance.now();
  await pool(drops, concurrency, async (index) => {
    await clients.s3.send(new CopyObjectCommand({ Bucket: bucket, Key: `incoming/burst/m${index}.tar.gz`, CopySource: `${bucket}/staging/m${index}.tar.gz` }));
  });
  const droppedMs = performance.now() - dropStart;
  // Every drop's notification is queued by the time its CopyObject answered, and a message leaves the queue
  // only once the handler registered it (or it is dead-lettered), so an empty queue means the burst is done.
  // Watching it costs nothing, where a scan of the registry costs up to 0.1 s of CPU by the end of the burst,
  // taken from the burst it measures on this one-thread stack; the registry is scanned once, afterwards.
  const deadline = Date.now() + 10 * 60_000;
  while (Date.now() < deadline) {
    const { visible, inFlight, delayed } = stack.queues.counts(stack.names.queue);
    if (visible + inFlight + delayed === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const registeredMs = performance.now() - dropStart;
  const elu = performance.eventLoopUtilization(eluStart);
  const cpu = process.cpuUsage(cpuStart);
  const threadsAfter = threadCpu();
  counting = false;
  // The drops themselves are CopyObject requests too; what is left is what registering cost.
  served.set('s3', (served.get('s3') ?? 0) - drops);
  const versions = await registeredVersions();

  const models = new Set(versions.map((item) => String(item.model)));
  const lost = drops - models.size;
  const duplicated = versions.length - models.size;
  const liveCopies = await countKeys('models/burst/');
  const { visible, inFlight } = stack.queues.counts(stack.names.queue);
  const dead = stack.queues.counts(stack.names.deadLetterQueue).visible;

  console.log(`drops: ${drops}, concurrency: ${concurrency}`);
  console.log(`baseline CopyObject x${drops}: ${copyMs.toFixed(0)} ms (${(drops / (copyMs / 1000)).toFixed(0)}/s)`);
  console.log(`drop burst: uploads done in ${droppedMs.toFixed(0)} ms, all registered in ${registeredMs.toFixed(0)} ms (${(drops / (registeredMs / 1000)).toFixed(0)}/s)`);
  console.log(`ratio copy/drop: ${(copyMs / registeredMs).toFixed(2)} (target >= 0.4)`);
  console.log(`requests per registration: ${[...served].sort().map(([service, count]) => `${service} ${(count / drops).toFixed(2)}`).join(', ')}`);
  // The stack's Lambda service is found by its edge, as its Step Functions find it.
  const registration = stack.config.functions.find((fn) => fn.sqsEvents.some((event) => event.queueName === stack.names.queue));
  const service = lambdaServiceFor({ serviceDir: dirname(PROJECT_YML), region: stack.region, accountId: stack.config.accountId, endpointUrl: stack.url });
  const environments = registration ? service.function(registration) : undefined;
  console.log(`stack thread busy ${(elu.utilization * 100).toFixed(0)}% of the burst; process CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms (${((cpu.user + cpu.system) / 1000 / drops).toFixed(1)} ms per drop, every thread)`);
  // Threads started after the stack are the execution environments (worker threads) and libuv's pool, which
  // names its threads; the main thread is the process id; the rest are V8's helpers of every isolate.
  const spent = { stack: 0, environments: 0, pool: 0, v8: 0 };
  for (const [tid, after] of threadsAfter) {
    const ms = after.ms - (threadsBefore.get(tid)?.ms ?? 0);
    if (tid === String(process.pid)) spent.stack += ms;
    else if (after.name.startsWith('libuv')) spent.pool += ms;
    else if (threadsAtStart.has(tid)) spent.v8 += ms;
    else spent.environments += ms;
  }
  if (threadsAfter.size > 0) {
    const perDrop = (ms: number) => (ms / drops).toFixed(1);
    console.log(`CPU per drop by thread: stack ${perDrop(spent.stack)} ms (the drop's CopyObject and its client included), execution environments ${perDrop(spent.environments)} ms, libuv pool ${perDrop(spent.pool)} ms, V8 helpers ${perDrop(spent.v8)} ms; the stack thread was on a core ${((100 * spent.stack) / registeredMs).toFixed(0)}% of the burst`);
  }
  console.log(`execution environments started: ${environments?.coldStarts ?? 'none'} (at most ${environments?.maxConcurrency ?? '?'} at once)`);
  console.log(`lost: ${lost}, duplicated: ${duplicated}, live copies: ${liveCopies}, queue left: ${visible + inFlight}, DLQ: ${dead}`);
  if (lost !== 0 || duplicated !== 0 || liveCopies !== drops) process.exitCode = 1;
} finally {
  for (const client of Object.values(clients)) client.destroy();
  await stack.close();
}
