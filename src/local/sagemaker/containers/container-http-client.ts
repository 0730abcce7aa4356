/**
 * The emulator's HTTP/1.1 client for the hop to one container: kept-alive connections to 127.0.0.1:<port>,
 * one request at a time on each, reused last-in first-out.
 *
 * Every `InvokeEndpoint` crosses this hop, so it is kept lean: the request head is written as one string,
 * the response is read by `HttpResponseParser` straight off the socket, and no per-request objects beyond
 * the parser are made. Measured in a pass-through process (a Node HTTP server relaying each request to a
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
import { HttpResponseError, HttpResponseParser, type ParsedResponse } from './http-response-parser';

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

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FORBIDDEN_IN_VALUE = /[\r\n\0]/;
const FORBIDDEN_IN_PATH = /[\s\0-\x1f\x7f]/;

interface Exchange {
  parser: HttpResponseParser;
  settle(error: Error | undefined, response?: ParsedResponse): void;
}

class Connection {
  readonly socket: Socket;
  /** Answers already read on this connection: a failure on a reused one may be a stale keep-alive. */
  served = 0;
  idleSince = 0;
  exchange: Exchange | undefined;
  /** The request's bytes have not all been handed to the system yet. */
  writing = false;
  gone = false;

  constructor(port: number, onGone: (connection: Connection) => void) {
    this.socket = connect({ host: '127.0.0.1', port, noDelay: true });
    const gone = (error: Error | undefined) => {
      if (this.gone) return;
      this.gone = true;
      this.socket.destroy();
      onGone(this);
      const exchange = this.exchange;
      this.exchange = undefined;
      if (!exchange) return;
      if (error) return exchange.settle(error);
      try {
        exchange.settle(undefined, exchange.parser.end());
      } catch (parseError) {
        // A close before the answer was complete is a connection failure, not a malformed answer.
        exchange.settle(new Error((parseError as Error).message));
      }
    };
    this.socket.on('data', (chunk: Buffer) => {
      const exchange = this.exchange;
      if (!exchange) return gone(new HttpResponseError('the container sent bytes nobody asked for'));
      let done;
      try {
        done = exchange.parser.push(chunk);
      } catch (error) {
        return gone(error as Error);
      }
      if (!done) return;
      this.exchange = undefined;
      this.served += 1;
      // Bytes after the answer, or an answer that came before the whole request was written, leave the
      // connection in a state no next request should inherit.
      if (!done.response.keepAlive || done.rest.length > 0 || this.writing) {
        this.gone = true;
        this.socket.destroy();
        onGone(this);
      }
      exchange.settle(undefined, done.response);
    });
    this.socket.on('end', () => gone(undefined));
    this.socket.on('close', () => gone(undefined));
    this.socket.on('error', (error) => gone(error));
  }
}

export class ContainerHttpClient {
  private readonly idle: Connection[] = [];
  private readonly open = new Set<Connection>();
  private readonly waiting: Array<() => void> = [];
  private readonly maxConnections: number;
  private readonly idleMs: number;
  private active = 0;
  private destroyed = false;
  private readonly onGone = (connection: Connection) => {
    this.open.delete(connection);
    const i = this.idle.indexOf(connection);
    if (i >= 0) this.idle.splice(i, 1);
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
  async request(method: string, path: string, headers: Record<string, string>, body: Buffer | undefined, timeoutMs: number): Promise<ContainerResponse> {
    const head = this.head(method, path, headers, body?.length ?? 0);
    if (this.destroyed) throw new ContainerUnreachableError(`${this.label}: the client was closed`);
    if (this.active >= this.maxConnections) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      if (this.destroyed) throw new ContainerUnreachableError(`${this.label}: the client was closed`);
    }
    this.active += 1;
    const deadline = Date.now() + timeoutMs;
    try {
      const connection = this.connection();
      const reused = connection.served > 0;
      try {
        return await this.exchange(connection, method, path, head, body, timeoutMs);
      } catch (error) {
        // A reused connection that failed before any answer arrived was closed by the container while idle.
        if (!reused || !(error instanceof StaleConnectionError) || this.destroyed) throw unwrap(error);
        const left = deadline - Date.now();
        if (left <= 0) throw new ContainerTimeoutError(`${this.label} did not answer ${method} ${path} within ${timeoutMs} ms`);
        return await this.exchange(this.connection(true), method, path, head, body, left, timeoutMs).catch((retryError: unknown) => {
          throw unwrap(retryError);
        });
      }
    } finally {
      this.active -= 1;
      this.waiting.shift()?.();
    }
  }

  /** Closes every connection; requests in flight fail as unreachable. */
  destroy(): void {
    this.destroyed = true;
    for (const connection of [...this.open]) connection.socket.destroy();
    this.idle.length = 0;
    for (const resolve of this.waiting.splice(0)) resolve();
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
    const connection = new Connection(this.port, this.onGone);
    this.open.add(connection);
    return connection;
  }

  private exchange(
    connection: Connection,
    method: string,
    path: string,
    head: string,
    body: Buffer | undefined,
    timeoutMs: number,
    reportedTimeoutMs = timeoutMs,
  ): Promise<ContainerResponse> {
    return new Promise((resolve, reject) => {
      const parser = new HttpResponseParser(method);
      const timer = setTimeout(() => {
        connection.exchange = undefined;
        connection.socket.destroy();
        reject(new ContainerTimeoutError(`${this.label} did not answer ${method} ${path} within ${reportedTimeoutMs} ms`));
      }, timeoutMs);
      connection.exchange = {
        parser,
        settle: (error, response) => {
          clearTimeout(timer);
          if (error) {
            const stale = connection.served > 0 && !parser.started;
            const message = `${this.label}: ${error instanceof HttpResponseError ? `answered with a malformed HTTP response: ${error.message}` : error.message}`;
            return reject(stale ? new StaleConnectionError(message) : new ContainerUnreachableError(message));
          }
          if (!connection.gone && !this.destroyed) {
            connection.idleSince = Date.now();
            connection.socket.unref();
            this.idle.push(connection);
          }
          resolve({ status: response!.status, headers: response!.headers, body: response!.body });
        },
      };
      const socket = connection.socket;
      socket.ref();
      connection.writing = true;
      const written = () => {
        connection.writing = false;
      };
      if (body && body.length > 0) {
        socket.cork();
        socket.write(head, 'latin1');
        socket.write(body, written);
        socket.uncork();
      } else {
        socket.write(head, 'latin1', written);
      }
    });
  }
}

/** A failure on a reused connection before any answer: the request can safely go again on a new one. */
class StaleConnectionError extends ContainerUnreachableError {}

function unwrap(error: unknown): unknown {
  return error instanceof StaleConnectionError ? new ContainerUnreachableError(error.message) : error;
}
