/**
 * A function of the local stack as Lambda runs one: a pool of execution environments (worker threads), each
 * serving one invocation at a time. A warm environment is reused; a new one starts (a cold start) only when
 * every environment is busy and the function's concurrency allows another, otherwise the invocation waits for
 * the first to free up. An environment that timed out, crashed or ran out of memory is replaced.
 */
import type { FunctionSpec } from '../serverless/stack-config';
import { ExecutionEnvironment } from './execution-environment';
import { bundleFunction, type FunctionBundle } from './function-bundle';
import { functionArn, functionEnvironment, resolveHandler, type LocalFunctionOptions } from './function-environment';
import { FunctionClosedError } from './function-errors';

interface Waiter {
  resolve: (environment: ExecutionEnvironment) => void;
  reject: (error: unknown) => void;
}

/** Raised when a function is given a concurrency that is not a whole number of at least 1. */
export class InvalidConcurrencyError extends Error {
  constructor(functionName: string, value: unknown) {
    super(`function ${functionName}: maxConcurrency must be a whole number of at least 1; got ${JSON.stringify(value)}`);
    this.name = 'InvalidConcurrencyError';
  }
}

export class WorkerFunction {
  private readonly environments = new Set<ExecutionEnvironment>();
  /** Idle environments, the most recently used last: Lambda favours the warmest. */
  private readonly idle: ExecutionEnvironment[] = [];
  private readonly waiting: Waiter[] = [];
  private closed = false;
  private started = 0;
  /** Environments being started whose bundle is not ready yet: they count against the concurrency. */
  private starting = 0;
  private bundling?: Promise<FunctionBundle & { sourceFile: string; exportName: string }>;

  /**
   * @param spec the function as `serverless.yml` declares it
   * @param options where it runs (see `LocalFunctionOptions`)
   * @param maxConcurrency how many invocations may run at once, each in its own environment
   */
  constructor(
    readonly spec: FunctionSpec,
    private readonly options: LocalFunctionOptions,
    readonly maxConcurrency: number,
  ) {
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) throw new InvalidConcurrencyError(spec.name, maxConcurrency);
  }

  /** Execution environments started so far: every one of them was a cold start. */
  get coldStarts(): number {
    return this.started;
  }

  /** Execution environments alive now (initializing, idle or busy). */
  get environmentCount(): number {
    return this.environments.size;
  }

  /**
   * Makes sure one environment is initialized and warm, so a missing or broken handler shows at start.
   * Rejects with `HandlerNotFoundError` or `FunctionInitError` when the init phase fails.
   */
  async load(): Promise<void> {
    if (this.idle.length > 0 || !this.hasRoom()) return;
    this.release(await this.start());
  }

  /**
   * Invokes the function with `event` (passed as JSON, as Lambda passes it) and resolves with its result.
   * Rejects with a `FunctionError` shaped as Lambda reports it: the handler's own error type, or
   * `Sandbox.Timedout`, `Runtime.ExitError`, `Runtime.OutOfMemory`, or an init failure.
   */
  async invoke(event: unknown): Promise<unknown> {
    let environment: ExecutionEnvironment | undefined;
    try {
      environment = await this.acquire();
      return await environment.invoke(event);
    } catch (error) {
      // Whatever an environment reports while being torn down, the cause is the closing.
      throw this.closed ? new FunctionClosedError(this.spec.name) : error;
    } finally {
      if (environment) this.release(environment);
    }
  }

  /** Ends every environment; invocations under way or waiting for one fail with `FunctionClosedError`. */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(new FunctionClosedError(this.spec.name));
    this.idle.length = 0;
    await Promise.all([...this.environments].map((environment) => environment.end('the local stack is stopping')));
  }

  private hasRoom(): boolean {
    return this.environments.size + this.starting < this.maxConcurrency;
  }

  private acquire(): Promise<ExecutionEnvironment> {
    if (this.closed) return Promise.reject(new FunctionClosedError(this.spec.name));
    const warm = this.idle.pop();
    if (warm) return Promise.resolve(warm);
    if (this.hasRoom()) return this.start();
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Bundles the handler once for every environment; a failed bundle is tried again on the next start. */
  private bundled(): Promise<FunctionBundle & { sourceFile: string; exportName: string }> {
    this.bundling ??= (async () => {
      const { file, exportName } = resolveHandler(this.spec.handler, this.options.serviceDir);
      return { ...(await bundleFunction(file, this.spec.handler)), sourceFile: file, exportName };
    })();
    this.bundling.catch(() => {
      this.bundling = undefined;
    });
    return this.bundling;
  }

  private async start(): Promise<ExecutionEnvironment> {
    // Counted before the bundle exists, so concurrent starts never exceed the function's concurrency.
    this.starting += 1;
    let bundle: Awaited<ReturnType<WorkerFunction['bundled']>>;
    try {
      bundle = await this.bundled();
    } finally {
      this.starting -= 1;
    }
    if (this.closed) throw new FunctionClosedError(this.spec.name);
    const environment = new ExecutionEnvironment({
      spec: this.spec,
      bundle,
      sourceFile: bundle.sourceFile,
      exportName: bundle.exportName,
      functionArn: functionArn(this.spec, this.options),
      environment: functionEnvironment(this.spec, this.options),
    });
    this.started += 1;
    this.environments.add(environment);
    environment.onEnded = (reason) => {
      this.environments.delete(environment);
      const index = this.idle.indexOf(environment);
      if (index >= 0) this.idle.splice(index, 1);
      if (this.closed) return;
      this.options.onWarning?.(`function ${this.spec.key}: an execution environment ended (${reason}); the next invocation starts a new one`);
      this.startForWaiters();
    };
    await environment.ready;
    return environment;
  }

  /** Hands a finished environment to the next waiting invocation, or keeps it warm. */
  private release(environment: ExecutionEnvironment): void {
    if (environment.ended || this.closed) return;
    const waiter = this.waiting.shift();
    if (waiter) waiter.resolve(environment);
    else this.idle.push(environment);
  }

  /** An environment ended: its slot goes to invocations that were waiting for one. */
  private startForWaiters(): void {
    while (this.waiting.length > 0 && this.hasRoom()) {
      const waiter = this.waiting.shift()!;
      this.start().then(waiter.resolve, waiter.reject);
    }
  }
}
