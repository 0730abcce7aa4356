/**
 * The local stack (DESIGN.md §3): one edge port on 127.0.0.1 for S3, DynamoDB, SQS, STS and SageMaker,
 * the resources `serverless.yml` declares created at start, S3 notifications delivered into the local
 * queue, and the functions' SQS event sources polling it and invoking the handlers, each function in
 * execution environments of its own (worker threads, see src/local/lambda).
 * State lives in the data dir and survives a restart, unless the stack is ephemeral.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createS3Client } from '../aws/clients';
import { stackNames, type StackNames } from '../aws/stack-names';
import { startDynamoDb, type DynamoDbServer } from './dynamodb/dynamodb-server';
import { createEdgeServer, readRequestBody, type ServiceHandler } from './edge/edge-server';
import type { FastPath } from './http1/split-server';
import { createStsApi } from './edge/sts-api';
import { S3Notifier } from './events/s3-notifier';
import { FunctionInitError } from './lambda/function-errors';
import { lambdaServiceFor } from './lambda/lambda-service';
import { SqsEventSource, type BatchOutcome } from './lambda/sqs-event-source';
import { ObjectStore } from './s3/object-store';
import { createS3Api, s3HostId, s3RequestId } from './s3/s3-api';
import { readStackConfig, type StackConfig } from './serverless/stack-config';
import { QueueEngine } from './sqs/queue-engine';
import { createSqsApi } from './sqs/sqs-api';
import { resolveTimeScale } from './time-scale';
import { startLocalStepFunctions, type LocalStepFunctions } from './stepfunctions';
import { lockDataDir } from './data-dir-lock';
import { randomUUID } from 'node:crypto';

export interface LocalStackOptions {
  /** Edge port; 0 (the default) picks a free one. */
  port?: number;
  /** Where state is kept; default `.local` in the working directory. Ignored when `ephemeral`. */
  dataDir?: string;
  /** Keep state in a temporary directory removed at close. */
  ephemeral?: boolean;
  /** Local clock speed (see `time-scale.ts`); default `SMHOST_TIME_SCALE`, else 1. */
  timeScale?: number;
  /** The `serverless.yml` to read; default the one in the working directory. */
  serverlessYml?: string;
  /** `opt:` values for `serverless.yml` (`stage`, `region`, ...). */
  options?: Record<string, string | undefined>;
  /** Start the functions' event sources; default true. Off, messages wait in their queues. */
  runFunctions?: boolean;
  /** Where the stack reports what it does (warnings, batches); default silent. */
  log?: (line: string) => void;
  /**
   * Fire every schedule of `serverless.yml` once at start (`--trigger-schedules`), disabled ones included:
   * a schedule is disabled by default when its input needs resources a new stack lacks, and a user asking
   * for this wants to see it run.
   */
  triggerSchedules?: boolean;
  /** Told after every batch an event source processed. */
  onBatch?: (functionKey: string, outcome: BatchOutcome) => void;
}

export interface LocalStack {
  /** `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT_URL`. */
  url: string;
  port: number;
  /** The names the project's code derives (bucket, registry table, queues). */
  names: StackNames;
  region: string;
  /** The account id every local ARN and name carries (`000000000000` unless serverless.yml says otherwise). */
  accountId: string;
  /** The local clock speed in force (see `time-scale.ts`). */
  timeScale: number;
  dataDir: string;
  /** Whether the data dir is a temporary one, removed at close. */
  ephemeral: boolean;
  config: StackConfig;
  /** The local queues, for in-process inspection (tests, the demo). */
  queues: QueueEngine;
  /** Functions whose handler could not be loaded, with the reason; their events wait in the queue. */
  pausedFunctions: Map<string, string>;
  /** The local Step Functions: the state machines of `serverless.yml`, their executions and schedules. */
  stepFunctions: LocalStepFunctions;
  /** The services the edge serves now (signing names). */
  services(): string[];
  /** Stops everything the stack started; state stays in the data dir unless ephemeral. */
  close(): Promise<void>;
}

/** Raised when the edge port is taken; names the port and the ways out. */
export class LocalPortInUseError extends Error {
  constructor(readonly port: number) {
    super(`port ${port} on 127.0.0.1 is in use (another npm run local?): stop what holds it, or pass --port 0 for a free port or --port <another>`);
    this.name = 'LocalPortInUseError';
  }
}

/** The service the SageMaker emulator answers for, once it is wired. */
interface SageMakerService {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** The runtime's requests, answered on the edge's plain sockets. */
  fastPath: FastPath;
  close(): Promise<void>;
}

/**
 * THE place the SageMaker emulator is wired in. It is imported dynamically so the stack still starts when
 * the emulator is absent or broken; SageMaker requests then get a clear `NotImplemented` answer.
 */
