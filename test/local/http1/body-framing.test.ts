import { describe, expect, it } from 'vitest';
import { Http1BodyReader, MAX_CHUNK_LINE_BYTES, parseContentLength } from '../../../src/local/http1/body-framing';

class FramingError extends Error {}
const fail = (message: string): FramingError => new FramingError(message);

/**
 * Feeds `wire` in pieces of `size` bytes the way the parsers do, carrying what the reader leaves unread in
 * front of the next piece; returns the body, the bytes after it, and how much was carried at most.
 */
function decode(reader: Http1BodyReader, wire: string | Buffer, size: number): { body: Buffer; rest: Buffer; maxCarried: number } | undefined {
  const bytes = typeof wire === 'string' ? Buffer.from(wire, 'latin1') : wire;
  let pending = Buffer.alloc(0);
  let maxCarried = 0;
  for (let start = 0; start < bytes.length; start += size) {
    const data = Buffer.concat([pending, bytes.subarray(start, start + size)]);
    const offset = reader.read(data, 0);
    if (reader.complete) return { body: reader.take(), rest: Buffer.concat([data.subarray(offset), bytes.subarray(start + size)]), maxCarried };
    pending = data.subarray(offset);
    maxCarried = Math.max(maxCarried, pending.length);
  }
  return undefined;
}

/** The message of what `fn` throws, which must come from the factory given to the reader. */
function errorOf(fn: () => unknown): string {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(FramingError);
  return (thrown as FramingError).message;
}

describe('Function: Http1BodyReader.read', () => {
  it('reads a body of a given length and stops at its end whatever the pieces', () => {
    // Prepare
    const wire = 'hello worldNEXT';

    // Act
    const results = [1, 3, 100].map((size) => {
      const reader = new Http1BodyReader(fail);
      reader.startLength(11);
      return decode(reader, wire, size)!;
    });

    // Assess
    for (const { body, rest, maxCarried } of results) {
      expect(body.toString()).toBe('hello world');
      expect(rest.toString()).toBe('NEXT');
      expect(maxCarried).toBe(0);
    }
  });

  it('gives the piece itself, not a copy, when the body arrived in one', () => {
    // Prepare
    const data = Buffer.from('abcdef');
    const reader = new Http1BodyReader(fail);
    reader.startLength(4);

    // Act
    const offset = reader.read(data, 1);
    const body = reader.take();

    // Assess
    expect(offset).toBe(5);
    expect(body.toString()).toBe('bcde');
    expect(body.buffer).toBe(data.buffer);
  });

  it('decodes chunked coding with extensions and trailers, carrying only unfinished lines', () => {
    // Prepare
    const wire = '5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\nNEXT';

    // Act
    const results = [1, 2, 5, 1000].map((size) => {
      const reader = new Http1BodyReader(fail);
      reader.startChunked();
      return decode(reader, wire, size)!;
    });

    // Assess
    for (const { body, rest, maxCarried } of results) {
      expect(body.toString()).toBe('hello world');
      expect(rest.toString()).toBe('NEXT');
      expect(maxCarried).toBeLessThan('X-Trailer: yes\r\n'.length);
    }
  });

  it('reads until the close and completes only then', () => {
    // Prepare
    const reader = new Http1BodyReader(fail);
    reader.startUntilClose();

    // Act
    const first = reader.read(Buffer.from('part one, '), 0);
    const second = reader.read(Buffer.from('part two'), 0);
    const completeBeforeClose = reader.complete;
    const closed = reader.close();

    // Assess
    expect([first, second]).toEqual([10, 8]);
    expect(completeBeforeClose).toBe(false);
    expect(closed).toBe(true);
    expect(reader.take().toString()).toBe('part one, part two');
  });

  it('says a close does not complete a body framed by length or chunks', () => {
    // Prepare
    const fixed = new Http1BodyReader(fail);
    fixed.startLength(10);
    fixed.read(Buffer.from('short'), 0);
    const chunked = new Http1BodyReader(fail);
    chunked.startChunked();
    chunked.read(Buffer.from('5\r\nhel'), 0);

    // Act
    const closes = [fixed.close(), chunked.close()];

    // Assess
    expect(closes).toEqual([false, false]);
  });

  it('counts but drops a body over the limit, and keeps the next body whole', () => {
    // Prepare
    const reader = new Http1BodyReader(fail, 4);
    reader.startChunked();

    // Act
    const tooLarge = decode(reader, '3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n', 2)!;
    const overLimit = reader.overLimit;
    reader.startLength(4);
    const fits = decode(reader, 'wxyz', 1)!;

    // Assess
    expect(tooLarge.body.length).toBe(0);
    expect(overLimit).toBe(true);
    expect(reader.overLimit).toBe(false);
    expect(fits.body.toString()).toBe('wxyz');
  });

  it('completes a body of length zero without reading a byte', () => {
    // Prepare
    const reader = new Http1BodyReader(fail);

    // Act
    reader.startLength(0);
    const offset = reader.read(Buffer.from('NEXT'), 0);

    // Assess
    expect(reader.complete).toBe(true);
    expect(offset).toBe(0);
    expect(reader.take().length).toBe(0);
  });

  it('refuses broken chunked framing with the error the factory makes', () => {
    // Prepare
    const chunked = (): Http1BodyReader => {
      const reader = new Http1BodyReader(fail);
      reader.startChunked();
      return reader;
    };

    // Act
    const badSize = errorOf(() => chunked().read(Buffer.from('zz\r\n'), 0));
    const negative = errorOf(() => chunked().read(Buffer.from('-1\r\n'), 0));
    const noCrlf = errorOf(() => chunked().read(Buffer.from('2\r\nabXY'), 0));
    const endless = errorOf(() => chunked().read(Buffer.alloc(MAX_CHUNK_LINE_BYTES + 1, 0x31), 0));

    // Assess
    expect(badSize).toBe('malformed chunk size line "zz"');
    expect(negative).toBe('malformed chunk size line "-1"');
    expect(noCrlf).toBe('a chunk of the body is not followed by CRLF');
    expect(endless).toBe(`a chunk line is over ${MAX_CHUNK_LINE_BYTES} bytes`);
  });
});

describe('Function: parseContentLength', () => {
  it('reads a decimal length', () => {
    // Prepare
    const values = ['0', '42', '999999999999999'];

    // Act
    const lengths = values.map((value) => parseContentLength(value, fail));

    // Assess
    expect(lengths).toEqual([0, 42, 999999999999999]);
  });

  it('refuses a sign, a space, a list, hex or more than 15 digits, naming the value', () => {
    // Prepare
    const values = ['-1', '+1', ' 1', '1, 1', '0x10', '1000000000000000', ''];

    // Act
    const messages = values.map((value) => errorOf(() => parseContentLength(value, fail)));

    // Assess
    expect(messages).toEqual(values.map((value) => `malformed Content-Length ${JSON.stringify(value)}`));
  });
});
