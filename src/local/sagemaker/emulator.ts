/**
 * The SageMaker emulator: one request handler for the control plane (JSON 1.1, `X-Amz-Target:
 * SageMaker.<Operation>`) and the runtime (`POST /endpoints/<name>/invocations`), over state kept in the
 * data directory and containers run as local processes. The local stack's edge routes SageMaker requests
 * to `handle`; `startSageMakerServer` serves it alone.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { LOCAL_ACCOUNT_ID } from '../../aws/stack-names';
import { readBodyWithin } from '../edge/request-body';
import { resolveTimeScale, scaledMs } from '../time-scale';
import type { ApiContext, ApiLimits, TransformRunner } from './api/context';
import { SageMakerApiError, UnknownOperationError } from './api/errors';
import { OPERATIONS } from './api/operations';
import { sendApiError, sendJson, targetOperation } from './api/protocol';
import { discardStandby } from './containers/container-standby';
import { ImageMap } from './containers/image-map';
import { EndpointLifecycle } from './hosting/endpoint-lifecycle';
import { ModelDataCache, modelDataCacheBytes, type ModelDataCacheStats } from './model-data/model-data-cache';
import type { InstanceModelsStatus } from './multi-model/model-host';
import type { Http1Request } from '../http1/socket-server';
import type { FastPath } from '../http1/split-server';
import { handleInvocation, isRuntimeRequest, MAX_PAYLOAD_BYTES, payloadTooLarge, serveInvocation } from './runtime/invoke-endpoint';
import { StateStore } from './state/state-store';
import { createTransformRunner } from './transform/transform-runner';

export interface SageMakerEmulatorOptions {
  /** Where model data is read from (the local stack's S3). */
  s3: S3Client;
  /** State (`sagemaker-state.json`), the model-data cache (`model-data/`) and container logs (`logs/`). */
  dataDir: string;
  /** Local clock speed (see `src/local/time-scale.ts`); defaults to `SMHOST_TIME_SCALE`, else 1. */
  timeScale?: number;
  /** The image map file (see `containers/image-map.ts`); defaults to `SMHOST_IMAGE_MAP`, else `<dataDir>/image-map.json`. */
  imageMapFile?: string;
  region?: string;
  accountId?: string;
  /** AWS seconds of instance provisioning before containers start, scaled by `timeScale`; default 30. */
  provisioningSeconds?: number;
  /**
   * Floor, in real milliseconds, under the scaled container health-check timeout, so a small time scale
   * does not fail containers that need a real second or two to start; default 30000.
   */
  minHealthCheckTimeoutMs?: number;
  /** Real seconds a container has to answer an invocation; default 60, as in SageMaker. */
  invocationTimeoutSeconds?: number;
  limits?: Partial<ApiLimits>;
  /** Runs transform jobs; default: the built-in runner (`transform/transform-runner.ts`), on the job's own containers. */
  transformRunner?: TransformRunner;
  /** Bring endpoints recorded as in service back up on start; default true. */
  recoverEndpoints?: boolean;
  /** Random source for weighted variant routing; default `Math.random`. */
  random?: () => number;
  /** Multi-model endpoints: memory budget, load waits. */
  multiModel?: MultiModelOptions;
  /** Disk bound of the model-data cache in bytes; default `SMHOST_MODEL_DATA_CACHE_MB`, else 20 GiB. */
  modelDataCacheBytes?: number;
  /** Also told every model-cache event (loads, evictions, failures), besides the endpoint's `multi-model.log`. */
  log?: (line: string) => void;
}

export interface MultiModelOptions {
  /**
   * Resident bytes a multi-model instance's containers may hold before least recently used models are
   * unloaded. Default: `SMHOST_MME_MEMORY_MB`, else the instance type's memory. A container's `Environment`
   * `SMHOST_MME_MEMORY_MB` wins over both.
   */
  memoryBudgetBytes?: number;
  /** Real seconds an invocation waits for its model to load before `ModelNotReadyException`; default 60, as SageMaker. */
  loadWaitSeconds?: number;
  /** Real seconds a model load (download, extraction, load) may take; default 360, as SageMaker. */
  loadTimeoutSeconds?: number;
  /** Resident bytes of a process tree (default: from `/proc`); for tests. */
  measureResidentBytes?: (pid: number | undefined) => number;
}

