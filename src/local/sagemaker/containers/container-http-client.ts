/**
 * The emulator's HTTP/1.1 client for the hop to one container: kept-alive connections to 127.0.0.1:<port>,
 * one request at a time on each, reused last-in first-out.
 *
 * Every `InvokeEndpoint` crosses this hop, so it is kept lean: the request head and a small body go out in
 * one write, the response is read by `HttpResponseParser` straight off the socket, a call is settled by
 * callbacks (one promise, for the caller), and one timer serves every call's deadline. Measured in a pass-through process (a Node HTTP server relaying each request to a
 * container), the relay cost about 94 µs of CPU per request with Node's `http.request` and a keep-alive
 * agent, 87 µs with undici's `Pool.dispatch`, 75 µs with this client; the inbound server side alone is
 * about 45 µs of those.
 *
 * A connection the container closed while it sat idle is dropped when the close is seen; one that turns
 * out closed when a request is written on it (the race every keep-alive client has) fails before any byte
 * of an answer arrives, and the request is sent again once on a new connection: the container cannot have
 * read it.
 */
import { connect, type Socket } from 'node:net';
import { HttpResponseError, HttpResponseParser, type ParsedResponse } from '../../http1/response-parser';

/** A container's answer to an HTTP request. */
export interface ContainerResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** No answer within the request's timeout. */
export class ContainerTimeoutError extends Error {
  override readonly name = 'ContainerTimeoutError';
}

/** The container cannot be reached (it exited, or its port refuses connections), or its answer is not HTTP. */
export class ContainerUnreachableError extends Error {
  override readonly name = 'ContainerUnreachableError';
}

/** The request itself cannot be sent: a header or the path has characters HTTP does not allow there. */
export class InvalidContainerRequestError extends Error {
  override readonly name = 'InvalidContainerRequestError';
}

export interface ContainerHttpClientOptions {
  /** Connections open at once; further requests wait for one to be free. Default 64. */
  maxConnections?: number;
  /**
   * A connection idle longer than this is not reused but closed, in milliseconds. Default 4000: under the
   * 5 s keep-alive of Node's and most servers' defaults, so a reused connection is rarely one the
   * container is just closing.
   */
  idleMs?: number;
}

/** Bodies up to this size are copied behind the head for one write; larger ones go as a second buffer. */
const COPY_BODY_BYTES = 64 * 1024;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FORBIDDEN_IN_VALUE = /[\r\n\0]/;
const FORBIDDEN_IN_PATH = /[\s\0-\x1f\x7f]/;

/** One request from the call to its settling: it may go out twice (see the module comment). */
interface Call {
  method: string;
  path: string;
  head: string;
  body: Buffer | undefined;
  timeoutMs: number;
  /** `Date.now()` past which the call fails as timed out; set when it gets a connection. */
  deadline: number;
  retried: boolean;
  resolve(response: ContainerResponse): void;
  reject(error: Error): void;
}

class Connection {
  readonly socket: Socket;
  /** Answers already read on this connection: a failure on a reused one may be a stale keep-alive. */
  served = 0;
  idleSince = 0;
  call: Call | undefined;
  parser: HttpResponseParser | undefined;
  /** The request's bytes have not all been handed to the system yet. */
  writing = false;
  gone = false;
  readonly written = () => {
    this.writing = false;
  };

  constructor(
    port: number,
    /** Called once when the connection ends, with the call it was serving (if any) and why. */
    onGone: (connection: Connection, call: Call | undefined, error: Error | undefined) => void,
    onAnswer: (connection: Connection, call: Call, response: ParsedResponse) => void,
  ) {
    this.socket = connect({ host: '127.0.0.1', port, noDelay: true });
    const gone = (error: Error | undefined) => {
      if (this.gone) return;
      this.gone = true;
      this.socket.destroy();
      const call = this.call;
      this.call = undefined;
      onGone(this, call, error);
    };
    this.socket.on('data', (chunk: Buffer) => {
      const call = this.call;
      if (!call) return gone(new HttpResponseError('the container sent bytes nobody asked for'));
      let done;
      try {
        done = this.parser!.push(chunk);
      } catch (error) {
        return gone(error as Error);
      }
      if (!done) return;
      this.call = undefined;
      this.served += 1;
      // Bytes after the answer, or an answer that came before the whole request was written, leave the
      // connection in a state no next request should inherit.
      if (!done.response.keepAlive || done.rest.length > 0 || this.writing) gone(undefined);
      onAnswer(this, call, done.response);
    });
    this.socket.on('end', () => gone(undefined));
    this.socket.on('close', () => gone(undefined));
    this.socket.on('error', (error) => gone(error));
  }
}

