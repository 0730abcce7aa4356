import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { createGunzip, type ZlibOptions } from 'node:zlib';
import { EntryChecks, type CheckedEntry } from './entry-checks';
import { ArchiveRejectedError } from './errors';
import type { ArchiveInspection } from './inspect';
import { ARCHIVE_LIMIT_VARIABLES, EXPANSION_RATIO_GRACE_BYTES, resolveArchiveLimits, type ArchiveLimits } from './limits';
import { TarParser, type TarEvent } from './tar-parser';

/** What an archive is read from: a Node stream (a file, an S3 `Body`) or any async iterable of bytes. */
export type ArchiveSource = NodeJS.ReadableStream | AsyncIterable<Uint8Array>;

/**
 * Receives the checked entries as they stream by. Each call may return a promise; the scan waits for it before
 * reading on, which is how extraction applies backpressure to the source.
 */
export interface ArchiveVisitor {
  onEntry?(entry: CheckedEntry): void | Promise<void>;
  /** A piece of the current file's content: a view that is only valid until the returned promise settles. */
  onData?(chunk: Buffer): void | Promise<void>;
  onEntryEnd?(entry: CheckedEntry): void | Promise<void>;
}

/**
 * Output chunk of the inflater. zlib runs on the libuv pool while hashing and parsing run on the main thread;
 * 256 KiB per round trip keeps the pool busy with few hand-offs, and bounds what one chunk holds in memory.
 */
const INFLATE_CHUNK_BYTES = 256 * 1024;
/** Compressed bytes queued for zlib, so reading and hashing run ahead while the pool inflates. */
const INFLATE_QUEUE_BYTES = 1024 * 1024;
/** Enough of the start to recognise the other formats people upload by mistake (tar's magic is at 257). */
const SNIFF_BYTES = 263;

function describeNonGzip(head: Buffer): string {
  const starts = (...bytes: number[]): boolean => bytes.every((byte, index) => head[index] === byte);
  if (starts(0x1f, 0x8b)) return `gzip with compression method ${head[2] ?? 'missing'}, not deflate`;
  if (starts(0x50, 0x4b)) return 'a zip archive';
  if (starts(0x42, 0x5a, 0x68)) return 'bzip2 data';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz data';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd data';
  if (starts(0x04, 0x22, 0x4d, 0x18)) return 'lz4 data';
  if (starts(0x1f, 0x9d)) return 'compress (.Z) data';
  if (head.toString('latin1', 257, 262) === 'ustar') return 'an uncompressed tar archive';
  const shown = [...head.subarray(0, 4)].map((byte) => `0x${byte.toString(16).padStart(2, '0')}`).join(' ');
  return head.length < 3 ? `only ${head.length} byte(s)` : `data starting with ${shown}, not the gzip magic 0x1f 0x8b`;
}

