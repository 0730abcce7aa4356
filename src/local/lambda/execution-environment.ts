/**
 * One execution environment of a function: a worker thread with the function's own `process.env`, module
 * cache and heap cap (`memorySize`), which initializes the handler once and then serves one invocation at a
 * time. A timeout, a crash or running out of memory ends the environment, as it ends a Lambda sandbox; the
 * function's pool starts a new one (a cold start) for the next invocation.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { FunctionSpec } from '../serverless/stack-config';
import { FunctionError, FunctionTimeoutError, initError, type FunctionFailureBody } from './function-errors';
import type { InvokeMessage, RuntimeMessage, RuntimeWorkerData } from './runtime-protocol';

/**
 * How long an init phase may take. Lambda allows 10 s; locally the init runs on a machine busy with every
 * other service of the stack, so the bound is looser and only catches a module that hangs.
 */
export const INIT_TIMEOUT_MS = 60_000;

export interface ExecutionEnvironmentOptions {
  spec: FunctionSpec;
  /** The function's bundle: the runtime the worker starts, and the handler module it imports. */
  bundle: { runtime: string; handler: string };
  /** The handler's source file (for messages) and the export to call. */
  sourceFile: string;
  exportName: string;
  functionArn: string;
  /** The function's environment (see `functionEnvironment`). */
  environment: Record<string, string>;
}

type State = 'initializing' | 'idle' | 'busy' | 'ended';

