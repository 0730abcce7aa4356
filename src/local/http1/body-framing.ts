/**
 * The body half of HTTP/1.x framing (RFC 9112 §6-7), shared by the two parsers of the local SageMaker hop:
 * the emulator's reader of container answers (`response-parser.ts`) and the socket-level server's reader
 * of requests (`request-parser.ts`). Each parser reads its own start line and headers, picks the framing, and hands the bytes after the head to an {@link Http1BodyReader} until the
 * body is complete. Errors are made by the parser's own factory, so each keeps its error class.
 *
 * The reader is on the path of every invocation: it copies nothing but the final join of a body that
 * arrived in more than one piece, and looks at single bytes only around chunk boundaries.
 */

/** Makes the error a parser throws for bytes that break the framing; the message says what broke. */
export type Http1ErrorFactory = (message: string) => Error;

/** Cap on one chunk-size or trailer line: a peer that never sends CRLF must not grow the pending bytes forever. */
export const MAX_CHUNK_LINE_BYTES = 8 * 1024;

type BodyState = 'idle' | 'fixed' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'until-close' | 'done';

const EMPTY = Buffer.alloc(0);
const CRLF = Buffer.from('\r\n');
const CHUNK_SIZE = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/;
const CONTENT_LENGTH = /^\d{1,15}$/;

/**
 * Reads a `Content-Length` value already joined from its repeats: a decimal of at most 15 digits, so the
 * number is exact and no sign or space slips through.
 *
 * @throws the factory's error naming the value when it is not such a number.
 */
export function parseContentLength(value: string, fail: Http1ErrorFactory): number {
  if (!CONTENT_LENGTH.test(value)) throw fail(`malformed Content-Length ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * Decodes one message body after another off a connection's bytes, framed by length, by chunked coding
 * (chunk extensions ignored, trailers read and dropped) or by the connection's close, and collects it.
 *
 * The caller owns the bytes carried between pushes: {@link read} consumes what it can and, when the body is
 * not complete, whatever it left unread (an unfinished chunk line or chunk's CRLF) must be kept and given
 * again, in front of the next bytes.
 */
export class Http1BodyReader {
  private state: BodyState = 'idle';
  /** Bytes still to read of a `Content-Length` body or of the current chunk. */
  private remaining = 0;
  private parts: Buffer[] = [];
  private length = 0;

  /**
   * @param fail Makes the error thrown when the bytes break chunked framing.
   * @param maxBodyBytes Past this many bytes the body is counted but no longer kept; see {@link overLimit}.
   *   May be changed between bodies.
   */
  constructor(
    private readonly fail: Http1ErrorFactory,
    public maxBodyBytes = Number.POSITIVE_INFINITY,
  ) {}

  /** Starts a body of exactly `length` bytes (`length` ≥ 0). */
  startLength(length: number): void {
    this.reset(length === 0 ? 'done' : 'fixed');
    this.remaining = length;
  }

  /** Starts a body in chunked transfer coding. */
  startChunked(): void {
    this.reset('chunk-size');
  }

  /** Starts a body that ends when the peer closes the connection (responses only, RFC 9112 §6.3). */
  startUntilClose(): void {
    this.reset('until-close');
  }

  /** The body started last has been read to its end. */
  get complete(): boolean {
    return this.state === 'done';
  }

  /** The body started last is longer than the limit: its bytes were dropped and {@link take} gives none. */
  get overLimit(): boolean {
    return this.length > this.maxBodyBytes;
  }

  /**
   * Reads body bytes from `data` at `offset` and returns the offset after the last byte used: the end of
   * the body when it is {@link complete}, otherwise the start of the bytes to carry to the next call.
   *
   * @throws the factory's error for a malformed chunk-size line, a chunk not followed by CRLF, or a
   * chunk line over {@link MAX_CHUNK_LINE_BYTES}.
   */
  read(data: Buffer, offset: number): number {
    while (offset < data.length) {
      switch (this.state) {
        case 'fixed':
        case 'chunk-data': {
          const take = Math.min(this.remaining, data.length - offset);
          this.add(data.subarray(offset, offset + take));
          offset += take;
          this.remaining -= take;
          if (this.remaining === 0) {
            if (this.state === 'fixed') {
              this.state = 'done';
              return offset;
            }
            this.state = 'chunk-end';
          }
          break;
        }
        case 'until-close':
          this.add(data.subarray(offset));
          return data.length;
        case 'chunk-end':
          if (data.length - offset < 2) return offset;
          if (data[offset] !== 13 || data[offset + 1] !== 10) throw this.fail('a chunk of the body is not followed by CRLF');
          offset += 2;
          this.state = 'chunk-size';
          break;
        case 'chunk-size':
        case 'trailers': {
          const end = data.indexOf(CRLF, offset);
          if (end < 0) {
            if (data.length - offset > MAX_CHUNK_LINE_BYTES) throw this.fail(`a chunk line is over ${MAX_CHUNK_LINE_BYTES} bytes`);
            return offset;
          }
          const line = data.toString('latin1', offset, end);
          offset = end + 2;
          if (this.state === 'trailers') {
            // Trailer fields carry nothing either side uses; the empty line ends the body.
            if (line === '') {
              this.state = 'done';
              return offset;
            }
            break;
          }
          const size = CHUNK_SIZE.exec(line);
          if (!size) throw this.fail(`malformed chunk size line ${JSON.stringify(line.slice(0, 40))}`);
          this.remaining = parseInt(size[1]!, 16);
          this.state = this.remaining === 0 ? 'trailers' : 'chunk-data';
          break;
        }
        case 'idle':
        case 'done':
          return offset;
      }
    }
    return offset;
  }

  /** The peer closed the connection: returns whether that completes the body (one framed by the close). */
  close(): boolean {
    if (this.state === 'until-close') this.state = 'done';
    return this.state === 'done';
  }

  /**
   * The body read, as one buffer (the piece itself when it arrived in one), and lets go of its pieces.
   * Empty when {@link overLimit}, which stays readable until the next start.
   */
  take(): Buffer {
    const parts = this.parts;
    this.parts = [];
    if (this.overLimit || parts.length === 0) return EMPTY;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.length);
  }

  private reset(state: BodyState): void {
    this.state = state;
    this.remaining = 0;
    this.parts = [];
    this.length = 0;
  }

  private add(part: Buffer): void {
    if (part.length === 0) return;
    this.length += part.length;
    // Past the limit nothing more is kept; the length still counts so the caller can tell.
    if (this.length > this.maxBodyBytes) {
      if (this.parts.length > 0) this.parts = [];
      return;
    }
    this.parts.push(part);
  }
}
