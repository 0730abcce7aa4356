/**
 * What a `serverless.yml` function runs with locally: its handler file, and the environment Lambda would give
 * it. Each function gets an environment of its own (its execution environments are worker threads), built
 * from `serverless.yml` and the variables the Lambda runtime sets, never from whatever the host process holds.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { FunctionSpec } from '../serverless/stack-config';
import { HandlerNotFoundError } from './function-errors';

/** Where the functions of one local stack run, and what they are told about it. */
export interface LocalFunctionOptions {
  /** The directory `serverless.yml` is in: handler paths are relative to it (Lambda's `LAMBDA_TASK_ROOT`). */
  serviceDir: string;
  region: string;
  accountId: string;
  /** The local stack's edge URL, given to every function as `AWS_ENDPOINT_URL`. */
  endpointUrl: string;
  /** Told when an execution environment is discarded (timeout, crash, out of memory). */
  onWarning?: (message: string) => void;
  /** The host environment the few pass-through variables are read from; default `process.env`. */
  hostEnv?: NodeJS.ProcessEnv;
}

const HANDLER_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs', '.cjs'];

/**
 * Host variables a function still sees: the search path and locale a Node process needs, the temp dir, the
 * credentials the stack was started with (Lambda hands a role's keys the same way), and `POWERTOOLS_*`, the
 * knobs a user turns to quiet or debug the handlers' logs locally (the demo sets `POWERTOOLS_LOG_LEVEL`).
 */
const PASS_THROUGH = ['PATH', 'LANG', 'TMPDIR', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];
const PASS_THROUGH_PREFIX = 'POWERTOOLS_';

/** Finds the source file of `path/to/file.export` under `serviceDir`. */
export function resolveHandler(handler: string, serviceDir: string): { file: string; exportName: string } {
  const dot = handler.lastIndexOf('.');
  if (dot <= 0 || dot === handler.length - 1) {
    throw new HandlerNotFoundError({ errorType: 'Runtime.MalformedHandlerName', errorMessage: `handler "${handler}" must be "path/to/file.exportName"`, trace: [] });
  }
  const modulePath = handler.slice(0, dot);
  const exportName = handler.slice(dot + 1);
  const base = isAbsolute(modulePath) ? modulePath : join(serviceDir, modulePath);
  for (const extension of HANDLER_EXTENSIONS) {
    if (existsSync(base + extension)) return { file: base + extension, exportName };
  }
  throw new HandlerNotFoundError({
    errorType: 'Runtime.ImportModuleError',
    errorMessage: `Error: Cannot find module '${modulePath}': handler "${handler}" has no file ${modulePath}{${HANDLER_EXTENSIONS.join(',')}} in ${serviceDir}`,
    trace: [],
  });
}

/** The function's ARN, as Lambda builds it. */
export function functionArn(spec: FunctionSpec, options: Pick<LocalFunctionOptions, 'region' | 'accountId'>): string {
  return `arn:aws:lambda:${options.region}:${options.accountId}:function:${spec.name}`;
}

/**
 * The environment Lambda would give the function: the host pass-through variables, the runtime's own
 * variables, then `serverless.yml`'s environment (provider-wide and the function's), then the edge as
 * `AWS_ENDPOINT_URL`, which is what makes the handler's SDK clients talk to the local stack.
 */
export function functionEnvironment(spec: FunctionSpec, options: LocalFunctionOptions): Record<string, string> {
  const host = options.hostEnv ?? process.env;
  const passed: Record<string, string> = {};
  for (const [name, value] of Object.entries(host)) {
    if (value !== undefined && (PASS_THROUGH.includes(name) || name.startsWith(PASS_THROUGH_PREFIX))) passed[name] = value;
  }
  return {
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    ...passed,
    AWS_REGION: options.region,
    AWS_DEFAULT_REGION: options.region,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: spec.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memorySize),
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
    LAMBDA_TASK_ROOT: options.serviceDir,
    _HANDLER: spec.handler,
    ...spec.environment,
    AWS_ENDPOINT_URL: options.endpointUrl,
  };
}
