/**
 * An incremental parser of the HTTP/1.x requests arriving on one connection, for the socket-level server
 * (`socket-server.ts`): the request line and headers, then a body framed by `Content-Length` or by
 * `Transfer-Encoding: chunked` (trailers read and dropped). Requests sent back to back (pipelined) come out
 * in order. A body over the limit is read to its end and dropped, and the request is marked, so the server
 * can answer 413 on a connection that still serves.
 *
 * With a router, each head is routed before its body is read: a head no route takes (or one the parser
 * cannot read) ends the parsing, and every byte from its first on is kept untouched for another server.
 */

import { Http1BodyReader, parseContentLength } from './body-framing';

/** The bytes are not an HTTP/1.x request this server accepts; `status` is the answer to give before closing. */
export class HttpRequestError extends Error {
  override readonly name = 'HttpRequestError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** What a router sees of a request: everything before its body. */
export interface RequestHead {
  method: string;
  /** The request target as sent (path and query). */
  target: string;
  /** Lower-cased names; a repeated header's values joined by `, `, but for single-valued ones (`Content-Type`, `Host`...) the first. */
  headers: Record<string, string>;
}

/** Picks what serves a request from its head; `undefined` leaves the request, and the connection from it on, to another server. */
export type RequestRouter<Route> = (head: RequestHead) => Route | undefined;

/** One complete request as read off the connection. */
export interface ParsedRequest<Route = true> extends RequestHead {
  /** HTTP/1.1 rather than HTTP/1.0. */
  http11: boolean;
  /** What the router picked for it. */
  route: Route;
  body: Buffer;
  /** The body was longer than the parser's limit: it was read and dropped, `body` is empty. */
  bodyTooLarge: boolean;
  /** The client lets the connection carry another request after this one. */
  keepAlive: boolean;
}

/** What {@link HttpRequestParser} accepts. */
export interface HttpRequestLimits {
  /** Cap on the request line and headers together. Default 16 KiB, as Node's own server. */
  maxHeaderBytes?: number;
  /**
   * Bodies over this many bytes are dropped and the request marked {@link ParsedRequest.bodyTooLarge}.
   * Read again for every request, so a limit that changes (a service added later) applies from the next one.
   */
  maxBodyBytes: number;
}

type State = 'head' | 'body' | 'diverted';

const EMPTY = Buffer.alloc(0);
const HEAD_END = Buffer.from('\r\n\r\n');
const BARE_LF_HEAD_END = Buffer.from('\n\n');
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP\/1\.([01])$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FORBIDDEN_IN_VALUE = /[\0\r\n]/;
/** Headers whose repeats carry no meaning, as Node's own HTTP server treats them: the first value wins. */
const SINGLE_VALUED = new Set(['authorization', 'content-type', 'from', 'host', 'if-modified-since', 'if-unmodified-since', 'max-forwards', 'proxy-authorization', 'referer', 'user-agent']);

/** Framing errors of the body are the client's fault: answered 400. */
const badRequest = (message: string): HttpRequestError => new HttpRequestError(400, message);

function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  for (const part of value.split(',')) if (part.trim().toLowerCase() === token) return true;
  return false;
}

/** Reads the requests of one connection; see the module comment. One parser per connection. */
export class HttpRequestParser<Route = true> {
  private state: State = 'head';
  private pending: Buffer = EMPTY;
  private current: ParsedRequest<Route> | undefined;
  private readonly body: Http1BodyReader;
  private readonly maxHeaderBytes: number;
  private expectsContinue = false;
  private readonly limits: HttpRequestLimits;
  /** The bytes of the connection from the first request no route took (see {@link diverted}). */
  private divertedBytes: Buffer[] | undefined;

  /** Without a router every request is taken, its route `true`. */
  constructor(
    limits: HttpRequestLimits,
    private readonly router?: RequestRouter<Route>,
  ) {
    this.limits = limits;
    this.maxHeaderBytes = limits.maxHeaderBytes ?? 16 * 1024;
    this.body = new Http1BodyReader(badRequest, limits.maxBodyBytes);
  }

