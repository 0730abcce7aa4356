import { describe, expect, it } from 'vitest';
import { HttpResponseError, HttpResponseParser, type ParsedResponse } from '../../../src/local/http1/response-parser';

/** Feeds `wire` in pieces of `size` bytes and returns the response and the bytes after it. */
function feed(wire: string | Buffer, size: number, method = 'POST'): { response: ParsedResponse; rest: Buffer } | undefined {
  const bytes = typeof wire === 'string' ? Buffer.from(wire, 'latin1') : wire;
  const parser = new HttpResponseParser(method);
  for (let offset = 0; offset < bytes.length; offset += size) {
    const done = parser.push(bytes.subarray(offset, offset + size));
    if (done) return { response: done.response, rest: Buffer.concat([done.rest, bytes.subarray(offset + size)]) };
  }
  return undefined;
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(HttpResponseError);
    return (error as Error).message;
  }
  throw new Error('expected an HttpResponseError');
}

describe('Function: HttpResponseParser.push', () => {
  it('reads a Content-Length body whatever the pieces the bytes arrive in', () => {
    // Prepare
    const wire = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{"predictions":1}';

    // Act
    const results = [1, 2, 7, 1000].map((size) => feed(wire, size)!);

    // Assess
    for (const { response, rest } of results) {
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('application/json');
      expect(response.body.toString()).toBe('{"predictions":1');
      expect(response.keepAlive).toBe(true);
      expect(rest.toString()).toBe('}');
    }
  });

  it('reads a chunked body with chunk extensions and trailers, byte by byte', () => {
    // Prepare
    const wire = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=x\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Checksum: abc\r\n\r\n';

    // Act
    const whole = feed(wire, 4096)!;
    const bytewise = feed(wire, 1)!;

    // Assess
    expect(whole.response.body.toString()).toBe('hello 0123456789');
    expect(bytewise.response.body.toString()).toBe('hello 0123456789');
    expect(bytewise.response.keepAlive).toBe(true);
    expect(bytewise.rest.length).toBe(0);
  });

  it('skips interim 1xx answers and gives no body to 204, 304 and HEAD answers', () => {
    // Act
    const interim = feed('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 3)!;
    const noContent = feed('HTTP/1.1 204 No Content\r\n\r\n', 5)!;
    const notModified = feed('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n', 5)!;
    const head = feed('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', 5, 'HEAD')!;

    // Assess
    expect(interim.response.status).toBe(200);
    expect(interim.response.headers.link).toBeUndefined();
    expect(interim.response.body.toString()).toBe('ok');
    for (const r of [noContent, notModified, head]) expect(r.response.body.length).toBe(0);
  });

  it('says whether the connection can be reused, by version and Connection header', () => {
    // Act
    const closing = feed('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', 100)!;
    const old = feed('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n', 100)!;
    const oldKept = feed('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n', 100)!;
    const both = feed('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 100)!;

    // Assess
    expect([closing, old, oldKept, both].map((r) => r.response.keepAlive)).toEqual([false, false, true, false]);
  });

  it('keeps set-cookie as a list, the first value of single-valued headers, and joins others', () => {
    // Act
    const { response } = feed(
      'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nContent-Type: text/csv\r\nContent-Type: text/plain\r\nX-Tag: one\r\nx-tag:  two \r\nContent-Length: 0\r\n\r\n',
      9,
    )!;

    // Assess
    expect(response.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(response.headers['content-type']).toBe('text/csv');
    expect(response.headers['x-tag']).toBe('one, two');
  });

  it('refuses bytes that are not HTTP/1.x framing, naming what is wrong', () => {
    // Act
    const messages = [
      () => feed('SSH-2.0-OpenSSH\r\n\r\n', 100),
      () => feed('HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', 100),
      () => feed('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 100),
      () => feed('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 100),
      () => feed('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 100),
      () => feed('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY', 100),
      () => feed('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n', 100),
      () => feed(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70 * 1024)}`, 4096),
      () => feed('HTTP/1.1 200 OK\r\nContent-Type: text/plain\rSet-Cookie: x=1\r\nContent-Length: 0\r\n\r\n', 100),
    ].map(errorOf);

    // Assess
    expect(messages).toEqual([
      'not an HTTP/1.x status line: "SSH-2.0-OpenSSH"',
      'malformed header line "no colon here"',
      'conflicting Content-Length values 1 and 2',
      'malformed Content-Length "-1"',
      'malformed chunk size line "zz"',
      'a chunk of the body is not followed by CRLF',
      'the container switched protocols (101), which the emulator does not speak',
      'the response head is over 65536 bytes',
      'header Content-Type holds CR, LF or NUL',
    ]);
  });

  it('refuses bytes after the response is complete', () => {
    // Prepare
    const parser = new HttpResponseParser('GET');
    parser.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));

    // Act
    const message = errorOf(() => parser.push(Buffer.from('x')));

    // Assess
    expect(message).toBe('bytes arrived after the response was complete');
  });
});

describe('Function: HttpResponseParser.end', () => {
  it('completes a body framed by the close, and refuses a close before the answer is complete', () => {
    // Prepare
    const framedByClose = new HttpResponseParser('GET');
    framedByClose.push(Buffer.from('HTTP/1.0 200 OK\r\n\r\npart one, '));
    framedByClose.push(Buffer.from('part two'));
    const cutShort = new HttpResponseParser('GET');
    cutShort.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    const silent = new HttpResponseParser('GET');

    // Act
    const response = framedByClose.end();
    const cutMessage = errorOf(() => cutShort.end());
    const silentMessage = errorOf(() => silent.end());

    // Assess
    expect(response.body.toString()).toBe('part one, part two');
    expect(response.keepAlive).toBe(false);
    expect(cutMessage).toBe('the connection was closed before the answer was complete');
    expect(silentMessage).toBe('the connection was closed without an answer');
    expect(silent.started).toBe(false);
    expect(cutShort.started).toBe(true);
  });
});
