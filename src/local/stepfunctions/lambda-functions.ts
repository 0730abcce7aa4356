/**
 * The Lambda functions tasks can invoke locally: the `serverless.yml` functions, run in this process by
 * their real handlers, found by any name form Lambda accepts (name, partial or full ARN, with a qualifier).
 * A handler's failure is reported the way Lambda reports it to Step Functions: `errorType`,
 * `errorMessage` and `trace`, and `Sandbox.Timedout` for a timeout.
 */
import { randomUUID } from 'node:crypto';
import { FunctionTimeoutError, HandlerNotFoundError, InProcessFunction, type InProcessFunctionOptions } from '../lambda/in-process-function';
import type { FunctionSpec } from '../serverless/stack-config';

/** One invocable function. */
export interface LocalFunction {
  name: string;
  invoke(event: unknown): Promise<unknown>;
}

/** Finds a function by the `FunctionName` a task gives (name, ARN or partial ARN, maybe qualified). */
export type FunctionResolver = (functionName: string) => LocalFunction | undefined;

/** How Lambda describes a failed invocation, and the error name Step Functions raises for it. */
export interface FunctionFailure {
  error: string;
  cause: { errorType: string; errorMessage: string; trace: string[] };
}

/** The bare function name in any form Lambda accepts, or `undefined` when it is not a function name. */
export function functionNameOf(functionName: string): string | undefined {
  const full = /^arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:([\w-]{1,64})(?::[\w$-]+)?$/.exec(functionName);
  if (full) return full[1];
  const partial = /^(?:\d{12}:function:)?([\w-]{1,64})(?::[\w$-]+)?$/.exec(functionName);
  return partial?.[1];
}

/** Resolves the `serverless.yml` functions, each loaded in this process on its first invocation. */
export function functionsFromSpecs(specs: FunctionSpec[], options: InProcessFunctionOptions): FunctionResolver {
  const loaded = new Map<string, InProcessFunction>();
  return (functionName) => {
    const name = functionNameOf(functionName);
    const spec = specs.find((candidate) => candidate.name === name);
    if (!spec) return undefined;
    let fn = loaded.get(spec.name);
    if (!fn) {
      fn = new InProcessFunction(spec, options);
      loaded.set(spec.name, fn);
    }
    const local = fn;
    return { name: spec.name, invoke: (event) => local.invoke(event) };
  };
}

/** What Step Functions reports for a failed invocation (`Error` is the function's `errorType`). */
export function functionFailure(error: unknown): FunctionFailure {
  if (error instanceof FunctionTimeoutError) {
    const errorMessage = `RequestId: ${randomUUID()} Error: ${error.message.replace(/^[^:]*: /, '')}`;
    return { error: 'Sandbox.Timedout', cause: { errorType: 'Sandbox.Timedout', errorMessage, trace: [] } };
  }
  if (error instanceof HandlerNotFoundError) {
    return { error: 'Runtime.HandlerNotFound', cause: { errorType: 'Runtime.HandlerNotFound', errorMessage: error.message, trace: [] } };
  }
  if (error instanceof Error) {
    const errorType = error.name || 'Error';
    const trace = (error.stack ?? '').split('\n').map((line) => line.trim()).filter((line) => line !== '');
    return { error: errorType, cause: { errorType, errorMessage: error.message, trace } };
  }
  return { error: 'Error', cause: { errorType: 'Error', errorMessage: String(error), trace: [] } };
}