  /**
   * With a router: every byte of the connection from the head of the first request the router did not take,
   * or could not be read, as it arrived; `undefined` while every request has been taken. Nothing after that
   * point is parsed, and bytes pushed later are added here.
   */
  get diverted(): Buffer | undefined {
    if (!this.divertedBytes) return undefined;
    if (this.divertedBytes.length > 1) this.divertedBytes = [Buffer.concat(this.divertedBytes)];
    return this.divertedBytes[0]!;
  }

  /** True when bytes of a request that is not complete yet have arrived. */
  get partial(): boolean {
    return this.state === 'body' || (this.state === 'head' && this.pending.length > 0);
  }

  /**
   * True once, for a request whose head asked `Expect: 100-continue` and whose body has not all arrived:
   * the server says `100 Continue` when it is ready for that body.
   */
  takeContinue(): boolean {
    if (!this.expectsContinue || this.state === 'head') return false;
    this.expectsContinue = false;
    return true;
  }

  /**
   * Bytes that break HTTP/1.x framing, once seen: the requests before them were returned, nothing after
   * them is read, and the connection cannot go on.
   */
  get error(): HttpRequestError | undefined {
    return this.failure;
  }

  private failure: HttpRequestError | undefined;

  /**
   * Feeds the next bytes of the connection; returns the requests they complete, in order. When the bytes
   * break HTTP/1.x framing, returns the requests complete before that point and sets {@link error}.
   */
  push(chunk: Buffer): ParsedRequest<Route>[] {
    const done: ParsedRequest<Route>[] = [];
    if (this.divertedBytes) {
      this.divertedBytes.push(chunk);
      return done;
    }
    if (this.failure) return done;
    try {
      this.parse(chunk, done);
    } catch (error) {
      this.failure = error instanceof HttpRequestError ? error : new HttpRequestError(400, (error as Error).message);
    }
    return done;
  }

  private parse(chunk: Buffer, done: ParsedRequest<Route>[]): void {
    const data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = EMPTY;
    let offset = 0;
    while (offset < data.length) {
      switch (this.state) {
        case 'head': {
          // Blank lines before a request line are tolerated (RFC 9112 §2.2).
          while (offset + 1 < data.length && data[offset] === 13 && data[offset + 1] === 10) offset += 2;
          const end = data.indexOf(HEAD_END, offset);
          if (end < 0 || end - offset > this.maxHeaderBytes) {
            // Lines ended by a bare LF would otherwise wait for a CRLF CRLF that never comes.
            if (end < 0 && data.indexOf(BARE_LF_HEAD_END, offset) >= 0) return this.divertOrThrow(data, offset, new HttpRequestError(400, 'request head lines must end in CRLF'));
            if (data.length - offset > this.maxHeaderBytes) return this.divertOrThrow(data, offset, new HttpRequestError(431, `the request head is over ${this.maxHeaderBytes} bytes`));
            this.pending = data.subarray(offset);
            return;
          }
          let request: ParsedRequest<Route> | undefined;
          try {
            request = this.readHead(data.toString('latin1', offset, end));
          } catch (error) {
            return this.divertOrThrow(data, offset, error as Error);
          }
          if (!request) return this.divert(data, offset);
          offset = end + 4;
          if (this.state === 'head') done.push(request);
          else this.current = request;
          break;
        }
        case 'body':
          offset = this.body.read(data, offset);
          if (!this.body.complete) {
            if (offset < data.length) this.pending = data.subarray(offset);
            return;
          }
          done.push(this.finish());
          break;
      }
    }
  }

  /** Stops parsing: the bytes from `offset` on belong to another server. */
  private divert(data: Buffer, offset: number): void {
    this.state = 'diverted';
    this.divertedBytes = [data.subarray(offset)];
  }

