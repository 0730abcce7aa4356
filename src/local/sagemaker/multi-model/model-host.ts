/**
 * One instance of a multi-model endpoint: which target models its container holds, loading them on first
 * use and unloading the least recently used ones when its processes' resident memory would pass the budget.
 *
 * - A first call fetches `<ModelDataUrl prefix><TargetModel>` through the model-data cache (safe
 *   extraction), then `POST /models` to the container; concurrent first calls share that one load.
 * - Callers wait up to `loadWaitMs` for a load (SageMaker: 60 s), then get `ModelNotReadyException` while
 *   the load goes on (up to `loadTimeoutMs`, SageMaker: 360 s).
 * - Loads are serialized per instance, so each is measured alone: resident memory before and after gives
 *   the model's footprint, which estimates the room the next load needs.
 * - Unloading (`DELETE /models/<name>`) also deletes the model's local files.
 * - Deleting the artifact from S3 changes nothing here: a loaded model serves until it is evicted, as on AWS.
 */
import { createHash } from 'node:crypto';
import type { ContainerResponse } from '../containers/container-process';
import { ContainerTimeoutError, ContainerUnreachableError } from '../containers/container-process';
import type { RunningContainer } from '../hosting/deployment';
import { ModelDataError, type ModelDataCache } from '../model-data/model-data-cache';
import { ModelErrorError, ModelNotReadyError, RuntimeValidationError, ServiceUnavailableError } from '../runtime/errors';

/** A target model as the local listing shows it. */
export interface TargetModelStatus {
  targetModel: string;
  /** The opaque name the container knows it by. */
  modelName: string;
  state: 'loading' | 'loaded';
  loadedAt?: string;
  lastUsedAt?: string;
  loadMs?: number;
  /** Resident bytes the load added (measured), when known. */
  footprintBytes?: number;
  invocations: number;
}

/** Counters of one instance since it started. */
export interface MultiModelCounters {
  /** Calls that found their model loaded. */
  hits: number;
  /** Calls that did not (they started a load or waited for one). */
  misses: number;
  loads: number;
  loadFailures: number;
  /** Models unloaded to make room under the memory budget. */
  evictions: number;
  /** Models unloaded because `ModelCacheSetting` is `Disabled`. */
  unloadsAfterCall: number;
  modelNotReady: number;
  loadMsTotal: number;
  loadMsMax: number;
  lastLoadMs: number | undefined;
}

export interface InstanceModelsStatus {
  variant: string;
  instance: number;
  pid: number | undefined;
  memory: { budgetBytes: number; budgetSource: string; residentBytes: number; peakResidentBytes: number };
  modelCache: 'Enabled' | 'Disabled';
  counters: MultiModelCounters;
  models: TargetModelStatus[];
}

export interface ModelHostOptions {
  endpointName: string;
  variantName: string;
  /** 1-based instance number. */
  instance: number;
  /** `ModelDataUrl`: the S3 prefix target models are read under. */
  prefix: string;
  container: RunningContainer;
  modelData: ModelDataCache;
  budget: { bytes: number; source: string };
  /** `MultiModelConfig.ModelCacheSetting`; `Disabled` unloads after every call. */
  cacheEnabled: boolean;
  /** Real ms a caller waits for a load before `ModelNotReadyException`. */
  loadWaitMs: number;
  /** Real ms a load may take in all (download and `POST /models`). */
  loadTimeoutMs: number;
  /** Resident bytes of a process and its children. */
  measure: (pid: number | undefined) => number;
  log: (line: string) => void;
  /** Builds the ARN shown in `ModelError`s. */
  logStreamArn: string;
}

interface Entry {
  targetModel: string;
  modelName: string;
  state: 'loading' | 'loaded';
  /** Settles when the load ends; rejects with the runtime error to give callers. */
  loading: Promise<void>;
  dir?: string;
  lastUsed: number;
  lastUsedAt?: Date;
  loadedAt?: Date;
  loadMs?: number;
  footprintBytes?: number;
  invocations: number;
  inFlight: number;
}

const TARGET_MODEL_PATTERN = /^\S[\x20-\x7e\u00a0-\uffff]*$/;

/** The opaque `model_name` a target model is loaded under (SageMaker's is opaque too). */
export function containerModelName(targetModel: string): string {
  return createHash('sha256').update(targetModel).digest('hex').slice(0, 32);
}

