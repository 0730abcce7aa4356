/**
 * A burst of artifacts dropped on the running local stack: the time until every one is registered (S3
 * notification -> local queue -> registration handler -> registry), against the same objects copied with
 * plain CopyObject at the same concurrency on the same stack. Prints the ratio (copy time / drop time;
 * target >= 0.4), the requests each registration made through the edge, how busy the stack's own thread was,
 * the CPU the process spent per drop, how many execution environments the function started, and checks that
 * nothing was lost or registered twice.
 *
 * Where the time goes. The handler runs in execution environments of its own (worker threads, see
 * src/local/lambda), so its SDK client work (about 6 ms of CPU a registration: nine SDK requests, each through
 * real HTTP and SigV4) no longer shares a thread with the services. What stays on the stack's thread is serving
 * those nine requests (S3 GetObject, HeadObject, CopyObject; DescribeEndpoint; five DynamoDB calls through
 * dynalite), the drop itself and its notification: several ms a registration, which bounds the ratio well
 * below what the copies alone cost. On a machine with two cores shared with other work, environments beyond
 * the cores compete with that thread rather than help it, which is why a function gets at most twice the cores
 * (SMHOST_LAMBDA_MAX_ENVIRONMENTS) and why the figure printed for "stack thread busy" is the one to watch.
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
    console.log(`CPU per drop by thread: stack ${perDrop(spent.stack)} ms (the drop's CopyObject and its client included), execution environments ${perDrop(spent.environments)} ms, libuv pool ${perDrop(spent.pool)} ms, V8 helpers ${perDrop(spent.v8)} ms`);
  }
  console.log(`execution environments started: ${environments?.coldStarts ?? 'none'} (at most ${environments?.maxConcurrency ?? '?'} at once)`);
  console.log(`lost: ${lost}, duplicated: ${duplicated}, live copies: ${liveCopies}, queue left: ${visible + inFlight}, DLQ: ${dead}`);
  if (lost !== 0 || duplicated !== 0 || liveCopies !== drops) process.exitCode = 1;
} finally {
  for (const client of Object.values(clients)) client.destroy();
  await stack.close();
}
