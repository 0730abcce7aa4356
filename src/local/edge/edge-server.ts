/**
 * The edge: the single port every AWS client of the local stack talks to. Each request goes to the
 * service its SigV4 credential scope names; any access key is accepted (signatures are not checked).
 * A service the stack does not serve gets an AWS-shaped error naming it.
 *
 * The SageMaker runtime's `InvokeEndpoint` is answered on plain sockets before Node's `http` server sees it
 * (`fastPaths`, `http1/split-server.ts`): it is the one call whose cost users measure per request.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { RequestHead } from '../http1/request-parser';
import { SplitServer, type FastPath } from '../http1/split-server';
import { requestScope, type RequestScope } from './credential-scope';
import { readBodyWithin } from './request-body';

/** Serves one request for one service. */
export type ServiceHandler = (req: IncomingMessage, res: ServerResponse, scope: RequestScope) => Promise<void>;

export interface EdgeOptions {
  /** Handlers by signing name (`s3`, `dynamodb`, ...). */
  services: Map<string, ServiceHandler>;
  /**
   * Requests of a service answered on plain sockets before Node's server sees them, by signing name (see
   * `http1/split-server.ts`): the SageMaker runtime's. Read on every request, so a service can be added late.
   */
  fastPaths?: Map<string, FastPath>;
  /** Services the stack knows but cannot serve right now, with the reason; answered 501. */
  unavailable?: Map<string, string>;
  /** Told about failures a handler did not answer itself. */
  onError?: (error: Error) => void;
}

function wantsJson(req: IncomingMessage): boolean {
  return String(req.headers['content-type'] ?? '').includes('json') || req.headers['x-amz-target'] !== undefined;
}

/** Writes an error in the protocol family the request used (JSON or XML). */
export function sendEdgeError(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (!req.readableEnded) req.resume();
  const requestId = randomUUID();
  if (wantsJson(req)) {
    const text = JSON.stringify({ __type: code, message });
    res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-RequestId': requestId, 'x-amzn-ErrorType': code, 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  const escaped = message.replace(/[<>&]/g, (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[char]!);
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${escaped}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  res.writeHead(status, { 'Content-Type': 'text/xml', 'x-amzn-RequestId': requestId, 'Content-Length': Buffer.byteLength(xml) });
  res.end(xml);
}

/** The fast path of the service each request is scoped to, if it has one. */
function fastPathByService(paths: Map<string, FastPath>, idleTimeoutMs: number): FastPath {
  const pathOf = (head: RequestHead) => paths.get(requestScope({ method: head.method, url: head.target, headers: head.headers }).service);
  return {
    idleTimeoutMs,
    route: (head) => (paths.size === 0 ? undefined : pathOf(head)?.route(head)),
    // One limit per connection: the largest; only the SageMaker runtime has a fast path.
    get maxBodyBytes() {
      return Math.max(0, ...[...paths.values()].map((path) => path.maxBodyBytes));
    },
    tooLarge: (request) => {
      const target = request.query === '' ? request.path : `${request.path}?${request.query}`;
      const tooLarge = pathOf({ method: request.method, target, headers: request.headers })?.tooLarge;
      return tooLarge ? tooLarge(request) : { status: 413, body: 'request body too large' };
    },
  };
}

/** Creates the edge server (not yet listening). */
export function createEdgeServer(options: EdgeOptions): SplitServer {
  const node = createServer(async (req, res) => {
    let scope: RequestScope;
    try {
      scope = requestScope(req);
    } catch (error) {
      sendEdgeError(req, res, 400, 'InvalidRequest', `the request's credential scope cannot be read: ${(error as Error).message}`);
      return;
    }
    const handler = options.services.get(scope.service);
    if (!handler) {
      const reason = options.unavailable?.get(scope.service);
      if (reason) {
        sendEdgeError(req, res, 501, 'NotImplemented', `The local stack does not serve "${scope.service}" yet: ${reason}`);
        return;
      }
      const served = [...options.services.keys()].sort().join(', ');
      sendEdgeError(req, res, 400, 'UnknownService', `The local stack does not serve the service "${scope.service}" (from the request's ${scope.source === 'presigned' ? 'X-Amz-Credential' : 'credential scope'}); it serves ${served}`);
      return;
    }
    try {
      await handler(req, res, scope);
    } catch (error) {
      options.onError?.(error as Error);
      sendEdgeError(req, res, 500, 'InternalFailure', `the local ${scope.service} failed: ${(error as Error).message}`);
    }
  });
  // Multi-GB uploads and long polls outlast Node's default request timeout.
  node.requestTimeout = 0;
  node.keepAliveTimeout = 65_000;
  return new SplitServer(node, options.fastPaths && fastPathByService(options.fastPaths, node.keepAliveTimeout));
}

/**
 * Reads a whole request body (for the JSON and query protocols, whose bodies are small).
 *
 * @throws Error when the body is longer than `limit` bytes (the edge answers it as an internal failure).
 */
export async function readRequestBody(req: IncomingMessage, limit = 16 * 1024 * 1024): Promise<Buffer> {
  const body = await readBodyWithin(req, limit);
  if (!body) throw new Error(`request body over ${limit} bytes`);
  return body;
}