export class ContainerHttpClient {
  private readonly idle: Connection[] = [];
  private readonly open = new Set<Connection>();
  private readonly waiting: Call[] = [];
  private readonly maxConnections: number;
  private readonly idleMs: number;
  private active = 0;
  private destroyed = false;
  /**
   * One timer for every call's deadline, armed for the earliest: calls finish long before their timeout,
   * so it rarely fires, and a call costs no timer of its own.
   */
  private timer: NodeJS.Timeout | undefined;
  private timerDue = Infinity;
  private readonly onGone = (connection: Connection, call: Call | undefined, error: Error | undefined) => {
    this.open.delete(connection);
    const i = this.idle.indexOf(connection);
    if (i >= 0) this.idle.splice(i, 1);
    if (call) this.failed(connection, call, error);
  };
  private readonly onAnswer = (connection: Connection, call: Call, response: ParsedResponse) => {
    if (!connection.gone && !this.destroyed) {
      connection.idleSince = Date.now();
      connection.socket.unref();
      this.idle.push(connection);
    }
    this.settle(call);
    call.resolve({ status: response.status, headers: response.headers, body: response.body });
  };

  /**
   * @param port The container's port on 127.0.0.1.
   * @param label Names the container in error messages (`<endpoint>/<variant>/<hostname>`).
   */
  constructor(
    readonly port: number,
    readonly label: string,
    options: ContainerHttpClientOptions = {},
  ) {
    this.maxConnections = options.maxConnections ?? 64;
    this.idleMs = options.idleMs ?? 4000;
  }

  /**
   * One request with a `Content-Length` body (none for `undefined`), answered within `timeoutMs`.
   *
   * @throws {ContainerTimeoutError} when no complete answer arrives in time.
   * @throws {ContainerUnreachableError} when the connection fails or the answer is not HTTP.
   * @throws {InvalidContainerRequestError} when the path or a header cannot be written.
   */
  request(method: string, path: string, headers: Record<string, string>, body: Buffer | undefined, timeoutMs: number): Promise<ContainerResponse> {
    let head: string;
    try {
      head = this.head(method, path, headers, body?.length ?? 0);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return new Promise((resolve, reject) => {
      this.start({ method, path, head, body, timeoutMs, deadline: 0, retried: false, resolve, reject });
    });
  }

  /** Closes every connection; requests in flight fail as unreachable. */
  destroy(): void {
    this.destroyed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const connection of [...this.open]) connection.socket.destroy();
    this.idle.length = 0;
    for (const call of this.waiting.splice(0)) call.reject(new ContainerUnreachableError(`${this.label}: the client was closed`));
  }

  private start(call: Call): void {
    if (this.destroyed) return call.reject(new ContainerUnreachableError(`${this.label}: the client was closed`));
    if (this.active >= this.maxConnections) {
      this.waiting.push(call);
      return;
    }
    this.active += 1;
    call.deadline = Date.now() + call.timeoutMs;
    if (call.deadline < this.timerDue) this.arm(call.deadline);
    this.send(this.connection(), call);
  }

  /** The call is over (answered or failed): its place goes to the next waiting one. */
  private settle(call: Call): void {
    call.deadline = Infinity;
    this.active -= 1;
    const next = this.waiting.shift();
    if (next) this.start(next);
  }