/** The local listing of a multi-model endpoint (`GET /_smhost/endpoints/<name>/models`). */
export interface EndpointModelsListing {
  endpointName: string;
  instances: InstanceModelsStatus[];
  modelData: ModelDataCacheStats;
}

export interface SageMakerEmulator {
  /** Serves one SageMaker request (control plane or runtime). Never rejects: failures become AWS errors. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /**
   * The runtime's requests (`InvokeEndpoint`) for a server that answers them on plain sockets rather than
   * through Node's `http` (see `http1/split-server.ts`): the standalone server and the edge. `handle`
   * answers them the same way.
   */
  fastPath: FastPath;
  /**
   * The container processes serving an endpoint now (a local-only view, nothing AWS has): which variant,
   * instance and container each is, its pid and port.
   */
  containers(endpointName: string): ContainerInfo[];
  /**
   * What a multi-model endpoint holds (local-only, nothing AWS has): per instance, the loaded models, memory
   * against the budget, hits, misses, loads, evictions and load times. `undefined` when the endpoint is not
   * in service; an in-service single-model endpoint lists no instances.
   */
  multiModelStatus(endpointName: string): EndpointModelsListing | undefined;
  /** Waits until the endpoint's current transition (create, update, delete) has finished. */
  settled(endpointName: string): Promise<void>;
  /** Stops every container process; state stays on disk. */
  close(): Promise<void>;
}

export interface ContainerInfo {
  variant: string;
  /** 1-based instance number within the variant. */
  instance: number;
  hostname: string;
  image: string;
  pid: number | undefined;
  port: number;
}

const MAX_CONTROL_BODY = 10 * 1024 * 1024;
/** Paths of the emulator's local-only routes (no AWS operation lives under it). */
export const LOCAL_PREFIX = '/_smhost/';

