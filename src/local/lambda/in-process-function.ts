/**
 * Runs a `serverless.yml` function in this process: its handler module imported from source, with the
 * function's environment (resolved from `serverless.yml`) and the variables Lambda sets placed in
 * `process.env` before the import, since modules commonly read their configuration when they load.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { FunctionSpec } from '../serverless/stack-config';

/** Raised when a function's handler file or export cannot be found or loaded. */
export class HandlerNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandlerNotFoundError';
  }
}

/** Raised when an invocation runs past the function's timeout. */
export class FunctionTimeoutError extends Error {
  constructor(functionName: string, seconds: number) {
    super(`${functionName}: Task timed out after ${seconds.toFixed(2)} seconds`);
    this.name = 'FunctionTimeoutError';
  }
}

type Handler = (event: unknown, context: Context, callback: (error?: unknown, result?: unknown) => void) => unknown;

export interface InProcessFunctionOptions {
  /** The directory `serverless.yml` is in: handler paths are relative to it. */
  serviceDir: string;
  region: string;
  accountId: string;
  /** The local stack's edge URL, given to the function as `AWS_ENDPOINT_URL`. */
  endpointUrl: string;
  /** Told when the function's environment overrides a value another function set. */
  onWarning?: (message: string) => void;
}

const HANDLER_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs', '.cjs'];

/** Finds the source file of `path/to/file.export` under `serviceDir`. */
export function resolveHandler(handler: string, serviceDir: string): { file: string; exportName: string } {
  const dot = handler.lastIndexOf('.');
  const modulePath = handler.slice(0, dot);
  const exportName = handler.slice(dot + 1);
  const base = isAbsolute(modulePath) ? modulePath : join(serviceDir, modulePath);
  for (const extension of HANDLER_EXTENSIONS) {
    if (existsSync(base + extension)) return { file: base + extension, exportName };
  }
  throw new HandlerNotFoundError(`handler "${handler}": no file ${modulePath}{${HANDLER_EXTENSIONS.join(',')}} in ${serviceDir}`);
}

/** The environment Lambda would give the function, on top of the one `serverless.yml` declares. */
export function functionEnvironment(spec: FunctionSpec, options: InProcessFunctionOptions): Record<string, string> {
  return {
    AWS_REGION: options.region,
    AWS_DEFAULT_REGION: options.region,
    AWS_ENDPOINT_URL: options.endpointUrl,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
    AWS_LAMBDA_FUNCTION_NAME: spec.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memorySize),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
    ...spec.environment,
  };
}

export class InProcessFunction {
  private handler?: Handler;

  constructor(
    readonly spec: FunctionSpec,
    private readonly options: InProcessFunctionOptions,
  ) {}

  /** Sets the environment and imports the handler; safe to call more than once. */
  async load(): Promise<void> {
    if (this.handler) return;
    const { file, exportName } = resolveHandler(this.spec.handler, this.options.serviceDir);
    for (const [name, value] of Object.entries(functionEnvironment(this.spec, this.options))) {
      const previous = process.env[name];
      if (previous !== undefined && previous !== value && !name.startsWith('AWS_')) {
        this.options.onWarning?.(`function ${this.spec.key}: environment ${name}=${value} replaces ${previous} (one process serves every local function)`);
      }
      process.env[name] = value;
    }
    let module: Record<string, unknown>;
    try {
      module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (error) {
      throw new HandlerNotFoundError(`handler "${this.spec.handler}": ${file} failed to load: ${(error as Error).message}`);
    }
    const handler = module[exportName] ?? (module.default as Record<string, unknown> | undefined)?.[exportName];
    if (typeof handler !== 'function') throw new HandlerNotFoundError(`handler "${this.spec.handler}": ${file} has no exported function "${exportName}"`);
    this.handler = handler as Handler;
  }

  /** Invokes the handler as Lambda would (promise or callback style), bounded by the function's timeout. */
  async invoke(event: unknown): Promise<unknown> {
    await this.load();
    const handler = this.handler!;
    const deadline = Date.now() + this.spec.timeoutSeconds * 1000;
    const requestId = randomUUID();
    const context: Context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: this.spec.name,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${this.options.region}:${this.options.accountId}:function:${this.spec.name}`,
      memoryLimitInMB: String(this.spec.memorySize),
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${this.spec.name}`,
      logStreamName: `local/[$LATEST]${requestId.replace(/-/g, '')}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
    let timer: NodeJS.Timeout | undefined;
    const run = new Promise<unknown>((resolve, reject) => {
      const callback = (error?: unknown, result?: unknown) => (error ? reject(error) : resolve(result));
      try {
        const returned = handler(event, context, callback);
        if (returned && typeof (returned as Promise<unknown>).then === 'function') (returned as Promise<unknown>).then(resolve, reject);
        else if (handler.length < 3) resolve(returned);
      } catch (error) {
        reject(error);
      }
    });
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new FunctionTimeoutError(this.spec.name, this.spec.timeoutSeconds)), this.spec.timeoutSeconds * 1000);
      timer.unref();
    });
    try {
      return await Promise.race([run, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
