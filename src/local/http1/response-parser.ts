/**
 * An incremental parser of one HTTP/1.x response, fed the bytes of a connection as they arrive: the status
 * line and headers, then a body framed by `Content-Length`, by `Transfer-Encoding: chunked` (trailers read
 * and dropped), or by the peer closing the connection. Interim `1xx` answers are skipped. It says whether
 * the connection may carry another request afterwards.
 *
 * It exists for the emulator's hop to its containers (`container-http-client.ts`), which runs once per
 * invocation and must cost little next to the container's own work.
 */

import { Http1BodyReader, parseContentLength } from './body-framing';

/** The bytes are not an HTTP/1.x response, or not a complete one. */
export class HttpResponseError extends Error {
  override readonly name = 'HttpResponseError';
}

/** One complete response as read off the connection. */
export interface ParsedResponse {
  status: number;
  /** Lower-cased names; `set-cookie` as a list, a repeated single-valued header by its first value, others joined by `, `. */
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** The connection can carry the next request. */
  keepAlive: boolean;
}

type State = 'head' | 'body' | 'done';

const EMPTY = Buffer.alloc(0);
const HEAD_END = Buffer.from('\r\n\r\n');
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/;
/** A bare CR or LF in a value would split the header when the emulator passes it on (response splitting). */
const FORBIDDEN_IN_VALUE = /[\0\r\n]/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Headers whose repeats carry no meaning, as Node's own HTTP client treats them: the first value wins. */
const SINGLE_VALUED = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

const malformed = (message: string): HttpResponseError => new HttpResponseError(message);

function tokens(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value.join(',') : value)
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '');
}

/** Reads one response; see the module comment. One parser per request sent. */
export class HttpResponseParser {
  private state: State = 'head';
  private pending: Buffer = EMPTY;
  private status = 0;
  private headers: Record<string, string | string[]> = {};
  private keepAlive = true;
  private readonly body = new Http1BodyReader(malformed);
  private received = 0;

  /**
   * @param method The request's method: the answer to `HEAD` has no body whatever its headers say.
   * @param maxHeaderBytes Cap on the status line and headers together.
   */
  constructor(
    private readonly method: string,
    private readonly maxHeaderBytes = 64 * 1024,
  ) {}

  /** True once any byte of the response has arrived. */
  get started(): boolean {
    return this.received > 0;
  }

  /**
   * Feeds the next bytes. Returns the response once it is complete, with whatever bytes followed it.
   *
   * @throws {HttpResponseError} when the bytes break HTTP/1.x framing.
   */
  push(chunk: Buffer): { response: ParsedResponse; rest: Buffer } | undefined {
    if (this.state === 'done') throw new HttpResponseError('bytes arrived after the response was complete');
    this.received += chunk.length;
    const data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = EMPTY;
    let offset = 0;
    while (this.state !== 'done' && offset < data.length) {
      switch (this.state) {
        case 'head': {
          const end = data.indexOf(HEAD_END, offset);
          if (end < 0 || end - offset > this.maxHeaderBytes) {
            if (data.length - offset > this.maxHeaderBytes) throw new HttpResponseError(`the response head is over ${this.maxHeaderBytes} bytes`);
            this.pending = data.subarray(offset);
            return undefined;
          }
          this.readHead(data.toString('latin1', offset, end));
          offset = end + 4;
          break;
        }
        case 'body':
          offset = this.body.read(data, offset);
          if (!this.body.complete) {
            if (offset < data.length) this.pending = data.subarray(offset);
            return undefined;
          }
          this.state = 'done';
          break;
      }
    }
    if (this.state !== 'done') return undefined;
    return { response: this.result(), rest: data.subarray(offset) };
  }

  /**
   * The peer closed the connection: completes a body framed by the close.
   *
   * @throws {HttpResponseError} when the response is not complete without more bytes.
   */
  end(): ParsedResponse {
    if (this.state === 'body' && this.body.close()) {
      this.state = 'done';
      return this.result();
    }
    if (!this.started) throw new HttpResponseError('the connection was closed without an answer');
    throw new HttpResponseError('the connection was closed before the answer was complete');
  }

  private result(): ParsedResponse {
    return { status: this.status, headers: this.headers, body: this.body.take(), keepAlive: this.keepAlive };
  }

  private readHead(text: string): void {
    const lines = text.split('\r\n');
    const statusLine = STATUS_LINE.exec(lines[0]!);
    if (!statusLine) throw new HttpResponseError(`not an HTTP/1.x status line: ${JSON.stringify(lines[0]!.slice(0, 60))}`);
    const status = Number(statusLine[2]);
    const headers: Record<string, string | string[]> = {};
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon) : '';
      if (!TOKEN.test(name)) throw new HttpResponseError(`malformed header line ${JSON.stringify(line.slice(0, 60))}`);
      const key = name.toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (FORBIDDEN_IN_VALUE.test(value)) throw new HttpResponseError(`header ${name} holds CR, LF or NUL`);
      const existing = headers[key];
      if (existing === undefined) headers[key] = key === 'set-cookie' ? [value] : value;
      else if (Array.isArray(existing)) existing.push(value);
      else if (key === 'content-length' && existing !== value) throw new HttpResponseError(`conflicting Content-Length values ${existing} and ${value}`);
      else if (!SINGLE_VALUED.has(key)) headers[key] = `${existing}, ${value}`;
    }
    if (status >= 100 && status < 200) {
      if (status === 101) throw new HttpResponseError('the container switched protocols (101), which the emulator does not speak');
      // An interim answer (100 Continue, 103 Early Hints): the real one follows on the same connection.
      return;
    }
    this.status = status;
    this.headers = headers;
    const connection = tokens(headers.connection);
    this.keepAlive = statusLine[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive');
    const transferEncoding = tokens(headers['transfer-encoding']);
    const contentLength = headers['content-length'] as string | undefined;
    if (this.method === 'HEAD' || status === 204 || status === 304) {
      this.state = 'done';
    } else if (transferEncoding.length > 0) {
      // With both framings, Transfer-Encoding wins and the connection is not trusted with another request.
      if (contentLength !== undefined) this.keepAlive = false;
      if (transferEncoding[transferEncoding.length - 1] === 'chunked') this.body.startChunked();
      else {
        this.body.startUntilClose();
        this.keepAlive = false;
      }
      this.state = 'body';
    } else if (contentLength !== undefined) {
      const length = parseContentLength(contentLength, malformed);
      this.body.startLength(length);
      this.state = length === 0 ? 'done' : 'body';
    } else {
      this.body.startUntilClose();
      this.state = 'body';
      this.keepAlive = false;
    }
  }
}
