/**
 * The Lambda service of one local stack: the `serverless.yml` functions, each a `WorkerFunction` (its own
 * execution environments in worker threads), created on first use. The stack's SQS event sources and its
 * Step Functions tasks reach the same functions, so a function has one set of warm environments, as on AWS.
 */
import { availableParallelism } from 'node:os';
import type { FunctionSpec } from '../serverless/stack-config';
import type { LocalFunctionOptions } from './function-environment';
import { DEFAULT_POLLERS } from './sqs-event-source';
import { WorkerFunction } from './worker-function';

/**
 * Concurrent invocations of a function no event source bounds (one only Step Functions invokes). Lambda
 * would scale further; locally every environment is a thread of a machine that runs the whole stack.
 */
export const DEFAULT_FUNCTION_CONCURRENCY = 4;

/** The variable that sets how many execution environments one function may have at once on this machine. */
export const MAX_ENVIRONMENTS_ENV = 'SMHOST_LAMBDA_MAX_ENVIRONMENTS';

/** Raised when `SMHOST_LAMBDA_MAX_ENVIRONMENTS` is not a whole number of at least 1. */
export class InvalidMaxEnvironmentsError extends Error {
  constructor(value: string) {
    super(`${MAX_ENVIRONMENTS_ENV} must be a whole number of at least 1; got ${JSON.stringify(value)}`);
    this.name = 'InvalidMaxEnvironmentsError';
  }
}

/**
 * How many execution environments one function may run at once here: `SMHOST_LAMBDA_MAX_ENVIRONMENTS`, else
 * one per core. Each environment is a thread with its own isolate, which compiles and optimizes the handler and
 * the SDK again from nothing, so work split over more environments runs longer in V8's slower tiers: measured by
 * bench/drop-burst on two cores, a registration cost 10.6-12.8 ms of CPU in its environment (plus 3.7-4.7 ms in
 * V8's compiler and GC threads) with four environments, 9.3-10.3 (+4.0) with two and 7.2-7.7 (+3.0-3.3) with one.
 * Beyond the cores, environments only take turns on them, at that price.
 */
export function hostConcurrencyLimit(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[MAX_ENVIRONMENTS_ENV];
  if (raw === undefined || raw === '') return availableParallelism();
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new InvalidMaxEnvironmentsError(raw);
  return value;
}

/**
 * How many invocations of a function may run at once: what its SQS event sources poll with (each
 * `maximumConcurrency`, or Lambda's five pollers), else `DEFAULT_FUNCTION_CONCURRENCY`; at most `hostLimit`.
 */
export function functionConcurrency(spec: FunctionSpec, hostLimit = hostConcurrencyLimit()): number {
  const asked = spec.sqsEvents.length === 0 ? DEFAULT_FUNCTION_CONCURRENCY : spec.sqsEvents.reduce((total, event) => total + (event.maximumConcurrency ?? DEFAULT_POLLERS), 0);
  return Math.min(asked, hostLimit);
}

export class LocalLambdaService {
  private readonly functions = new Map<string, WorkerFunction>();
  private closed = false;
  private readonly hostLimit = hostConcurrencyLimit();
  /** Called once the service is closed. */
  onClosed?: () => void;

  constructor(readonly options: LocalFunctionOptions) {}

  /** The function `spec` describes, started on first use (its environments start when invoked or loaded). */
  function(spec: FunctionSpec): WorkerFunction {
    let fn = this.functions.get(spec.name);
    if (!fn) {
      fn = new WorkerFunction(spec, this.options, functionConcurrency(spec, this.hostLimit));
      this.functions.set(spec.name, fn);
    }
    return fn;
  }

  /** Ends every execution environment of every function. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.functions.values()].map((fn) => fn.close()));
    this.onClosed?.();
  }
}

const services = new Map<string, LocalLambdaService>();

/**
 * The Lambda service serving the stack at `options.endpointUrl` for the functions under `options.serviceDir`,
 * made on first request. The stack and its Step Functions each read `serverless.yml` on their own; keyed by
 * the edge they both know, they share one service (and the stack closes it).
 */
export function lambdaServiceFor(options: LocalFunctionOptions): LocalLambdaService {
  const key = `${options.endpointUrl}\n${options.serviceDir}`;
  let service = services.get(key);
  if (!service) {
    const created = new LocalLambdaService(options);
    created.onClosed = () => {
      if (services.get(key) === created) services.delete(key);
    };
    services.set(key, created);
    service = created;
  }
  return service;
}