  /** A head that cannot be read is another server's to answer when there is a router, else this parser's error. */
  private divertOrThrow(data: Buffer, offset: number, error: Error): void {
    if (!this.router) throw error;
    this.divert(data, offset);
  }

  private finish(): ParsedRequest<Route> {
    const request = this.current!;
    this.current = undefined;
    this.state = 'head';
    this.expectsContinue = false;
    request.bodyTooLarge = this.body.overLimit;
    request.body = this.body.take();
    return request;
  }

  /** The request, its framing started; `undefined` when the router does not take it. */
  private readHead(text: string): ParsedRequest<Route> | undefined {
    const lines = text.split('\r\n');
    const requestLine = REQUEST_LINE.exec(lines[0]!);
    if (!requestLine) throw new HttpRequestError(400, `not an HTTP/1.x request line: ${JSON.stringify(lines[0]!.slice(0, 60))}`);
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon) : '';
      // A name followed by whitespace, or a folded line, is refused as HTTP/1.1 requires (RFC 9112 §5).
      if (!TOKEN.test(name)) throw new HttpRequestError(400, `malformed header line ${JSON.stringify(line.slice(0, 60))}`);
      const value = line.slice(colon + 1).trim();
      if (FORBIDDEN_IN_VALUE.test(value)) throw new HttpRequestError(400, `header ${name} holds CR, LF or NUL`);
      const key = name.toLowerCase();
      const existing = headers[key];
      if (existing === undefined) headers[key] = value;
      else if (key === 'content-length') {
        if (existing !== value) throw new HttpRequestError(400, `conflicting Content-Length values ${existing} and ${value}`);
      } else if (!SINGLE_VALUED.has(key)) headers[key] = `${existing}, ${value}`;
    }
    const http11 = requestLine[3] === '1';
    // As Node's server answers them (RFC 9112 §3.2, RFC 9110 §10.1.1).
    if (http11 && headers.host === undefined) throw new HttpRequestError(400, 'an HTTP/1.1 request must have a Host header');
    if (headers.expect !== undefined && headers.expect.toLowerCase() !== '100-continue') {
      throw new HttpRequestError(417, `Expect ${JSON.stringify(headers.expect)} cannot be met; only 100-continue is`);
    }
    const method = requestLine[1]!;
    const target = requestLine[2]!;
    const route = this.router ? this.router({ method, target, headers }) : (true as Route);
    if (route === undefined) return undefined;
    const connection = headers.connection;
    const request: ParsedRequest<Route> = {
      method,
      target,
      http11,
      route,
      headers,
      body: EMPTY,
      bodyTooLarge: false,
      keepAlive: http11 ? !hasToken(connection, 'close') : hasToken(connection, 'keep-alive'),
    };
    const transferEncoding = headers['transfer-encoding'];
    const contentLength = headers['content-length'];
    this.body.maxBodyBytes = this.limits.maxBodyBytes;
    if (transferEncoding !== undefined) {
      // Both framings at once is how requests are smuggled past a proxy: refused, as RFC 9112 §6.3 allows.
      if (contentLength !== undefined) throw new HttpRequestError(400, 'a request must not have both Transfer-Encoding and Content-Length');
      const codings = transferEncoding.split(',').map((t) => t.trim().toLowerCase());
      if (codings[codings.length - 1] !== 'chunked' || codings.slice(0, -1).some((c) => c === 'chunked')) {
        throw new HttpRequestError(400, `Transfer-Encoding ${JSON.stringify(transferEncoding)} must end in chunked, once`);
      }
      if (codings.length > 1) throw new HttpRequestError(501, `Transfer-Encoding ${JSON.stringify(transferEncoding)}: only chunked is supported`);
      this.body.startChunked();
      this.state = 'body';
    } else if (contentLength !== undefined) {
      const length = parseContentLength(contentLength, badRequest);
      if (length > 0) {
        this.body.startLength(length);
        this.state = 'body';
      }
    }
    if (this.state !== 'head') {
      this.expectsContinue = http11 && headers.expect !== undefined;
    }
    return request;
  }
}
