/**
 * A small HTTP proxy put in front of an AWS JSON service (the SageMaker emulator) that answers chosen
 * operations, named by their `X-Amz-Target`, with an AWS error the first N times they are called, and
 * forwards everything else untouched (headers, streamed bodies, status). Tests point the client under
 * test at the proxy to see throttling and transient failures handled as they would be on AWS, while the
 * emulator behind it stays unaware.
 */
import { randomUUID } from 'node:crypto';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An AWS error as a JSON 1.1 service sends it: `__type` in the body, with an HTTP status. */
export interface InjectedFault {
  /** The AWS error code (`ThrottlingException`, `InternalFailure`, `ServiceUnavailable`, ...). */
  code: string;
  status: number;
  message: string;
}

/** SageMaker's answer when a caller goes over an API rate: `ThrottlingException`, HTTP 400, JSON 1.1 shape. */
export const THROTTLING: InjectedFault = { code: 'ThrottlingException', status: 400, message: 'Rate exceeded' };

/** One request the proxy saw. */
export interface ProxiedRequest {
  /** The operation of `X-Amz-Target` (`SageMaker.CreateModel` → `CreateModel`), else `METHOD /path`. */
  operation: string;
  /** The fault answered instead of the service's answer, if any. */
  fault?: string;
  /** True when the call reached the service and only its answer was replaced by the fault. */
  reachedService?: boolean;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: the endpoint to give the client under test. */
  url: string;
  /**
   * Answers the next `times` calls of `operation` with `fault` (default {@link THROTTLING}), then forwards
   * again. With `after`, the faults wait until a call of that operation has been forwarded, so a later use of
   * an operation can be hit (the DescribeEndpoint polls after CreateEndpoint, not the look-up before it).
   * With `lose`, the call reaches the service and only its answer is replaced by the fault: a response lost
   * on the way back (a timeout, a dropped connection), after which a retry repeats a call that took effect.
   * Injecting again for the same operation replaces what was pending.
   */
  inject(operation: string, times: number, options?: { fault?: InjectedFault; after?: string; lose?: boolean }): void;
  /**
   * Holds the next call of `operation` until `action` has settled, then handles it as usual: what another
   * client does at exactly that moment (a rival deployment creating the same endpoint between a look-up and
   * a create). The call goes on even when `action` fails; the failure is kept in {@link FaultProxy.hookErrors}.
   */
  beforeNext(operation: string, action: () => Promise<unknown>): void;
  /** Errors of `beforeNext` actions, in order. */
  readonly hookErrors: readonly unknown[];
  /** Faults still to be answered, by operation. */
  pending(): Record<string, number>;
  /** Every request seen, in order of arrival. */
  readonly requests: readonly ProxiedRequest[];
  /** Forgets pending faults and the request log. */
  reset(): void;
  close(): Promise<void>;
}

/** Raised for a fault the proxy cannot inject (bad operation name, count or status). */
export class FaultProxyConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaultProxyConfigError';
  }
}

const OPERATION_NAME = /^[A-Z][A-Za-z0-9]*$/;

/** The operation a JSON-protocol request names (`X-Amz-Target: <Service>.<Operation>`), if any. */
export function targetOperationOf(req: IncomingMessage): string | undefined {
  const header = req.headers['x-amz-target'];
  const target = Array.isArray(header) ? header[0] : header;
  if (target === undefined) return undefined;
  const dot = target.lastIndexOf('.');
  return dot >= 0 ? target.slice(dot + 1) : target;
}

function checkFault(operation: string, times: number, fault: InjectedFault): void {
  if (!OPERATION_NAME.test(operation)) {
    throw new FaultProxyConfigError(`operation must be an API operation name such as CreateModel (the part of X-Amz-Target after the dot); got ${JSON.stringify(operation)}`);
  }
  if (!Number.isInteger(times) || times < 1) throw new FaultProxyConfigError(`times must be a whole number of at least 1; got ${JSON.stringify(times)}`);
  if (!Number.isInteger(fault.status) || fault.status < 400 || fault.status > 599) {
    throw new FaultProxyConfigError(`fault.status must be an HTTP error status (400 to 599); got ${JSON.stringify(fault.status)}`);
  }
  if (!OPERATION_NAME.test(fault.code)) throw new FaultProxyConfigError(`fault.code must be an AWS error code such as ThrottlingException; got ${JSON.stringify(fault.code)}`);
}

