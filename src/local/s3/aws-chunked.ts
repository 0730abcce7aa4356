/**
 * Decodes the `aws-chunked` content encoding: the framing SDKs use for streaming uploads
 * (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, `STREAMING-UNSIGNED-PAYLOAD-TRAILER`, ...), where the body is a
 * series of `<hex size>[;chunk-signature=...]\r\n<data>\r\n` chunks ending with a zero-size chunk and
 * optional trailing headers such as `x-amz-checksum-crc32`. The object stored is the data alone.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { S3ServiceError } from './s3-error';

/** True when a request's body is `aws-chunked` framed. */
export function isAwsChunked(headers: Record<string, string | string[] | undefined>): boolean {
  const encoding = String(headers['content-encoding'] ?? '').toLowerCase();
  const sha = String(headers['x-amz-content-sha256'] ?? '');
  return encoding.split(',').some((part) => part.trim() === 'aws-chunked') || sha.startsWith('STREAMING-');
}

/** The `Content-Encoding` to store: the client's own encodings with `aws-chunked` removed. */
export function storedContentEncoding(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const rest = value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '' && part.toLowerCase() !== 'aws-chunked');
  return rest.length > 0 ? rest.join(',') : undefined;
}

const MAX_LINE = 8 * 1024;
const incomplete = (detail: string) =>
  new S3ServiceError('IncompleteBody', 400, `The aws-chunked request body is malformed: ${detail}`);

/**
 * A stream that takes the framed body and emits the object's bytes. Trailing headers are collected in
 * `trailers` (lower-case names) once the stream ends.
 */
export class AwsChunkedDecoder extends Transform {
  readonly trailers: Record<string, string> = {};
  private buffer: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private state: 'size' | 'data' | 'data-end' | 'trailer' | 'done' = 'size';
  private decodedBytes = 0;

  constructor(private readonly expectedLength?: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    try {
      this.drain();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.state !== 'done' && !(this.state === 'trailer' && this.buffer.length === 0)) {
      callback(incomplete('the body ended before the final zero-length chunk'));
      return;
    }
    if (this.expectedLength !== undefined && this.decodedBytes !== this.expectedLength) {
      callback(incomplete(`x-amz-decoded-content-length is ${this.expectedLength} but the chunks hold ${this.decodedBytes} bytes`));
      return;
    }
    callback();
  }

  private takeLine(): string | undefined {
    const end = this.buffer.indexOf('\r\n');
    if (end < 0) {
      if (this.buffer.length > MAX_LINE) throw incomplete('a chunk header line is too long');
      return undefined;
    }
    const line = this.buffer.subarray(0, end).toString('latin1');
    this.buffer = this.buffer.subarray(end + 2);
    return line;
  }

  private drain(): void {
    for (;;) {
      switch (this.state) {
        case 'size': {
          const line = this.takeLine();
          if (line === undefined) return;
          const sizeText = line.split(';')[0]!.trim();
          if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw incomplete(`bad chunk size line "${line.slice(0, 80)}"`);
          this.remaining = parseInt(sizeText, 16);
          this.state = this.remaining === 0 ? 'trailer' : 'data';
          break;
        }
        case 'data': {
          if (this.buffer.length === 0) return;
          const take = Math.min(this.remaining, this.buffer.length);
          this.push(this.buffer.subarray(0, take));
          this.decodedBytes += take;
          this.buffer = this.buffer.subarray(take);
          this.remaining -= take;
          if (this.remaining === 0) this.state = 'data-end';
          break;
        }
        case 'data-end': {
          if (this.buffer.length < 2) return;
          if (this.buffer[0] !== 0x0d || this.buffer[1] !== 0x0a) throw incomplete('a chunk is not followed by CRLF');
          this.buffer = this.buffer.subarray(2);
          this.state = 'size';
          break;
        }
        case 'trailer': {
          const line = this.takeLine();
          if (line === undefined) return;
          if (line === '') {
            this.state = 'done';
            break;
          }
          const colon = line.indexOf(':');
          if (colon <= 0) throw incomplete(`bad trailing header "${line.slice(0, 80)}"`);
          this.trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
          break;
        }
        case 'done':
          this.buffer = Buffer.alloc(0);
          return;
      }
    }
  }
}