  private failed(connection: Connection, call: Call, error: Error | undefined): void {
    const parser = connection.parser!;
    if (!error) {
      try {
        const response = parser.end();
        return this.onAnswer(connection, call, response);
      } catch (parseError) {
        // A close before the answer was complete is a connection failure, not a malformed answer.
        error = new Error((parseError as Error).message);
      }
    }
    const message = `${this.label}: ${error instanceof HttpResponseError ? `answered with a malformed HTTP response: ${error.message}` : error.message}`;
    // A reused connection that failed before any answer arrived was closed by the container while idle:
    // the container cannot have read the request, so it goes again, once, on a new connection.
    if (connection.served > 0 && !parser.started && !call.retried && !this.destroyed) {
      if (Date.now() >= call.deadline) return this.timedOut(call);
      call.retried = true;
      return this.send(this.connection(true), call);
    }
    this.settle(call);
    call.reject(new ContainerUnreachableError(message));
  }

  private timedOut(call: Call): void {
    this.settle(call);
    call.reject(new ContainerTimeoutError(`${this.label} did not answer ${call.method} ${call.path} within ${call.timeoutMs} ms`));
  }

  private arm(due: number): void {
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => this.sweep(), Math.max(0, due - Date.now()));
    // The sockets of calls in flight keep the process alive; the timer alone must not.
    this.timer.unref();
  }

  /** Fails the calls past their deadline, and arms the timer for the earliest of the rest. */
  private sweep(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const connection of this.open) {
      const call = connection.call;
      if (!call) continue;
      if (call.deadline <= now) {
        connection.call = undefined;
        connection.gone = true;
        this.open.delete(connection);
        connection.socket.destroy();
        this.timedOut(call);
      } else if (call.deadline < next) next = call.deadline;
    }
    if (next !== Infinity && !this.destroyed) this.arm(next);
  }

  private head(method: string, path: string, headers: Record<string, string>, length: number): string {
    if (!TOKEN.test(method)) throw new InvalidContainerRequestError(`method ${JSON.stringify(method)} is not an HTTP token`);
    if (!path.startsWith('/') || FORBIDDEN_IN_PATH.test(path)) {
      throw new InvalidContainerRequestError(`path ${JSON.stringify(path)} must start with / and hold no spaces or control characters`);
    }
    let head = `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1:${this.port}\r\n`;
    for (const name in headers) {
      const value = headers[name]!;
      if (!TOKEN.test(name)) throw new InvalidContainerRequestError(`header name ${JSON.stringify(name)} is not an HTTP token`);
      if (FORBIDDEN_IN_VALUE.test(value)) throw new InvalidContainerRequestError(`header ${name} must not hold CR, LF or NUL`);
      const lower = name.toLowerCase();
      if (lower === 'content-length' || lower === 'host' || lower === 'transfer-encoding' || lower === 'connection') continue;
      head += `${name}: ${value}\r\n`;
    }
    return `${head}content-length: ${length}\r\n\r\n`;
  }

  private connection(fresh = false): Connection {
    if (!fresh) {
      const now = Date.now();
      for (let connection = this.idle.pop(); connection; connection = this.idle.pop()) {
        if (!connection.gone && now - connection.idleSince <= this.idleMs) return connection;
        connection.socket.destroy();
      }
    }
    const connection = new Connection(this.port, this.onGone, this.onAnswer);
    this.open.add(connection);
    return connection;
  }

  private send(connection: Connection, call: Call): void {
    connection.call = call;
    connection.parser = new HttpResponseParser(call.method);
    const socket = connection.socket;
    socket.ref();
    connection.writing = true;
    const body = call.body;
    if (!body || body.length === 0) {
      socket.write(call.head, 'latin1', connection.written);
    } else if (body.length <= COPY_BODY_BYTES) {
      // One buffer, one write: cheaper than a corked pair of writes (a writev) for the usual small payload.
      const whole = Buffer.allocUnsafe(call.head.length + body.length);
      whole.write(call.head, 0, 'latin1');
      body.copy(whole, call.head.length);
      socket.write(whole, connection.written);
    } else {
      socket.cork();
      socket.write(call.head, 'latin1');
      socket.write(body, connection.written);
      socket.uncork();
    }
  }
}