/** Checks a `TargetModel` header as the runtime API does (1 to 1024 printable characters, no leading space). */
export function validateTargetModel(targetModel: string): void {
  if (targetModel.length < 1 || targetModel.length > 1024 || !TARGET_MODEL_PATTERN.test(targetModel)) {
    throw new RuntimeValidationError(
      `TargetModel ${JSON.stringify(targetModel.slice(0, 80))} must be 1 to 1024 printable characters and must not start with whitespace.`,
    );
  }
  if (targetModel.split('/').some((part) => part === '..')) {
    throw new RuntimeValidationError(`TargetModel ${JSON.stringify(targetModel)} must not contain ".." path segments.`);
  }
}

function emptyCounters(): MultiModelCounters {
  return { hits: 0, misses: 0, loads: 0, loadFailures: 0, evictions: 0, unloadsAfterCall: 0, modelNotReady: 0, loadMsTotal: 0, loadMsMax: 0, lastLoadMs: undefined };
}

export class MultiModelHost {
  private readonly models = new Map<string, Entry>();
  private readonly counters = emptyCounters();
  /** Loads (and the evictions they cause) run one at a time. */
  private loadQueue: Promise<unknown> = Promise.resolve();
  private clock = 0;
  private pid: number | undefined;
  private peakResident = 0;
  private closed = false;
  /** Footprints of recent loads, to estimate the room a new load needs. */
  private footprints: number[] = [];

  constructor(private readonly options: ModelHostOptions) {
    this.pid = options.container.process.pid;
  }

  private get label(): string {
    return `${this.options.endpointName}/${this.options.variantName}/i${this.options.instance}`;
  }

  /** A replaced container (after a crash) holds none of the models its predecessor had loaded. */
  private checkContainer(): void {
    const pid = this.options.container.process.pid;
    if (pid === this.pid) return;
    this.pid = pid;
    if (this.models.size > 0) this.options.log(`${this.label}: container replaced (pid ${pid}); ${this.models.size} loaded model(s) forgotten`);
    for (const entry of this.models.values()) if (entry.dir) void this.options.modelData.discard(entry.dir);
    this.models.clear();
  }

  private resident(): number {
    const bytes = this.options.measure(this.options.container.process.pid);
    if (bytes > this.peakResident) this.peakResident = bytes;
    return bytes;
  }

  /**
   * Invokes `targetModel`, loading it first when needed.
   *
   * @throws {import('../runtime/errors').RuntimeApiError} `ModelNotReadyException` while a load outlasts the wait, `ValidationError` for
   *   a missing artifact, `ModelError` for an artifact that cannot be extracted or loaded, or a container error.
   */
  async invoke(targetModel: string, body: Buffer, headers: Record<string, string>, timeoutMs: number, retried = false): Promise<ContainerResponse> {
    if (this.closed) throw new ServiceUnavailableError(`Endpoint ${this.options.endpointName} is shutting down.`);
    this.checkContainer();
    let entry = this.models.get(targetModel);
    if (entry?.state === 'loaded') this.counters.hits += 1;
    else {
      this.counters.misses += 1;
      if (!entry) entry = this.startLoad(targetModel);
      await this.waitForLoad(entry);
    }
    entry.inFlight += 1;
    entry.invocations += 1;
    entry.lastUsed = ++this.clock;
    entry.lastUsedAt = new Date();
    let answer: ContainerResponse;
    try {
      answer = await this.options.container.process.request(
        'POST',
        `/models/${encodeURIComponent(entry.modelName)}/invoke`,
        { ...headers, 'x-amzn-sagemaker-target-model': targetModel },
        body,
        timeoutMs,
      );
    } catch (error) {
      throw this.requestError(error);
    } finally {
      entry.inFlight -= 1;
    }
    // The container no longer has it (it was restarted by hand, or unloaded behind our back): load again once.
    if (answer.status === 404 && !retried && this.models.get(targetModel) === entry) {
      this.forget(entry);
      return this.invoke(targetModel, body, headers, timeoutMs, true);
    }
    if (!this.options.cacheEnabled && entry.inFlight === 0 && this.models.get(targetModel) === entry) {
      this.counters.unloadsAfterCall += 1;
      await this.enqueue(() => this.unload(entry, 'ModelCacheSetting is Disabled'));
    }
    return answer;
  }

  private requestError(error: unknown): Error {
    if (error instanceof ContainerTimeoutError) {
      return new ModelErrorError(`Your invocation timed out while waiting for a response from container ${this.options.container.hostname}.`, {
        LogStreamArn: this.options.logStreamArn,
      });
    }
    if (error instanceof ContainerUnreachableError) {
      return new ServiceUnavailableError(`Container ${this.options.container.hostname} of endpoint ${this.options.endpointName} cannot be reached: ${error.message}`);
    }
    return error as Error;
  }