/** Creates the emulator. Throws `ImageMapError` or `StateFileError` when those files are unusable. */
export function createSageMakerEmulator(options: SageMakerEmulatorOptions): SageMakerEmulator {
  const timeScale = resolveTimeScale(options.timeScale);
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const arn = { region, accountId: options.accountId ?? LOCAL_ACCOUNT_ID };
  const store = new StateStore(options.dataDir);
  const images = ImageMap.load(options.imageMapFile, options.dataDir);
  const logsDir = join(options.dataDir, 'logs');
  const modelData = new ModelDataCache(options.s3, join(options.dataDir, 'model-data'), options.modelDataCacheBytes ?? modelDataCacheBytes());
  const minHealthMs = options.minHealthCheckTimeoutMs ?? 30_000;
  const logStreams = new Map<string, WriteStream>();
  const modelLog = (endpointName: string, line: string) => {
    const stamped = `${new Date().toISOString()} ${line}\n`;
    let stream = logStreams.get(endpointName);
    if (!stream) {
      mkdirSync(join(logsDir, endpointName), { recursive: true });
      stream = createWriteStream(join(logsDir, endpointName, 'multi-model.log'), { flags: 'a' });
      logStreams.set(endpointName, stream);
    }
    stream.write(stamped);
    options.log?.(`sagemaker multi-model: ${line}`);
  };
  const mm = options.multiModel ?? {};
  const lifecycle = new EndpointLifecycle(
    store,
    {
      images,
      modelData,
      logsDir,
      healthCheckTimeoutMs: (seconds) => Math.max(scaledMs(seconds ?? 600, timeScale), minHealthMs),
      downloadTimeoutMs: (seconds) => Math.max(scaledMs(seconds ?? 3600, timeScale), 60_000),
      multiModel: {
        memoryBudgetBytes: mm.memoryBudgetBytes,
        loadWaitMs: (mm.loadWaitSeconds ?? 60) * 1000,
        loadTimeoutMs: (mm.loadTimeoutSeconds ?? 360) * 1000,
        measure: mm.measureResidentBytes,
        log: modelLog,
        logStreamArn: (endpointName) => `arn:aws:logs:${region}:${arn.accountId}:log-group:/aws/sagemaker/Endpoints/${endpointName}`,
      },
    },
    { provisioningSeconds: options.provisioningSeconds ?? 30, timeScale },
  );
  const api: ApiContext = {
    store,
    arn,
    lifecycle,
    limits: { maxInstancesPerVariant: 4, maxEndpoints: 100, ...options.limits },
    transforms: {
      runner:
        options.transformRunner ??
        createTransformRunner({ s3: options.s3, lifecycle, logsDir, provisioningSeconds: options.provisioningSeconds ?? 30, timeScale }),
      running: new Map(),
    },
  };
  const runtime = {
    store,
    lifecycle,
    arn,
    logsDir,
    invocationTimeoutMs: (options.invocationTimeoutSeconds ?? 60) * 1000,
    random: options.random ?? Math.random,
  };
  if (options.recoverEndpoints !== false) lifecycle.recover();

  async function controlPlane(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const operation = targetOperation(req);
    if (operation === undefined || req.method !== 'POST') {
      req.resume();
      throw new SageMakerApiError(
        'UnknownOperationException',
        'Expected a SageMaker JSON 1.1 request (POST / with X-Amz-Target: SageMaker.<Operation>) or POST /endpoints/<name>/invocations.',
      );
    }
    const handler = OPERATIONS[operation];
    if (!handler) {
      req.resume();
      throw new UnknownOperationError(operation);
    }
    const body = await readBodyWithin(req, MAX_CONTROL_BODY);
    if (body === undefined) throw new SageMakerApiError('SerializationException', `Request body over ${MAX_CONTROL_BODY} bytes.`);
    let input: unknown = {};
    if (body.length > 0) {
      try {
        input = JSON.parse(body.toString('utf8'));
      } catch {
        throw new SageMakerApiError('SerializationException', 'The request body is not valid JSON.');
      }
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new SageMakerApiError('SerializationException', 'The request body must be a JSON object.');
    }
    sendJson(res, 200, handler(input as Record<string, unknown>, api));
  }

  function multiModelStatus(endpointName: string): EndpointModelsListing | undefined {
    const deployment = lifecycle.deployment(endpointName);
    if (!deployment) return undefined;
    return {
      endpointName: String(store.get('endpoints', endpointName)?.EndpointName ?? endpointName),
      instances: deployment.variants.flatMap((v) => v.instances.flatMap((i) => (i.models ? [i.models.status()] : []))),
      modelData: modelData.stats(),
    };
  }

  /** Local-only routes under `/_smhost/`, answered as plain JSON. */
  function localRoute(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '').split('?')[0]!;
    if (!path.startsWith(LOCAL_PREFIX)) return false;
    req.resume();
    const match = /^\/_smhost\/endpoints\/([^/]+)\/models$/.exec(path);
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method !== 'GET' || !match) {
      send(404, { message: `No local route ${req.method} ${path}; the emulator serves GET ${LOCAL_PREFIX}endpoints/<name>/models.` });
      return true;
    }
    const name = decodeURIComponent(match[1]!);
    const listing = multiModelStatus(name);
    if (!listing) send(404, { message: `Endpoint ${name} is not in service in this emulator.` });
    else send(200, listing);
    return true;
  }

  const serveRuntime = (request: Http1Request) => serveInvocation(request, runtime);

  return {
    multiModelStatus,
    fastPath: { route: (head) => (isRuntimeRequest(head) ? serveRuntime : undefined), maxBodyBytes: MAX_PAYLOAD_BYTES, tooLarge: payloadTooLarge },
    async handle(req, res) {
      if (isRuntimeRequest({ method: req.method ?? '', target: req.url ?? '' })) return handleInvocation(req, res, runtime);
      if (localRoute(req, res)) return;
      try {
        await controlPlane(req, res);
      } catch (error) {
        if (error instanceof SageMakerApiError) return sendApiError(res, error);
        sendApiError(res, new SageMakerApiError('InternalFailure', `The emulator failed: ${(error as Error).message}`, 500));
      }
    },
    containers(endpointName) {
      const deployment = lifecycle.deployment(endpointName);
      if (!deployment) return [];
      return deployment.variants.flatMap((v) =>
        v.instances.flatMap((instance, i) =>
          instance.containers.map((c) => ({
            variant: v.name,
            instance: i + 1,
            hostname: c.hostname,
            image: c.image,
            pid: c.process.pid,
            port: c.process.port,
          })),
        ),
      );
    },
    settled: (endpointName) => lifecycle.settled(endpointName),
    async close() {
      // Running transform jobs end Stopped, as executions in flight do not survive a restart, and their containers with them.
      const jobs = [...api.transforms.running.values()];
      for (const job of jobs) job.controller.abort();
      await Promise.all([lifecycle.close(), ...jobs.map((job) => job.done)]);
      discardStandby();
      await Promise.all([...logStreams.values()].map((stream) => new Promise<void>((resolve) => stream.end(resolve))));
      logStreams.clear();
    },
  };
}
