/**
 * An HTTP/1.1 server on plain sockets rather than Node's `http` module, for the requests on the path of
 * every `InvokeEndpoint`: the built-in container's, and the runtime's own in the emulator's front
 * (`split-server.ts`).
 *
 * Node's server costs far more per request than the work behind it on a small model: measured on the
 * benchmark's 10-row Iris request, a Node `http` server answering from onnxruntime took about 135 µs of CPU
 * per request, the same answer on this server about 85 µs. What it keeps of HTTP/1.1 is what a client of
 * those paths can use: `Content-Length` and chunked request bodies, `Expect: 100-continue`, keep-alive
 * (HTTP/1.1 by default, HTTP/1.0 on request), pipelined requests answered in order, `HEAD`, and clear 4xx
 * answers (then a close) to requests it cannot read. Every answer has a `Content-Length` and a `Date` and
 * goes out in one write.
 *
 * With a lane (`Http1Lane`), a router picks the handler of each request from its head, and the first
 * request it does not take (or cannot read) goes, with its connection, to another server: see `divert`.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { HttpRequestError, HttpRequestParser, type ParsedRequest, type RequestRouter } from './request-parser';

/** One request as a handler sees it. */
export interface Http1Request {
  method: string;
  /** The target's path, before any `?`. */
  path: string;
  /** The target's query, without the `?` (empty when none). */
  query: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: Buffer;
}

/** An answer: the body is sent with its `Content-Length` (and without it, for `HEAD`). */
export interface Http1Answer {
  status: number;
  body: string | Buffer;
  /** Default `text/plain; charset=utf-8`. */
  contentType?: string;
  /** More header fields (names as written; values must hold no CR or LF). */
  headers?: Record<string, string>;
}

/** Answers one request; a throw or a rejection is answered 500 with its message. */
export type Http1Handler = (request: Http1Request) => Http1Answer | Promise<Http1Answer>;

/** Serving only some requests: the others go, from the first of them on, with their connection, to `divert`. */
export interface Http1Lane {
  /** The handler of a request, from its head; `undefined` for a request this server does not serve. */
  route: RequestRouter<Http1Handler>;
  /**
   * Takes over a connection once every request before the first one not routed here has been answered:
   * `bytes` are everything read from that request's first byte on, `ended` whether the client has already
   * half-closed. The socket has no listeners of this server left and is not read until this returns.
   */
  divert(socket: Socket, bytes: Buffer, ended: boolean): void;
}

/** How much {@link Http1Connections} accepts and how it answers what it does not. */
export interface Http1Limits {
  /** Bodies over this many bytes are read to their end and answered by `tooLarge`. */
  maxBodyBytes: number;
  /** The answer to a request whose body was over the limit (its body is empty); default a plain 413. */
  tooLarge?: (request: Http1Request) => Http1Answer;
  /** An idle kept-alive connection is closed after this long; answers tell the client (`Keep-Alive: timeout`). Default 60 s. */
  idleTimeoutMs?: number;
  /**
   * A request whose first bytes have arrived must be read whole within this long, else it is answered 408
   * and the connection closed, as Node's server does: a client that trickles a byte now and then does not
   * hold a connection forever. Default 60 s.
   */
  requestTimeoutMs?: number;
  /** Cap on a request's line and headers together. Default 16 KiB, as Node's server. */
  maxHeaderBytes?: number;
}

/** Where {@link serveHttp1} listens and how much it accepts. */
export interface Http1ServerOptions extends Http1Limits {
  /** TCP port on `host`. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
}

/** A listening {@link serveHttp1} server. */
export interface Http1Server {
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/** Past this many requests read ahead of their answers, the connection is not read until some are answered. */
const MAX_QUEUED_REQUESTS = 32;
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const EMPTY = Buffer.alloc(0);
/** Bodies up to this size are copied behind the head for one write; larger ones go as a second buffer of one writev. */
const COPY_BODY_BYTES = 64 * 1024;

/** Why a server could not listen, naming where. */
export class Http1ListenError extends Error {
  override readonly name = 'Http1ListenError';
}

/** The `Date` field, made once a second rather than once an answer. */
let dateSecond = 0;
let dateField = '';
function dateHeader(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateField = `date: ${new Date(now).toUTCString()}\r\n`;
  }
  return dateField;
}

type Route = Http1Handler | true;

class Connection {
  private readonly parser: HttpRequestParser<Route>;
  /** Requests read and not answered yet, in order; the first may be under way. */
  private readonly queue: ParsedRequest<Route>[] = [];
  private busy = false;
  /** Nothing more is read: the connection closes once what is queued is answered. */
  private closing = false;
  /** The client half-closed its side: it sends nothing more but may still wait for answers. */
  private ended = false;
  /** Bytes that are not a request: answered, after the requests before them, with this and a close. */
  private failure: HttpRequestError | undefined;
  private lastActive = Date.now();
  /** When the first byte of the request being read arrived; `undefined` between requests. */
  private requestSince: number | undefined;
  /** An answer is waiting in the socket's buffer for the client to read: nothing more is answered or read. */
  private blocked = false;
  private readonly unblock = () => {
    this.blocked = false;
    this.next();
  };
  /** This server's listeners on the socket, taken off when the connection is handed over. */
  private readonly listeners: Record<'data' | 'end' | 'error' | 'close', (chunk: Buffer) => void>;

