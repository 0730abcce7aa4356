/**
 * The Lambda functions tasks can invoke locally: the `serverless.yml` functions, run by their real handlers in
 * execution environments of their own (src/local/lambda), found by any name form Lambda accepts (name, partial
 * or full ARN, with a qualifier). A handler's failure is reported the way Lambda reports it to Step Functions:
 * `errorType`, `errorMessage` and `trace`, and `Sandbox.Timedout` for a timeout.
 */
import type { LocalFunctionOptions } from '../lambda/function-environment';
import { FunctionError } from '../lambda/function-errors';
import { lambdaServiceFor } from '../lambda/lambda-service';
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

/**
 * Resolves the `serverless.yml` functions, run by the Lambda service of the stack at `options.endpointUrl`
 * (shared with its SQS event sources), each started on its first invocation.
 */
export function functionsFromSpecs(specs: FunctionSpec[], options: LocalFunctionOptions): FunctionResolver {
  const service = lambdaServiceFor(options);
  return (functionName) => {
    const name = functionNameOf(functionName);
    const spec = specs.find((candidate) => candidate.name === name);
    if (!spec) return undefined;
    const fn = service.function(spec);
    return { name: spec.name, invoke: (event) => fn.invoke(event) };
  };
}

/** What Step Functions reports for a failed invocation (`Error` is the function's `errorType`). */
export function functionFailure(error: unknown): FunctionFailure {
  if (error instanceof FunctionError) return { error: error.errorType, cause: error.toJSON() };
  if (error instanceof Error) {
    const errorType = error.name || 'Error';
    const trace = (error.stack ?? '').split('\n').map((line) => line.trim()).filter((line) => line !== '');
    return { error: errorType, cause: { errorType, errorMessage: error.message, trace } };
  }
  return { error: 'Error', cause: { errorType: 'Error', errorMessage: String(error), trace: [] } };
}