function sniff(head: Buffer): void {
  if (head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return;
  throw new ArchiveRejectedError('not-gzip', `${describeNonGzip(head)}; an artifact must be a gzip-compressed tar (.tar.gz)`);
}

function zlibRejection(error: { code: string; message: string }): ArchiveRejectedError {
  if (error.code === 'Z_BUF_ERROR') {
    return new ArchiveRejectedError('truncated-gzip', `the gzip stream ends early (${error.message})`, { cause: error });
  }
  if (error.message === 'incorrect header check') {
    // The first header was checked before inflating, so this is what follows a complete gzip member.
    return new ArchiveRejectedError('corrupt-gzip', `${TRAILING_RULE} (${error.message})`, { cause: error });
  }
  return new ArchiveRejectedError('corrupt-gzip', `the gzip stream is damaged (${error.message})`, { cause: error });
}

const TRAILING_RULE = 'the bytes after the gzip stream are neither another gzip member nor zero padding';

/**
 * What follows the gzip stream may be zero padding (tape-style blocking), which gzip -dc and zlib skip;
 * anything else is refused, as zlib refuses it when it comes right after the stream.
 */
function checkTrailing(chunk: Buffer, from: number): void {
  for (let index = from; index < chunk.length; index += 1) {
    if (chunk[index] !== 0) throw new ArchiveRejectedError('corrupt-gzip', TRAILING_RULE);
  }
}

/** Resolves once `stream` accepts more writes, or can never again (closed, destroyed, failed). */
function drainedOrClosed(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

function isZlibError(error: unknown): error is { code: string; message: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * Reads an archive once: SHA-256 over the compressed bytes, gunzip, tar decoding and every check of
 * DESIGN.md §6, all enforced as bytes arrive, so a refusal stops reading at once. Memory is a few chunks,
 * whatever the archive's size.
 *
 * Errors of the source itself (a reset connection, a missing file) are rethrown unchanged: they say nothing
 * about the archive and a caller may retry them.
 *
 * @throws {ArchiveRejectedError} when the archive breaks a rule.
 */
export async function scanArchive(
  source: ArchiveSource,
  overrides: Partial<ArchiveLimits> | undefined,
  visitor: ArchiveVisitor = {},
): Promise<ArchiveInspection> {
  const limits = resolveArchiveLimits(overrides);
  const hash = createHash('sha256');
  const parser = new TarParser();
  const checks = new EntryChecks(limits);
  const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK_BYTES, writableHighWaterMark: INFLATE_QUEUE_BYTES } as ZlibOptions);
  let compressedBytes = 0;
  let uncompressedBytes = 0;

  async function* compressed(input: AsyncIterable<Uint8Array | string>): AsyncGenerator<Buffer> {
    let head: Buffer[] | undefined = [];
    let headBytes = 0;
    for await (const piece of input) {
      if (typeof piece === 'string') throw new TypeError('the archive source must yield bytes, not strings (no setEncoding)');
      const chunk = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
      if (chunk.length === 0) continue;
      compressedBytes += chunk.length;
      if (compressedBytes > limits.maxCompressedBytes) {
        throw new ArchiveRejectedError(
          'compressed-size',
          `the object is over ${limits.maxCompressedBytes} bytes (${ARCHIVE_LIMIT_VARIABLES.maxCompressedBytes})`,
          { limit: limits.maxCompressedBytes, actual: compressedBytes },
        );
      }
      hash.update(chunk);
      if (head === undefined) {
        yield chunk;
        continue;
      }
      head.push(chunk);
      headBytes += chunk.length;
      if (headBytes >= SNIFF_BYTES) {
        sniff(Buffer.concat(head));
        yield* head;
        head = undefined;
      }
    }
    if (head !== undefined) {
      if (headBytes === 0) throw new ArchiveRejectedError('empty', 'the object is empty (0 bytes)');
      sniff(Buffer.concat(head));
      yield* head;
    }
  }

  async function inflated(output: AsyncIterable<Buffer>): Promise<void> {
    const events: TarEvent[] = [];
    let current: CheckedEntry | undefined;
    for await (const chunk of output) {
      uncompressedBytes += chunk.length;
      if (uncompressedBytes > limits.maxUncompressedBytes) {
        throw new ArchiveRejectedError(
          'uncompressed-size',
          `it inflates to over ${limits.maxUncompressedBytes} bytes (${ARCHIVE_LIMIT_VARIABLES.maxUncompressedBytes})`,
          { limit: limits.maxUncompressedBytes, actual: uncompressedBytes },
        );
      }
      // Against what zlib has consumed, not what was read: a source that hands over the whole object in one
      // chunk must not earn the bomb a ratio computed on bytes still waiting to be inflated.
      const consumed = gunzip.bytesWritten;
      if (uncompressedBytes > EXPANSION_RATIO_GRACE_BYTES && uncompressedBytes > limits.maxExpansionRatio * consumed) {
        const ratio = uncompressedBytes / consumed;
        throw new ArchiveRejectedError(
          'expansion-ratio',
          `${uncompressedBytes} bytes inflated from the first ${consumed} compressed bytes, a ratio of ` +
            `${ratio.toFixed(0)}:1, over ${limits.maxExpansionRatio}:1 (${ARCHIVE_LIMIT_VARIABLES.maxExpansionRatio}; ` +
            `enforced past ${EXPANSION_RATIO_GRACE_BYTES} bytes)`,
          { limit: limits.maxExpansionRatio, actual: ratio },
        );
      }
      if (parser.ended) continue; // padding or trailing bytes after the end marker: drained, never parsed
      events.length = 0;
      parser.push(chunk, events);
      for (const event of events) {
        switch (event.type) {
          case 'entry': {
            current = checks.check(event.entry);
            const pending = visitor.onEntry?.(current);
            if (pending) await pending;
            break;
          }
          case 'data': {
            const pending = visitor.onData?.(event.chunk);
            if (pending) await pending;
            break;
          }
          case 'entry-end': {
            const pending = current && visitor.onEntryEnd?.(current);
            if (pending) await pending;
            current = undefined;
            break;
          }
          case 'archive-end':
            break;
        }
      }
    }
    parser.end();
    checks.finish();
  }

  // Plumbed by hand rather than with stream.pipeline: gunzip stops at the end of the gzip stream while the
  // source may still hold bytes that must be read to the end, hashed and checked.
  let failure: unknown;
  let inflating = true;
  const fail = (error: unknown): void => {
    if (failure !== undefined) return;
    failure = error;
    gunzip.destroy();
    const stream = source as { destroy?: () => void };
    if (typeof stream.destroy === 'function') stream.destroy();
  };

  // Chunks handed to zlib that it has not wholly consumed: where the gzip stream ends, the rest of them is
  // what follows it. They are the chunks zlib queues anyway, so keeping them costs no memory.
  const unconsumed: Buffer[] = [];
  let unconsumedStart = 0;
  const forgetConsumed = (): void => {
    while (unconsumed.length > 0 && unconsumedStart + (unconsumed[0] as Buffer).length <= gunzip.bytesWritten) {
      unconsumedStart += (unconsumed.shift() as Buffer).length;
    }
  };

  const feed = async (): Promise<void> => {
    for await (const chunk of compressed(source as AsyncIterable<Uint8Array>)) {
      if (failure !== undefined) return;
      if (!inflating || gunzip.destroyed || gunzip.writableEnded) {
        checkTrailing(chunk, 0);
        continue;
      }
      forgetConsumed();
      unconsumed.push(chunk);
      if (!gunzip.write(chunk)) await drainedOrClosed(gunzip);
    }
    if (failure === undefined && inflating && !gunzip.destroyed) gunzip.end();
  };

  const consume = async (): Promise<void> => {
    try {
      await inflated(gunzip);
    } finally {
      inflating = false;
    }
  };

  await Promise.all([feed().catch(fail), consume().catch(fail)]);
  if (failure === undefined) {
    try {
      forgetConsumed();
      let offset = unconsumedStart;
      for (const chunk of unconsumed) {
        checkTrailing(chunk, Math.max(0, gunzip.bytesWritten - offset));
        offset += chunk.length;
      }
    } catch (error) {
      failure = error;
    }
  }
  if (failure !== undefined) {
    if (failure instanceof ArchiveRejectedError) throw failure;
    if (isZlibError(failure)) throw zlibRejection(failure);
    throw failure;
  }

  return {
    sha256: hash.digest('hex'),
    compressedBytes,
    uncompressedBytes,
    entryCount: checks.entryCount,
    fileCount: checks.fileCount,
    fileBytes: checks.fileBytes,
  };
}