  constructor(
    readonly socket: Socket,
    private readonly owner: Http1Connections,
  ) {
    // The limits themselves, not a copy: a limit that changes applies from the next request.
    this.parser = new HttpRequestParser<Route>(owner.limits, owner.lane?.route);
    socket.setNoDelay(true);
    this.listeners = {
      data: (chunk: Buffer) => this.read(chunk),
      end: () => {
        this.ended = true;
        this.next();
      },
      error: () => socket.destroy(),
      close: () => owner.gone(this),
    };
    for (const [event, listener] of Object.entries(this.listeners)) socket.on(event, listener);
  }

  /** Closes the connection if it has been idle too long, or answers 408 if its request is taking too long to arrive. */
  sweep(now: number, idleTimeoutMs: number, requestTimeoutMs: number): void {
    if (this.requestSince !== undefined && now - this.requestSince > requestTimeoutMs) {
      this.requestSince = undefined;
      this.closing = true;
      this.queue.length = 0;
      // A client that does not read its answers either gets no more.
      if (this.blocked) return void this.socket.destroy();
      this.failure = new HttpRequestError(408, `the request was not received whole within ${requestTimeoutMs / 1000} s`);
      if (!this.busy) this.next();
      return;
    }
    if (!this.busy && this.requestSince === undefined && now - this.lastActive > idleTimeoutMs) this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    const now = Date.now();
    this.lastActive = now;
    if (this.closing) return;
    const startsRequest = !this.parser.partial;
    const requests = this.parser.push(chunk);
    for (const request of requests) this.queue.push(request);
    if (!this.parser.partial) this.requestSince = undefined;
    else if (startsRequest || requests.length > 0) this.requestSince = now;
    if (this.parser.error) {
      this.failure = this.parser.error;
      this.closing = true;
    }
    // Bytes for the other server are not read on while the requests before them are answered: an upload
    // behind a slow invocation waits in the kernel, not in memory here.
    if (this.queue.length >= MAX_QUEUED_REQUESTS || this.parser.diverted) this.socket.pause();
    this.next();
  }

  /** Answers queued requests one at a time, in order. */
  private next(): void {
    while (!this.busy && !this.blocked && !this.socket.destroyed) {
      const request = this.queue.shift();
      if (!request) return this.drained();
      const handler = request.route === true ? this.owner.handler! : request.route;
      if (request.bodyTooLarge) {
        const tooLarge = this.owner.limits.tooLarge;
        this.send(request, tooLarge ? tooLarge(message(request)) : { status: 413, body: `request body over ${this.owner.limits.maxBodyBytes} bytes` });
        continue;
      }
      let answer: Http1Answer | Promise<Http1Answer>;
      try {
        answer = handler(message(request));
      } catch (error) {
        answer = { status: 500, body: (error as Error).message };
      }
      if (!(answer instanceof Promise)) {
        this.send(request, answer);
        continue;
      }
      this.busy = true;
      answer.then(
        (value) => this.settle(request, value),
        (error: unknown) => this.settle(request, { status: 500, body: (error as Error).message }),
      );
    }
  }

  /** Every request read so far is answered. */
  private drained(): void {
    const socket = this.socket;
    if (this.failure) {
      const failure = this.failure;
      this.failure = undefined;
      this.send({ method: 'GET', target: '/', http11: true, route: true, headers: {}, body: EMPTY, bodyTooLarge: false, keepAlive: false }, { status: failure.status, body: failure.message });
      return;
    }
    const diverted = this.closing ? undefined : this.parser.diverted;
    if (diverted) return this.handOver(diverted);
    if (this.ended && !this.closing) {
      this.closing = true;
      socket.end();
      return;
    }
    // The request under way is next, and its client waits to be told to send the body.
    if (!this.closing && this.parser.takeContinue()) socket.write(CONTINUE, 'latin1');
    if (socket.isPaused() && !this.closing) socket.resume();
  }

  /** Gives the connection, from its first request not routed here, to the lane's other server. */
  private handOver(bytes: Buffer): void {
    const socket = this.socket;
    for (const [event, listener] of Object.entries(this.listeners)) socket.off(event, listener);
    this.owner.gone(this);
    const paused = socket.isPaused();
    this.owner.lane!.divert(socket, bytes, this.ended);
    if (paused && !socket.destroyed) socket.resume();
  }