async function startSageMaker(url: string, region: string, dataDir: string, timeScale: number): Promise<SageMakerService | string> {
  let module: Record<string, unknown>;
  try {
    module = (await import('./sagemaker/index')) as Record<string, unknown>;
  } catch (error) {
    return `the SageMaker emulator (src/local/sagemaker) could not be loaded: ${(error as Error).message}`;
  }
  const create = module.createSageMakerEmulator as ((options: Record<string, unknown>) => SageMakerService) | undefined;
  if (typeof create !== 'function') return 'src/local/sagemaker exports no createSageMakerEmulator';
  const s3 = createS3Client({ endpoint: url, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  return create({ s3, dataDir, timeScale, region });
}

/** Starts the local stack and resolves once every service is ready to answer. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const log = options.log ?? (() => undefined);
  const timeScale = resolveTimeScale(options.timeScale);
  const serverlessYml = resolve(options.serverlessYml ?? 'serverless.yml');
  const ephemeral = options.ephemeral ?? false;
  // Read once without the edge URL to fail fast on a bad file before anything starts (the data dir included).
  const preliminary = readStackConfig(serverlessYml, { ...(options.options ? { options: options.options } : {}) });
  const region = preliminary.region;
  const accountId = preliminary.accountId;

  const dataDir = ephemeral ? await mkdtemp(join(tmpdir(), 'smhost-local-')) : resolve(options.dataDir ?? '.local');
  // A data dir this start creates is removed again if the start fails (a busy port, a bad table), so a
  // failed first start leaves nothing half-made behind; an existing one is never touched.
  const createdDataDir = !ephemeral && !existsSync(dataDir);
  await mkdir(dataDir, { recursive: true });
  // A temporary dir is this stack's alone; a named one may be another running stack's.
  const lock = ephemeral ? undefined : await lockDataDir(dataDir);

  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch((error: Error) => log(`close: ${error.message}`));
    if (ephemeral) await rm(dataDir, { recursive: true, force: true });
    await lock?.release();
  };

  try {
    const store = await ObjectStore.open(join(dataDir, 's3'));
    const queues = await QueueEngine.open({ region, accountId, dataDir: join(dataDir, 'sqs'), timeScale });
    cleanups.push(() => queues.close());
    const dynamo: DynamoDbServer = await startDynamoDb({ dataDir: join(dataDir, 'dynamodb'), region });
    cleanups.push(() => dynamo.close());

    const notifier = new S3Notifier({
      region,
      store,
      delivery: {
        send: (queueName, body) => void queues.send(queueName, body, { senderId: 'AIDALOCALS3NOTIFIER' }),
        queueNameOf: (arn) => queues.queueNameOf(arn),
      },
      onDeliveryError: (error) => log(`s3 notification not delivered: ${error.message}`),
    });
    const s3 = createS3Api({
      store,
      region,
      onEvent: (event) => notifier.notify(event),
      onNotificationConfiguration: (bucket, xml) => notifier.applyXml(bucket, xml),
    });
    const sqs = createSqsApi(queues);
    const sts = createStsApi(accountId);

    const services = new Map<string, ServiceHandler>([
      ['s3', (req, res, scope) => s3.handle(req, res, { requestId: s3RequestId(), hostId: s3HostId(), accessKeyId: scope.accessKeyId, sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '') })],
      ['dynamodb', (req, res) => dynamo.handle(req, res)],
      ['sqs', async (req, res) => sqs.handle(req, res, await readRequestBody(req), randomUUID())],
      ['sts', async (req, res, scope) => sts.handle(req, res, await readRequestBody(req), { requestId: randomUUID(), accessKeyId: scope.accessKeyId })],
    ]);
    const unavailable = new Map<string, string>([['states', 'Step Functions is starting']]);
    const fastPaths = new Map<string, FastPath>();
    const edge = createEdgeServer({ services, fastPaths, unavailable, onError: (error) => log(`edge: ${error.message}`) });
    const requestedPort = options.port ?? 0;
    const port = await edge.listen(requestedPort).catch((error: NodeJS.ErrnoException) => {
      throw error.code === 'EADDRINUSE' ? new LocalPortInUseError(requestedPort) : error;
    });
    cleanups.push(() => edge.close());
    const url = `http://127.0.0.1:${port}`;
    await lock?.describe(url);

    const config = readStackConfig(serverlessYml, { ...(options.options ? { options: options.options } : {}), queueUrlBase: url });
    for (const warning of config.warnings) log(`serverless.yml: ${warning}`);

    // Dead-letter queues first: a redrive policy may only name a queue that exists.
    const ordered = [...config.queues].sort((a, b) => Number('RedrivePolicy' in a.attributes) - Number('RedrivePolicy' in b.attributes));
    for (const queue of ordered) {
      if (queues.hasQueue(queue.name)) queues.setAttributes(queue.name, queue.attributes);
      else queues.createQueue(queue.name, queue.attributes);
    }
    for (const table of config.tables) {
      if (await dynamo.ensureTable(table.createTable)) log(`created table ${table.name}`);
    }
    notifier.restore();
    for (const bucket of config.buckets) {
      if (!store.bucket(bucket.name)) {
        await store.createBucket(bucket.name);
        log(`created bucket ${bucket.name}`);
      }
      if (await notifier.apply(bucket.name, bucket.notifications)) log(`applied ${bucket.notifications.length} notification rule(s) to ${bucket.name} (s3:TestEvent sent)`);
    }

    const sagemaker = await startSageMaker(url, region, join(dataDir, 'sagemaker'), timeScale);
    if (typeof sagemaker === 'string') {
      unavailable.set('sagemaker', sagemaker);
      log(`sagemaker: ${sagemaker}`);
    } else {
      services.set('sagemaker', (req, res) => sagemaker.handle(req, res));
      fastPaths.set('sagemaker', sagemaker.fastPath);
      cleanups.push(() => sagemaker.close());
    }

    // Made before Step Functions, which finds it by the edge URL: tasks and event sources share the functions.
    const serviceDir = dirname(serverlessYml);
    const lambda = lambdaServiceFor({ serviceDir, region, accountId, endpointUrl: url, onWarning: log });
    cleanups.push(() => lambda.close());

    const stepFunctions = await startLocalStepFunctions({
      serverlessYml,
      readOptions: { ...(options.options ? { options: options.options } : {}) },
      endpointUrl: url,
      timeScale,
      dataDir: join(dataDir, 'stepfunctions'),
      // A scheduled start that keeps failing goes to the schedule's dead-letter queue, as Scheduler does.
      deliverDeadLetter: async (queueArn, body, attributes) => {
        const name = queues.queueNameOf(queueArn);
        if (!name) throw new Error(`no local queue for the dead-letter ARN ${queueArn}`);
        queues.send(name, body, {
          senderId: 'AIDALOCALSCHEDULER',
          attributes: Object.fromEntries(Object.entries(attributes).map(([key, value]) => [key, { DataType: 'String', StringValue: value }])),
        });
      },
      log,
    });
    unavailable.delete('states');
    services.set('states', (req, res) => stepFunctions.handle(req, res));
    cleanups.push(() => stepFunctions.close());

    const pausedFunctions = new Map<string, string>();
    const sources: SqsEventSource[] = [];
    if (options.runFunctions ?? true) {
      for (const spec of config.functions) {
        if (spec.sqsEvents.length === 0) continue;
        const fn = lambda.function(spec);
        try {
          await fn.load();
        } catch (error) {
          if (!(error instanceof FunctionInitError)) throw error;
          pausedFunctions.set(spec.key, error.message);
          log(`function ${spec.key} paused: ${error.message}`);
          continue;
        }
        for (const event of spec.sqsEvents) {
          const source = new SqsEventSource({
            engine: queues,
            spec: event,
            region,
            timeScale,
            invoke: (sqsEvent) => fn.invoke(sqsEvent),
            maxPollers: fn.maxConcurrency,
            onBatch: (outcome) => {
              options.onBatch?.(spec.key, outcome);
              if (outcome.error || outcome.failed.length > 0) {
                log(`${spec.key}: batch of ${outcome.messageIds.length}: ${outcome.deleted.length} done, ${outcome.failed.length} back to the queue${outcome.error ? ` (${outcome.error})` : ''}`);
              }
            },
          });
          source.start();
          sources.push(source);
        }
      }
    }
    // Event sources stop first, so no handler runs against services already closed.
    cleanups.push(async () => {
      await Promise.all(sources.map((source) => source.stop()));
    });

    if (options.triggerSchedules) {
      // The scheduler logs each start (or why it could not start); what a user triggering by hand also wants
      // is how each run ended, a failure above all.
      for (const fired of await stepFunctions.scheduler.triggerAll({ includeDisabled: true })) {
        if (!fired.executionArn) continue;
        void stepFunctions.service.waitForExecution(fired.executionArn).then(
          (ended) => log(`schedule ${fired.schedule}: ${ended.executionArn} ${ended.status}${ended.error !== undefined ? `: ${ended.error}${ended.cause ? ` (${ended.cause})` : ''}` : ''}`),
          () => undefined,
        );
      }
    }

    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      names: stackNames({ service: config.service, stage: config.stage, accountId, env: {} }),
      region,
      accountId,
      timeScale,
      dataDir,
      ephemeral,
      config,
      queues,
      pausedFunctions,
      stepFunctions,
      services: () => [...services.keys()].sort(),
      close: () => (closing ??= cleanup()),
    };
  } catch (error) {
    await cleanup();
    if (createdDataDir) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}
