/**
 * The inside of one execution environment: a worker thread that imports the function's handler once (the
 * init phase), then runs one invocation at a time for the host, as the Node.js Lambda runtime does. Its
 * `process.env` and module cache are its own, so functions never see each other's configuration or state.
 */
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type { Context } from 'aws-lambda';
import { describeThrown, type FunctionFailureBody } from './function-errors';
import type { InvokeMessage, RuntimeMessage, RuntimeWorkerData } from './runtime-protocol';

type Callback = (error?: unknown, result?: unknown) => void;
type Handler = (event: unknown, context: Context, callback: Callback) => unknown;

if (!parentPort) throw new Error('runtime-worker.ts runs as a worker thread of the local Lambda service, not on its own');
const port = parentPort;
const data = workerData as RuntimeWorkerData;

function send(message: RuntimeMessage): void {
  port.postMessage(message);
}

// Lambda stops the runtime on these rather than let a half-broken environment serve the next event; the host
// fails the invocation under way with the error and replaces the environment.
process.on('unhandledRejection', (reason) => {
  send({ kind: 'fatal', failure: { errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: String(reason), trace: describeThrown(reason).trace } });
});
process.on('uncaughtException', (error) => {
  send({ kind: 'fatal', failure: describeThrown(error) });
});

/** Imports the handler; a failure is typed as the Node.js runtime types it (a module's own error keeps its type). */
async function loadHandler(): Promise<Handler | FunctionFailureBody> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(data.file).href)) as Record<string, unknown>;
  } catch (error) {
    const thrown = describeThrown(error);
    const code = (error as { code?: unknown } | null)?.code;
    if (error instanceof SyntaxError) return { ...thrown, errorType: 'Runtime.UserCodeSyntaxError', errorMessage: `SyntaxError: ${thrown.errorMessage}` };
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return { ...thrown, errorType: 'Runtime.ImportModuleError', errorMessage: `Error: ${thrown.errorMessage}` };
    return thrown;
  }
  const handler = module[data.exportName] ?? (module.default as Record<string, unknown> | undefined)?.[data.exportName];
  if (typeof handler !== 'function') {
    return { errorType: 'Runtime.HandlerNotFound', errorMessage: `${data.handler} is undefined or not exported (${data.sourceFile})`, trace: [] };
  }
  return handler as Handler;
}

/** Runs the handler promise-style, or callback-style when it takes a callback and returns no promise. */
function callHandler(handler: Handler, event: unknown, context: Context): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback: Callback = (error, result) => {
      if (settled) return;
      settled = true;
      if (error !== undefined && error !== null) reject(error);
      else resolve(result);
    };
    context.done = callback;
    context.succeed = (result: unknown) => callback(null, result);
    context.fail = (error: unknown) => callback(error ?? new Error('context.fail called'));
    try {
      const returned = handler(event, context, callback);
      if (returned && typeof (returned as PromiseLike<unknown>).then === 'function') {
        (returned as PromiseLike<unknown>).then((result) => callback(null, result), (error: unknown) => callback(error ?? new Error('the handler rejected with no reason')));
      } else if (handler.length < 3) {
        callback(null, returned);
      }
    } catch (error) {
      callback(error);
    }
  });
}

function contextFor(message: InvokeMessage): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: data.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: data.functionArn,
    memoryLimitInMB: String(data.memorySize),
    awsRequestId: message.requestId,
    logGroupName: data.logGroupName,
    logStreamName: data.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, message.deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function invoke(handler: Handler, message: InvokeMessage): Promise<void> {
  let result: unknown;
  try {
    result = await callHandler(handler, JSON.parse(message.event), contextFor(message));
  } catch (error) {
    send({ kind: 'failed', requestId: message.requestId, failure: describeThrown(error) });
    return;
  }
  let payload: string | undefined;
  try {
    payload = result === undefined ? undefined : JSON.stringify(result);
  } catch (error) {
    send({ kind: 'failed', requestId: message.requestId, failure: { errorType: 'Runtime.MalformedHandlerResponse', errorMessage: `Unable to stringify response body: ${(error as Error).message}`, trace: [] } });
    return;
  }
  send(payload === undefined ? { kind: 'result', requestId: message.requestId } : { kind: 'result', requestId: message.requestId, payload });
}

const loaded = await loadHandler();
if (typeof loaded === 'function') {
  port.on('message', (message: InvokeMessage) => void invoke(loaded, message));
  send({ kind: 'ready' });
} else {
  send({ kind: 'init-failed', failure: loaded });
}