function sendFault(res: ServerResponse, fault: InjectedFault): void {
  const body = JSON.stringify({ __type: fault.code, message: fault.message });
  res.writeHead(fault.status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(body);
}

/**
 * Starts the proxy on a free port of 127.0.0.1, forwarding to `target` (`http://host:port`).
 * @throws FaultProxyConfigError when `target` is not an http URL with a host
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  let upstream: URL;
  try {
    upstream = new URL(target);
  } catch {
    throw new FaultProxyConfigError(`target must be an http URL such as http://127.0.0.1:4566; got ${JSON.stringify(target)}`);
  }
  if (upstream.protocol !== 'http:' || upstream.hostname === '') {
    throw new FaultProxyConfigError(`target must be an http URL such as http://127.0.0.1:4566; got ${JSON.stringify(target)}`);
  }
  const faults = new Map<string, { remaining: number; fault: InjectedFault; after?: string; lose?: boolean }>();
  const requests: ProxiedRequest[] = [];
  const hooks = new Map<string, () => Promise<unknown>>();
  const hookErrors: unknown[] = [];

  const handle = (req: IncomingMessage, res: ServerResponse, operation: string | undefined): void => {
    const entry = operation === undefined ? undefined : faults.get(operation);
    if (operation !== undefined && entry && entry.after === undefined && !entry.lose) {
      entry.remaining -= 1;
      if (entry.remaining === 0) faults.delete(operation);
      requests.push({ operation, fault: entry.fault.code });
      // The request body is drained so the client sees a clean answer on a reusable connection.
      req.resume();
      req.on('end', () => sendFault(res, entry.fault));
      return;
    }
    const lost = operation !== undefined && entry?.after === undefined && entry?.lose === true ? entry : undefined;
    if (lost) {
      lost.remaining -= 1;
      if (lost.remaining === 0) faults.delete(operation!);
    }
    requests.push({ operation: operation ?? `${req.method} ${req.url}`, ...(lost ? { fault: lost.fault.code, reachedService: true } : {}) });
    for (const waiting of faults.values()) if (waiting.after === operation) delete waiting.after;
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        if (lost) {
          answer.resume();
          answer.on('end', () => sendFault(res, lost.fault));
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', (error) => {
      if (res.headersSent) res.destroy(error);
      else sendFault(res, { code: 'ServiceUnavailable', status: 503, message: `fault proxy: upstream ${target} failed: ${error.message}` });
    });
    req.pipe(forward);
  };

  const server = createServer((req, res) => {
    const operation = targetOperationOf(req);
    const hook = operation === undefined ? undefined : hooks.get(operation);
    if (hook === undefined) return handle(req, res, operation);
    hooks.delete(operation!);
    // The request stays paused (nothing reads it) while the action runs, so its body waits intact.
    void hook()
      .catch((error: unknown) => void hookErrors.push(error))
      .then(() => handle(req, res, operation));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    hookErrors,
    inject(operation, times, { fault = THROTTLING, after, lose } = {}) {
      checkFault(operation, times, fault);
      if (after !== undefined && !OPERATION_NAME.test(after)) {
        throw new FaultProxyConfigError(`after must be an API operation name such as CreateEndpoint; got ${JSON.stringify(after)}`);
      }
      faults.set(operation, { remaining: times, fault, ...(after !== undefined ? { after } : {}), ...(lose ? { lose } : {}) });
    },
    beforeNext(operation, action) {
      if (!OPERATION_NAME.test(operation)) {
        throw new FaultProxyConfigError(`operation must be an API operation name such as CreateEndpoint; got ${JSON.stringify(operation)}`);
      }
      hooks.set(operation, action);
    },
    pending() {
      return Object.fromEntries([...faults].map(([operation, entry]) => [operation, entry.remaining]));
    },
    reset() {
      faults.clear();
      hooks.clear();
      hookErrors.length = 0;
      requests.length = 0;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
