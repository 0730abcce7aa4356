/**
 * The built-in container's HTTP/1.1 server, on plain sockets rather than Node's `http` module.
 *
 * Every `InvokeEndpoint` the emulator serves crosses it, and Node's server costs far more per request than
 * the container's own work on a small model: measured on the benchmark's 10-row Iris request, a Node
 * `http` server answering from onnxruntime took about 135 µs of CPU per request, the same answer on a
 * socket server about 85 µs. What it keeps of HTTP/1.1 is what a client of the SageMaker container contract
 * can use: `Content-Length` and chunked request bodies, `Expect: 100-continue`, keep-alive (HTTP/1.1 by
 * default, HTTP/1.0 on request), pipelined requests answered in order, `HEAD`, and clear 4xx answers
 * (then a close) to requests it cannot read. Every answer has a `Content-Length` and goes out in one write.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { HttpRequestError, HttpRequestParser, type ParsedRequest } from './http-request-parser';

/** One request as the container's routes see it. */
export interface ContractRequest {
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
export interface ContractAnswer {
  status: number;
  body: string | Buffer;
  /** Default `text/plain; charset=utf-8`. */
  contentType?: string;
}

/** Answers one request; a throw or a rejection is answered 500 with its message. */
export type ContractHandler = (request: ContractRequest) => ContractAnswer | Promise<ContractAnswer>;

/** Where {@link serveContract} listens and how much it accepts. */
export interface ContractServerOptions {
  /** TCP port on `host`. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Bodies over this many bytes are read to their end and answered 413. */
  maxBodyBytes: number;
  /** An idle kept-alive connection, or one stalled in the middle of a request, is closed after this long. Default 60 s. */
  idleTimeoutMs?: number;
}

/** A listening {@link serveContract} server. */
export interface ContractServer {
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
export class ContractListenError extends Error {
  override readonly name = 'ContractListenError';
}

class Connection {
  private readonly parser: HttpRequestParser;
  /** Requests read and not answered yet, in order; the first may be under way. */
  private readonly queue: ParsedRequest[] = [];
  private busy = false;
  /** Nothing more is read: the connection closes once what is queued is answered. */
  private closing = false;
  /** The client half-closed its side: it sends nothing more but may still wait for answers. */
  private ended = false;
  /** Bytes that are not a request: answered, after the requests before them, with this and a close. */
  private failure: HttpRequestError | undefined;
  lastActive = Date.now();

  constructor(
    readonly socket: Socket,
    private readonly maxBodyBytes: number,
    private readonly handler: ContractHandler,
    onGone: (connection: Connection) => void,
  ) {
    this.parser = new HttpRequestParser({ maxBodyBytes });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('end', () => {
      this.ended = true;
      this.next();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => onGone(this));
  }

  /** Idle (nothing under way) or stalled (part of a request) for longer than `limitMs`. */
  stale(now: number, limitMs: number): boolean {
    return !this.busy && now - this.lastActive > limitMs;
  }

  private read(chunk: Buffer): void {
    this.lastActive = Date.now();
    if (this.closing) return;
    for (const request of this.parser.push(chunk)) this.queue.push(request);
    if (this.parser.error) {
      this.failure = this.parser.error;
      this.closing = true;
    }
    if (this.queue.length >= MAX_QUEUED_REQUESTS) this.socket.pause();
    this.next();
  }

  /** Answers queued requests one at a time, in order. */
  private next(): void {
    while (!this.busy && !this.socket.destroyed) {
      const request = this.queue.shift();
      if (!request) return this.drained();
      if (request.bodyTooLarge) {
        this.send(request, { status: 413, body: `request body over ${this.maxBodyBytes} bytes` });
        continue;
      }
      let answer: ContractAnswer | Promise<ContractAnswer>;
      try {
        answer = this.handler(message(request));
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
      this.send({ method: 'GET', target: '/', http11: true, headers: {}, body: EMPTY, bodyTooLarge: false, keepAlive: false }, { status: failure.status, body: failure.message });
      return;
    }
    if (this.ended && !this.closing) {
      this.closing = true;
      socket.end();
      return;
    }
    // The request under way is next, and its client waits to be told to send the body.
    if (!this.closing && this.parser.takeContinue()) socket.write(CONTINUE, 'latin1');
    if (socket.isPaused() && !this.closing) socket.resume();
  }

  private settle(request: ParsedRequest, answer: ContractAnswer): void {
    this.busy = false;
    this.lastActive = Date.now();
    this.send(request, answer);
    this.next();
  }

  private send(request: ParsedRequest, answer: ContractAnswer): void {
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    const close = !request.keepAlive;
    const body = answer.body;
    const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    let head =
      `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? 'Unknown'}\r\n` +
      `content-type: ${answer.contentType ?? 'text/plain; charset=utf-8'}\r\ncontent-length: ${length}\r\n`;
    // An HTTP/1.0 client keeps the connection only when told it may.
    if (close) head += 'connection: close\r\n\r\n';
    else head += request.http11 ? '\r\n' : 'connection: keep-alive\r\n\r\n';
    if (request.method === 'HEAD' || length === 0) socket.write(head, 'latin1');
    else if (typeof body === 'string') socket.write(head + body, 'utf8');
    else if (length <= COPY_BODY_BYTES) {
      const whole = Buffer.allocUnsafe(head.length + length);
      whole.write(head, 0, 'latin1');
      body.copy(whole, head.length);
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
    }
  }
}

function message(request: ParsedRequest): ContractRequest {
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

function listen(server: Server, where: { port: number; host: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: Error) => reject(new ContractListenError(`cannot listen on ${where.host}:${where.port}: ${error.message}`));
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
 * @throws {ContractListenError} when the port cannot be listened on (taken, no permission).
 */
export async function serveContract(handler: ContractHandler, options: ContractServerOptions): Promise<ContractServer> {
  const connections = new Set<Connection>();
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const accept = (socket: Socket) => {
    connections.add(new Connection(socket, options.maxBodyBytes, handler, (c) => connections.delete(c)));
  };
  const server = createServer({ allowHalfOpen: true, noDelay: true }, accept);
  await listen(server, { port: options.port, host: options.host ?? '127.0.0.1' });
  // One sweep for every connection, instead of a timer per connection re-armed on every request.
  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const connection of connections) if (connection.stale(now, idleTimeoutMs)) connection.socket.destroy();
    },
    Math.min(1000, idleTimeoutMs),
  );
  sweep.unref();
  return {
    async close() {
      clearInterval(sweep);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const connection of connections) connection.socket.destroy();
      await closed;
    },
  };
}
