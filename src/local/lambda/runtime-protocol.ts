/**
 * The messages between the local Lambda service and a function's execution environment (a worker thread).
 * Events and results cross as JSON text, so the handler sees exactly what a deserialized Lambda payload holds
 * (no `Date`, `Map` or `undefined` surviving the trip), and the caller gets what Lambda would serialize.
 */
import type { FunctionFailureBody } from './function-errors';

/** What an execution environment is started with (its `workerData`). */
export interface RuntimeWorkerData {
  /** The handler's module file (its bundle), absolute. */
  file: string;
  /** The handler's source file, for messages. */
  sourceFile: string;
  /** The export to call. */
  exportName: string;
  /** `path/to/file.export` as `serverless.yml` names it, for messages. */
  handler: string;
  functionName: string;
  functionArn: string;
  memorySize: number;
  logGroupName: string;
  logStreamName: string;
}

/** The host asks for one invocation. */
export interface InvokeMessage {
  kind: 'invoke';
  requestId: string;
  /** The event as JSON text. */
  event: string;
  /** Epoch milliseconds at which the invocation times out (for `getRemainingTimeInMillis`). */
  deadline: number;
}

/** What an execution environment tells the host. */
export type RuntimeMessage =
  | { kind: 'ready' }
  | { kind: 'init-failed'; failure: FunctionFailureBody }
  | { kind: 'result'; requestId: string; payload?: string }
  | { kind: 'failed'; requestId: string; failure: FunctionFailureBody }
  /** The runtime must stop (an unhandled rejection); the invocation under way fails with this. */
  | { kind: 'fatal'; failure: FunctionFailureBody };