  private settle(request: ParsedRequest<Route>, answer: Http1Answer): void {
    this.busy = false;
    this.lastActive = Date.now();
    this.send(request, answer);
    this.next();
  }

  private send(request: ParsedRequest<Route>, answer: Http1Answer): void {
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    const close = !request.keepAlive;
    const body = answer.body;
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    let head =
      `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? 'Unknown'}\r\n` +
      `content-type: ${answer.contentType ?? 'text/plain; charset=utf-8'}\r\ncontent-length: ${length}\r\n${dateHeader()}`;
    if (answer.headers) for (const name in answer.headers) head += `${name}: ${answer.headers[name]}\r\n`;
    // An HTTP/1.0 client keeps the connection only when told it may.
    if (close) head += 'connection: close\r\n\r\n';
    else head += request.http11 ? this.owner.keepAliveField : `connection: keep-alive\r\n${this.owner.keepAliveField}`;
    if (request.method === 'HEAD' || length === 0) socket.write(head, 'latin1');
    else if (typeof body === 'string') socket.write(head + body, 'utf8');
    else if (length <= COPY_BODY_BYTES) {
      const whole = Buffer.allocUnsafe(Buffer.byteLength(head, 'latin1') + length);
      const at = whole.write(head, 0, 'latin1');
      body.copy(whole, at);
      socket.write(whole);
    } else {
      socket.cork();
      socket.write(head, 'latin1');
      socket.write(body);
      socket.uncork();
    }
    if (close) {
      this.closing = true;
      this.queue.length = 0;
      this.failure = undefined;
      socket.end();
    } else if (socket.writableNeedDrain) {
      // As Node's server: a client that sends requests but does not read the answers is not read either.
      this.blocked = true;
      socket.pause();
      socket.once('drain', this.unblock);
    }
  }
}

function message(request: ParsedRequest<Route>): Http1Request {
  const target = request.target;
  const mark = target.indexOf('?');
  return {
    method: request.method,
    path: mark < 0 ? target : target.slice(0, mark),
    query: mark < 0 ? '' : target.slice(mark + 1),
    headers: request.headers,
    body: request.body,
  };
}

/**
 * The connections of one server, whoever accepted them: serves every request with `handler`, or, with a
 * lane, those its router takes. Idle and stalled connections are swept once a second.
 */
export class Http1Connections {
  private readonly connections = new Set<Connection>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    serving: { handler: Http1Handler } | { lane: Http1Lane },
    readonly limits: Http1Limits,
  ) {
    this.handler = 'handler' in serving ? serving.handler : undefined;
    this.lane = 'lane' in serving ? serving.lane : undefined;
    const idleTimeoutMs = limits.idleTimeoutMs ?? 60_000;
    const requestTimeoutMs = limits.requestTimeoutMs ?? 60_000;
    this.keepAliveField = `keep-alive: timeout=${Math.floor(idleTimeoutMs / 1000)}\r\n\r\n`;
    // One sweep for every connection, instead of a timer per connection re-armed on every request.
    this.sweep = setInterval(
      () => {
        const now = Date.now();
        for (const connection of this.connections) connection.sweep(now, idleTimeoutMs, requestTimeoutMs);
      },
      Math.min(1000, idleTimeoutMs, requestTimeoutMs),
    );
    this.sweep.unref();
  }

  readonly handler: Http1Handler | undefined;
  readonly lane: Http1Lane | undefined;
  /** @internal The end of a kept-alive answer's head, naming the idle timeout so a client drops the connection first. */
  readonly keepAliveField: string;

  /** Serves a newly accepted connection. */
  accept(socket: Socket): void {
    this.connections.add(new Connection(socket, this));
  }

  /** @internal A connection closed or was handed over. */
  gone(connection: Connection): void {
    this.connections.delete(connection);
  }

  /** Stops the sweep and destroys every connection still served here. */
  close(): void {
    clearInterval(this.sweep);
    for (const connection of this.connections) connection.socket.destroy();
  }
}

/** Listens on `where`, naming it in the error when that fails. */
export function listenOn(server: Server, where: { port: number; host: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: Error) => reject(new Http1ListenError(`cannot listen on ${where.host}:${where.port}: ${error.message}`, { cause: error }));
    server.once('error', failed);
    server.listen(where, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

/**
 * Serves `handler` on `options.port`.
 *
 * @throws {Http1ListenError} when the port cannot be listened on (taken, no permission).
 */
export async function serveHttp1(handler: Http1Handler, options: Http1ServerOptions): Promise<Http1Server> {
  const connections = new Http1Connections({ handler }, options);
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => connections.accept(socket));
  try {
    await listenOn(server, { port: options.port, host: options.host ?? '127.0.0.1' });
  } catch (error) {
    connections.close();
    throw error;
  }
  return {
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      connections.close();
      await closed;
    },
  };
}