  private async waitForLoad(entry: Entry): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.options.loadWaitMs);
    });
    try {
      const outcome = await Promise.race([entry.loading.then(() => 'loaded' as const), waited]);
      if (outcome === 'timeout') {
        this.counters.modelNotReady += 1;
        throw new ModelNotReadyError(
          `Model ${entry.targetModel} of endpoint ${this.options.endpointName} is still being downloaded or loaded after ${this.options.loadWaitMs} ms; retry the request.`,
        );
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.loadQueue.then(work, work);
    this.loadQueue = run.catch(() => undefined);
    return run;
  }

  private startLoad(targetModel: string): Entry {
    const entry: Entry = {
      targetModel,
      modelName: containerModelName(targetModel),
      state: 'loading',
      loading: Promise.resolve(),
      lastUsed: ++this.clock,
      invocations: 0,
      inFlight: 0,
    };
    this.models.set(targetModel, entry);
    entry.loading = this.enqueue(() => this.load(entry)).catch((error: unknown) => {
      this.counters.loadFailures += 1;
      if (this.models.get(targetModel) === entry) this.models.delete(targetModel);
      this.options.log(`${this.label}: load of ${targetModel} failed: ${(error as Error).message}`);
      throw error;
    });
    // Callers that gave up (ModelNotReadyException) leave nobody listening; the failure is logged above.
    entry.loading.catch(() => undefined);
    return entry;
  }

  private deadline(started: number): number {
    return Math.max(1, this.options.loadTimeoutMs - (performance.now() - started));
  }

  private async load(entry: Entry): Promise<void> {
    const started = performance.now();
    const url = `${this.options.prefix}${entry.targetModel}`;
    let dir: string;
    try {
      dir = await this.options.modelData.fetch(
        { url, compression: 'Gzip' },
        { owner: `target model "${entry.targetModel}" of endpoint ${this.options.endpointName}`, timeoutMs: this.options.loadTimeoutMs },
      );
    } catch (error) {
      throw this.fetchError(error, url);
    }
    entry.dir = dir;
    try {
      const fetchedMs = performance.now() - started;
      await this.makeRoom(entry, this.estimate());
      const before = this.resident();
      await this.loadIntoContainer(entry, dir, started);
      const after = this.resident();
      entry.footprintBytes = Math.max(0, after - before);
      this.footprints = [...this.footprints.slice(-9), entry.footprintBytes];
      entry.state = 'loaded';
      entry.loadedAt = new Date();
      entry.loadMs = performance.now() - started;
      this.counters.loads += 1;
      this.counters.loadMsTotal += entry.loadMs;
      this.counters.loadMsMax = Math.max(this.counters.loadMsMax, entry.loadMs);
      this.counters.lastLoadMs = entry.loadMs;
      this.options.log(
        `${this.label}: loaded ${entry.targetModel} in ${entry.loadMs.toFixed(1)} ms (fetch ${fetchedMs.toFixed(1)} ms), +${entry.footprintBytes} resident bytes, ${after} of ${this.options.budget.bytes}`,
      );
      if (after > this.options.budget.bytes) await this.makeRoom(entry, 0);
    } catch (error) {
      if (this.models.get(entry.targetModel) === entry) this.models.delete(entry.targetModel);
      await this.options.modelData.discard(dir);
      throw error;
    }
  }

  private fetchError(error: unknown, url: string): Error {
    if (!(error instanceof ModelDataError)) return error as Error;
    const { bucket, key } = (() => {
      const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(url);
      return { bucket: match?.[1] ?? '', key: match?.[2] ?? url };
    })();
    if (error.kind === 'missing' || error.kind === 'invalid-url') {
      return new RuntimeValidationError(
        `Failed to download model data(bucket: ${bucket}, key: ${key}). Please ensure that there is an object located at the URL and that the role passed to CreateModel has permissions to download the model.`,
      );
    }
    if (error.kind === 'unavailable') return new ServiceUnavailableError(error.reason);
    return new ModelErrorError(error.reason, { LogStreamArn: this.options.logStreamArn });
  }

  /** What a new load is expected to add: the mean footprint of recent loads (none measured yet: 0). */
  private estimate(): number {
    if (this.footprints.length === 0) return 0;
    return this.footprints.reduce((a, b) => a + b, 0) / this.footprints.length;
  }

  /** The least recently used loaded model that no call is using, other than `keep`. */
  private victim(keep: Entry): Entry | undefined {
    let found: Entry | undefined;
    for (const entry of this.models.values()) {
      if (entry === keep || entry.state !== 'loaded' || entry.inFlight > 0) continue;
      if (!found || entry.lastUsed < found.lastUsed) found = entry;
    }
    return found;
  }

  /** Unloads least recently used models until `need` more bytes fit under the budget (or none is left). */
  private async makeRoom(keep: Entry, need: number): Promise<void> {
    for (;;) {
      const resident = this.resident();
      if (resident + need <= this.options.budget.bytes) return;
      const victim = this.victim(keep);
      if (!victim) return;
      this.counters.evictions += 1;
      await this.unload(victim, `evicted (resident ${resident} + ${Math.round(need)} needed > budget ${this.options.budget.bytes})`);
    }
  }

  private async loadIntoContainer(entry: Entry, dir: string, started: number): Promise<void> {
    for (;;) {
      let answer: ContainerResponse;
      try {
        answer = await this.options.container.process.request(
          'POST',
          '/models',
          { 'content-type': 'application/json', accept: 'application/json', 'x-amzn-sagemaker-target-model': entry.targetModel },
          Buffer.from(JSON.stringify({ model_name: entry.modelName, url: dir })),
          this.deadline(started),
        );
      } catch (error) {
        throw this.requestError(error);
      }
      if (answer.status === 200 || answer.status === 409) return;
      const original = answer.body.toString('utf8');
      if (answer.status === 507) {
        const victim = this.victim(entry);
        if (victim) {
          this.counters.evictions += 1;
          await this.unload(victim, 'evicted (the container answered 507 to a load)');
          continue;
        }
      }
      throw new ModelErrorError(
        `Failed to load model ${entry.targetModel} in container ${this.options.container.hostname}: received status ${answer.status} with message "${original}".`,
        { OriginalStatusCode: answer.status, OriginalMessage: original, LogStreamArn: this.options.logStreamArn },
      );
    }
  }

  private forget(entry: Entry): void {
    if (this.models.get(entry.targetModel) === entry) this.models.delete(entry.targetModel);
    if (entry.dir) void this.options.modelData.discard(entry.dir);
  }

  private async unload(entry: Entry, why: string): Promise<void> {
    if (this.models.get(entry.targetModel) !== entry) return;
    this.models.delete(entry.targetModel);
    try {
      const answer = await this.options.container.process.request('DELETE', `/models/${encodeURIComponent(entry.modelName)}`, {}, undefined, 30_000);
      if (answer.status !== 200 && answer.status !== 404) {
        this.options.log(`${this.label}: unload of ${entry.targetModel} answered ${answer.status}: ${answer.body.toString('utf8')}`);
      }
    } catch (error) {
      this.options.log(`${this.label}: unload of ${entry.targetModel} failed: ${(error as Error).message}`);
    }
    if (entry.dir) await this.options.modelData.discard(entry.dir);
    this.options.log(`${this.label}: unloaded ${entry.targetModel}: ${why}`);
  }

  /** The local listing of this instance. */
  status(): InstanceModelsStatus {
    this.checkContainer();
    const residentBytes = this.resident();
    return {
      variant: this.options.variantName,
      instance: this.options.instance,
      pid: this.options.container.process.pid,
      memory: { budgetBytes: this.options.budget.bytes, budgetSource: this.options.budget.source, residentBytes, peakResidentBytes: this.peakResident },
      modelCache: this.options.cacheEnabled ? 'Enabled' : 'Disabled',
      counters: { ...this.counters },
      models: [...this.models.values()]
        .sort((a, b) => b.lastUsed - a.lastUsed)
        .map((e) => ({
          targetModel: e.targetModel,
          modelName: e.modelName,
          state: e.state,
          ...(e.loadedAt ? { loadedAt: e.loadedAt.toISOString() } : {}),
          ...(e.lastUsedAt ? { lastUsedAt: e.lastUsedAt.toISOString() } : {}),
          ...(e.loadMs !== undefined ? { loadMs: Math.round(e.loadMs * 10) / 10 } : {}),
          ...(e.footprintBytes !== undefined ? { footprintBytes: e.footprintBytes } : {}),
          invocations: e.invocations,
        })),
    };
  }

  /** Forgets every model and releases their files; the container itself is stopped by the deployment. */
  async close(): Promise<void> {
    this.closed = true;
    const dirs = [...this.models.values()].flatMap((e) => (e.dir ? [e.dir] : []));
    this.models.clear();
    await Promise.all(dirs.map((d) => this.options.modelData.discard(d)));
  }
}