interface Pending {
  requestId: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/** A log stream name as Lambda makes them: the date, the version and an id of the environment. */
function logStreamName(): string {
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

export class ExecutionEnvironment {
  private state: State = 'initializing';
  private readonly worker: Worker;
  private pending?: Pending;
  /** Why the environment ended, once it has. */
  endReason?: string;
  /** Settles once the init phase is over: resolves ready, or rejects with the init failure. */
  readonly ready: Promise<void>;
  /** Called once when the environment has ended, whatever the cause. */
  onEnded?: (reason: string) => void;

  constructor(private readonly options: ExecutionEnvironmentOptions) {
    const stream = logStreamName();
    const workerData: RuntimeWorkerData = {
      file: options.bundle.handler,
      sourceFile: options.sourceFile,
      exportName: options.exportName,
      handler: options.spec.handler,
      functionName: options.spec.name,
      functionArn: options.functionArn,
      memorySize: options.spec.memorySize,
      logGroupName: `/aws/lambda/${options.spec.name}`,
      logStreamName: stream,
    };
    this.worker = new Worker(options.bundle.runtime, {
      name: `lambda:${options.spec.name}`,
      // Traces then name the source files, as the handler's author wrote them.
      execArgv: ['--enable-source-maps'],
      env: { ...options.environment, AWS_LAMBDA_LOG_STREAM_NAME: stream },
      workerData,
      // Lambda's memorySize caps the whole sandbox; the heap is what a JavaScript handler can run out of.
      resourceLimits: { maxOldGenerationSizeMb: options.spec.memorySize },
    });
    let initTimer: NodeJS.Timeout | undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleInit = (failure) => {
        clearTimeout(initTimer);
        this.settleInit = undefined;
        if (failure) reject(initError(failure));
        else resolve();
      };
      initTimer = setTimeout(() => {
        this.settleInit?.({ errorType: 'Sandbox.Timedout', errorMessage: `INIT_REPORT Init Duration: ${INIT_TIMEOUT_MS} ms Phase: init Status: timeout (${options.spec.handler})`, trace: [] });
        void this.end('the init phase timed out');
      }, INIT_TIMEOUT_MS);
    });
    // Nobody may be waiting on `ready` (an environment started ahead of need); its failure is not unhandled.
    this.ready.catch(() => undefined);
    this.worker.on('message', (message: RuntimeMessage) => this.onMessage(message));
    this.worker.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        this.fail({ errorType: 'Runtime.OutOfMemory', errorMessage: `${this.requestPrefix()}Error: Runtime exited with error: out of memory (memorySize ${options.spec.memorySize} MB)`, trace: [] }, 'out of memory');
      } else {
        this.fail({ errorType: error.name || 'Error', errorMessage: error.message, trace: (error.stack ?? '').split('\n') }, `the runtime failed: ${error.message}`);
      }
    });
    this.worker.on('exit', (code) => {
      this.fail({ errorType: 'Runtime.ExitError', errorMessage: `${this.requestPrefix()}Error: Runtime exited with error: exit status ${code}`, trace: [] }, `the runtime exited with status ${code}`);
    });
  }

  private settleInit?: (failure?: FunctionFailureBody) => void;

  get idle(): boolean {
    return this.state === 'idle';
  }

  get ended(): boolean {
    return this.state === 'ended';
  }

  /** Runs one invocation; the environment must be idle. Rejects with a `FunctionError` when it fails. */
  invoke(event: unknown): Promise<unknown> {
    if (this.state !== 'idle') throw new Error(`execution environment of ${this.options.spec.name} is ${this.state}, not idle`);
    const requestId = randomUUID();
    const timeoutMs = this.options.spec.timeoutSeconds * 1000;
    const message: InvokeMessage = { kind: 'invoke', requestId, event: JSON.stringify(event ?? null), deadline: Date.now() + timeoutMs };
    this.state = 'busy';
    // An invocation under way keeps the host process alive, as a request to Lambda would; an idle one does not.
    this.worker.ref();
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Lambda stops a timed-out sandbox: the handler may still be running, so this environment is done.
        this.fail(new FunctionTimeoutError(requestId, this.options.spec.timeoutSeconds), `an invocation timed out after ${this.options.spec.timeoutSeconds} s`);
        void this.worker.terminate();
      }, timeoutMs);
      this.pending = { requestId, resolve, reject, timer };
      this.worker.postMessage(message);
    });
  }

  /** Ends the environment (its worker is terminated); an invocation under way fails. */
  async end(reason: string): Promise<void> {
    if (this.state !== 'ended') this.fail({ errorType: 'Runtime.ExitError', errorMessage: `${this.requestPrefix()}Error: Runtime exited: ${reason}`, trace: [] }, reason);
    await this.worker.terminate();
  }

  private requestPrefix(): string {
    return this.pending ? `RequestId: ${this.pending.requestId} ` : '';
  }

  private onMessage(message: RuntimeMessage): void {
    switch (message.kind) {
      case 'ready':
        this.state = 'idle';
        this.worker.unref();
        this.settleInit?.();
        return;
      case 'init-failed':
        this.settleInit?.(message.failure);
        void this.end('the init phase failed');
        return;
      case 'result':
        if (message.requestId !== this.pending?.requestId) return;
        this.settle(undefined, message.payload === undefined ? undefined : JSON.parse(message.payload));
        return;
      case 'failed':
        if (message.requestId !== this.pending?.requestId) return;
        this.settle(new FunctionError(message.failure));
        return;
      case 'fatal':
        this.fail(message.failure, `${message.failure.errorType}: ${message.failure.errorMessage}`);
        void this.worker.terminate();
        return;
    }
  }

  /** Ends the invocation under way, if any, and makes the environment idle again. */
  private settle(error: FunctionError | undefined, value?: unknown): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    clearTimeout(pending.timer);
    if (this.state === 'busy') {
      this.state = 'idle';
      this.worker.unref();
    }
    if (error) pending.reject(error);
    else pending.resolve(value);
  }

  /** Marks the environment ended, failing its init or its invocation under way with `failure`. */
  private fail(failure: FunctionFailureBody | FunctionError, reason: string): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.endReason = reason;
    const error = failure instanceof FunctionError ? failure : new FunctionError(failure);
    this.settleInit?.(error.toJSON());
    this.settle(error);
    this.onEnded?.(reason);
  }
}
