/**
 * Failed invocations, described the way Lambda describes them: an `errorType`, an `errorMessage` and a `trace`
 * (the stack, one line an entry). The error thrown by a handler keeps its own name as `errorType`; failures of
 * the runtime itself use the `Runtime.*` and `Sandbox.*` types Lambda reports.
 */

/** What Lambda reports for a failed invocation (the body of its error response). */
export interface FunctionFailureBody {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

/** An invocation that failed: the handler threw or rejected, or its runtime failed under it. */
export class FunctionError extends Error {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace: string[];

  constructor(body: FunctionFailureBody) {
    super(body.errorMessage);
    // The handler's error type is the name callers match on (Step Functions' `ErrorEquals`, batch logs).
    this.name = body.errorType;
    this.errorType = body.errorType;
    this.errorMessage = body.errorMessage;
    this.trace = body.trace;
  }

  /** The body of Lambda's error response. */
  toJSON(): FunctionFailureBody {
    return { errorType: this.errorType, errorMessage: this.errorMessage, trace: this.trace };
  }
}

/**
 * Raised when a function's init phase failed: its module threw while loading, or timed out doing so. No
 * invocation can run until a new execution environment initializes.
 */
export class FunctionInitError extends FunctionError {}

/** The init failures that mean the handler itself is missing: no such file or export, or a name that is not one. */
const MISSING_HANDLER_TYPES = new Set(['Runtime.ImportModuleError', 'Runtime.HandlerNotFound', 'Runtime.MalformedHandlerName']);

/**
 * Raised when a function's handler file cannot be found or imported (`Runtime.ImportModuleError`), does not
 * export the named function (`Runtime.HandlerNotFound`), or is not named `file.export`.
 */
export class HandlerNotFoundError extends FunctionInitError {}

/** The error for a failed init phase: `HandlerNotFoundError` when the handler is missing. */
export function initError(body: FunctionFailureBody): FunctionInitError {
  return MISSING_HANDLER_TYPES.has(body.errorType) ? new HandlerNotFoundError(body) : new FunctionInitError(body);
}

/** Raised when an invocation runs past the function's timeout; its execution environment is discarded. */
export class FunctionTimeoutError extends FunctionError {
  constructor(requestId: string, timeoutSeconds: number) {
    super({ errorType: 'Sandbox.Timedout', errorMessage: `RequestId: ${requestId} Error: Task timed out after ${timeoutSeconds.toFixed(2)} seconds`, trace: [] });
  }
}

/** Raised for an invocation that could not run because the function was closed (the stack is stopping). */
export class FunctionClosedError extends Error {
  constructor(functionName: string) {
    super(`function ${functionName} is closed: the local stack is stopping`);
    this.name = 'FunctionClosedError';
  }
}

/**
 * Describes a thrown value as the Node.js Lambda runtime does: an `Error` by its name, message and stack;
 * anything else by its type and string form.
 */
export function describeThrown(value: unknown): FunctionFailureBody {
  if (value instanceof Error) {
    return { errorType: value.name || 'Error', errorMessage: value.message, trace: (value.stack ?? '').split('\n') };
  }
  return { errorType: typeof value, errorMessage: String(value), trace: [] };
}
