import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { Http1Connections, Http1ListenError, serveHttp1, type Http1Handler, type Http1Request } from '../../../src/local/http1/socket-server';
import { HttpRequestError, HttpRequestParser } from '../../../src/local/http1/request-parser';
import { freePort } from '../../../src/local/sagemaker/containers/ports';
import { rawExchange } from '../../support/raw-http';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Serves `handler` on a free port, stopped after the test. */
async function serve(handler: Http1Handler, options: { maxBodyBytes?: number; idleTimeoutMs?: number; requestTimeoutMs?: number } = {}): Promise<number> {
  const port = await freePort();
  const server = await serveHttp1(handler, { port, maxBodyBytes: options.maxBodyBytes ?? 1024, idleTimeoutMs: options.idleTimeoutMs, requestTimeoutMs: options.requestTimeoutMs });
  cleanups.push(() => server.close());
  return port;
}

/** Echoes what it was asked, as JSON. */
const echo: Http1Handler = (req) => ({
  status: 200,
  body: JSON.stringify({ method: req.method, path: req.path, query: req.query, headers: req.headers, body: req.body.toString('latin1') }),
  contentType: 'application/json',
});

/** Writes `bytes` on a new connection and resolves with everything read until the server closes it or `quietMs` pass without bytes. */
function raw(target: { port: number }, bytes: string | Buffer, quietMs = 300): Promise<string> {
  return rawExchange(target.port, [bytes], { quietMs });
}

/** The status lines of the answers in `text` (a body runs straight into the next answer's status line). */
function statusLines(text: string): string[] {
  return [...text.matchAll(/HTTP\/1\.1 \d{3} [^\r]*/g)].map((m) => m[0]);
}

describe('Function: HttpRequestParser.push', () => {
  it('reads requests split at every byte, chunked bodies with trailers, and pipelined requests in order', () => {
    // Prepare
    const wire = Buffer.from(
      'POST /invocations?x=1 HTTP/1.1\r\nHost: c\r\nContent-Type: text/csv\r\nContent-Length: 7\r\n\r\n1,2\n3,4' +
        'POST /models HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nAccept: a\r\naccept: b\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n' +
        '\r\nGET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
    );
    const parser = new HttpRequestParser({ maxBodyBytes: 100 });

    // Act
    const requests = [];
    for (let i = 0; i < wire.length; i++) requests.push(...parser.push(wire.subarray(i, i + 1)));

    // Assess
    expect(requests.map((r) => [r.method, r.target, r.body.toString(), r.keepAlive, r.http11])).toEqual([
      ['POST', '/invocations?x=1', '1,2\n3,4', true, true],
      ['POST', '/models', 'abcde', true, true],
      ['GET', '/ping', '', true, false],
    ]);
    expect(requests[0]!.headers['content-type']).toBe('text/csv');
    expect(requests[1]!.headers.accept).toBe('a, b');
    expect(parser.partial).toBe(false);
  });

  it('marks a body over the limit and keeps none of it, whatever its framing', () => {
    // Prepare
    const parser = new HttpRequestParser({ maxBodyBytes: 4 });

    // Act
    const [fixed, chunked, fits] = parser.push(
      Buffer.from(
        'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n12345' +
          'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n' +
          'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n1234',
      ),
    );

    // Assess
    expect([fixed!.bodyTooLarge, fixed!.body.length, chunked!.bodyTooLarge, chunked!.body.length]).toEqual([true, 0, true, 0]);
    expect([fits!.bodyTooLarge, fits!.body.toString()]).toEqual([false, '1234']);
  });

  it('returns the requests before bytes it cannot frame, then reads nothing more', () => {
    // Prepare
    const parser = new HttpRequestParser({ maxBodyBytes: 10 });

    // Act
    const requests = parser.push(Buffer.from('GET /first HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n'));

    // Assess
    expect(requests.map((r) => r.target)).toEqual(['/first']);
    expect(parser.error?.message).toBe('not an HTTP/1.x request line: "NOT HTTP"');
  });

  it('with a router: routes each head before its body, and keeps every byte from the first request not routed on', () => {
    // Prepare
    const parser = new HttpRequestParser({ maxBodyBytes: 10 }, (head) => (head.target.startsWith('/mine') ? head.method : undefined));
    const wire = 'POST /mine HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab' + 'PUT /other HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz';

    // Act
    const requests = [...parser.push(Buffer.from(wire.slice(0, 60))), ...parser.push(Buffer.from(wire.slice(60)))];
    const later = parser.push(Buffer.from('POST /mine HTTP/1.1\r\nHost: x\r\n\r\n'));

    // Assess
    expect(requests.map((r) => [r.target, r.route, r.body.toString()])).toEqual([['/mine', 'POST', 'ab']]);
    expect(later).toEqual([]);
    expect(parser.diverted?.toString()).toBe('PUT /other HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz' + 'POST /mine HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(parser.error).toBeUndefined();
  });

  it('with a router: leaves a head it cannot read, or one too large, to the other server rather than failing', () => {
    for (const wire of ['NOT HTTP\r\n\r\n', `GET /mine HTTP/1.1\r\nHost: x\r\nX: ${'y'.repeat(70_000)}`]) {
      // Prepare
      const parser = new HttpRequestParser({ maxBodyBytes: 10 }, () => true);

      // Act
      const requests = parser.push(Buffer.from(wire));

      // Assess
      expect(requests).toEqual([]);
      expect(parser.error).toBeUndefined();
      expect(parser.diverted?.toString()).toBe(wire);
    }
  });

  it('refuses what is not a request it can frame, with the status to answer and the reason', () => {
    // Prepare
    const cases: Array<[string, number, RegExp]> = [
      ['GARBAGE\r\n\r\n', 400, /not an HTTP\/1\.x request line: "GARBAGE"/],
      ['GET / HTTP/2.0\r\n\r\n', 400, /not an HTTP\/1\.x request line/],
      ['GET / HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n', 400, /malformed header line "Bad Header: x"/],
      ['GET / HTTP/1.1\r\nX: y\r\n\r\n', 400, /an HTTP\/1\.1 request must have a Host header/],
      ['GET / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n', 417, /Expect "200-ok" cannot be met; only 100-continue is/],
      ['GET / HTTP/1.1\nHost: x\n\n', 400, /request head lines must end in CRLF/],
      ['GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n', 400, /malformed header line " folded"/],
      ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 400, /conflicting Content-Length values 1 and 2/],
      ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 400, /malformed Content-Length "-1"/],
      ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', 400, /both Transfer-Encoding and Content-Length/],
      ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n', 400, /Transfer-Encoding "gzip" must end in chunked/],
      ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501, /only chunked is supported/],
      ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400, /malformed chunk size line "zz"/],
      ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXY', 400, /not followed by CRLF/],
      [`GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(200)}\r\n\r\n`, 431, /the request head is over 100 bytes/],
    ];

    // Act
    const outcomes = cases.map(([wire]) => {
      const parser = new HttpRequestParser({ maxBodyBytes: 10, maxHeaderBytes: 100 });
      const requests = parser.push(Buffer.from(wire));
      return { requests, error: parser.error, after: parser.push(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')) };
    });

    // Assess
    outcomes.forEach(({ requests, error, after }, i) => {
      expect(requests, cases[i]![0]).toEqual([]);
      expect(error, cases[i]![0]).toBeInstanceOf(HttpRequestError);
      expect(error!.status, cases[i]![0]).toBe(cases[i]![1]);
      expect(error!.message, cases[i]![0]).toMatch(cases[i]![2]);
      expect(after, 'nothing is read past the error').toEqual([]);
    });
  });
});

describe('Function: serveHttp1', () => {
  it('serves Node’s HTTP client over kept-alive connections, with bodies, queries and lower-cased headers', async () => {
    // Prepare
    const port = await serve(echo);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    const call = (path: string, body: string) =>
      new Promise<{ status: number; body: string; contentType: string | undefined; socket: unknown }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'Content-Type': 'text/csv', 'X-Custom': 'v' } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body: text, contentType: res.headers['content-type'], socket: req.socket }));
        });
        req.on('error', reject);
        req.end(body);
      });

    // Act
    const first = await call('/invocations?a=b', '1,2');
    const second = await call('/invocations', 'é');

    // Assess
    expect(first.status).toBe(200);
    expect(first.contentType).toBe('application/json');
    const echoed = JSON.parse(first.body) as { method: string; path: string; query: string; headers: Record<string, string>; body: string };
    expect([echoed.method, echoed.path, echoed.query, echoed.body]).toEqual(['POST', '/invocations', 'a=b', '1,2']);
    expect(echoed.headers['x-custom']).toBe('v');
    expect(Buffer.from((JSON.parse(second.body) as { body: string }).body, 'latin1').toString('utf8')).toBe('é');
    expect(second.socket).toBe(first.socket);
  });

  it('answers pipelined requests in order, each after the slow one before it, and HEAD without a body', async () => {
    // Prepare
    const port = await serve(async (req: Http1Request) => {
      if (req.path === '/slow') await new Promise((r) => setTimeout(r, 50));
      return { status: 200, body: `answer for ${req.path}` };
    });

    // Act
    const text = await raw({ port }, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\nHEAD /head HTTP/1.1\r\nHost: x\r\n\r\nGET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');

    // Assess
    const bodies = text.split(/HTTP\/1\.1 200 OK\r\n[^]*?\r\n\r\n/).filter((b) => b !== '');
    expect(bodies).toEqual(['answer for /slow', 'answer for /fast', 'answer for /last']);
    expect(text).toMatch(/content-length: 16\r\ndate: [A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\r\nkeep-alive: timeout=60\r\n\r\nHTTP\/1\.1/); // the HEAD answer: its length, no body
    expect(text).toMatch(/connection: close\r\n\r\nanswer for \/last$/);
  });

  it('says 100 Continue to a client that waits for it, and keeps an HTTP/1.0 client only when asked', async () => {
    // Prepare
    const port = await serve(echo);

    // Act
    const expecting = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text === 'HTTP/1.1 100 Continue\r\n\r\n') socket.write('body');
        if (text.includes('"body":"body"')) socket.end();
      });
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
      socket.write('POST /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n');
    });
    const oldKept = await raw({ port }, 'GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\nGET /c HTTP/1.0\r\n\r\n');

    // Assess
    expect(expecting.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n')).toBe(true);
    expect(statusLines(oldKept)).toHaveLength(2);
    expect(oldKept).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*connection: keep-alive\r\n/);
    expect(oldKept).toMatch(/connection: close\r\n\r\n\{"method":"GET","path":"\/b"/);
  });

  it('answers 413 to an oversized body on a connection that still serves, and 400 or 431 then closes on bytes it cannot read', async () => {
    // Prepare
    const port = await serve(echo, { maxBodyBytes: 8 });

    // Act
    const oversized = await raw({ port }, `POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n${'z'.repeat(20)}GET /after HTTP/1.1\r\nHost: x\r\n\r\n`);
    const garbage = await raw({ port }, 'GET /first HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP AT ALL\r\n\r\nGET /never HTTP/1.1\r\nHost: x\r\n\r\n');
    const huge = await raw({ port }, `GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(70 * 1024)}`);

    // Assess
    expect(statusLines(oversized)).toEqual(['HTTP/1.1 413 Payload Too Large', 'HTTP/1.1 200 OK']);
    expect(oversized).toContain('request body over 8 bytes');
    expect(statusLines(garbage)).toEqual(['HTTP/1.1 200 OK', 'HTTP/1.1 400 Bad Request']);
    expect(garbage).toMatch(/connection: close\r\n\r\nnot an HTTP\/1\.x request line: "NOT HTTP AT ALL"$/);
    expect(statusLines(huge)).toEqual(['HTTP/1.1 431 Request Header Fields Too Large']);
  });

  it('answers 500 with the message of a handler that throws or rejects, and goes on serving', async () => {
    // Prepare
    const port = await serve((req) => {
      if (req.path === '/throws') throw new Error('sync failure');
      if (req.path === '/rejects') return Promise.reject(new Error('async failure'));
      return { status: 200, body: 'fine' };
    });

    // Act
    const text = await raw({ port }, 'GET /throws HTTP/1.1\r\nHost: x\r\n\r\nGET /rejects HTTP/1.1\r\nHost: x\r\n\r\nGET /ok HTTP/1.1\r\nHost: x\r\n\r\n');

    // Assess
    expect(statusLines(text)).toEqual(['HTTP/1.1 500 Internal Server Error', 'HTTP/1.1 500 Internal Server Error', 'HTTP/1.1 200 OK']);
    expect(text).toContain('sync failure');
    expect(text).toContain('async failure');
  });

  it('answers a client that half-closes, and closes connections idle past the timeout', async () => {
    // Prepare
    const port = await serve(echo, { idleTimeoutMs: 100 });

    // Act
    const halfClosed = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString()));
      socket.on('end', () => resolve(text));
      socket.end('GET /then-end HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    const started = Date.now();
    const idle = await raw({ port }, 'GET /idle HTTP/1.1\r\nHost: x\r\n\r\n', 5000);
    const idleFor = Date.now() - started;

    // Assess
    expect(halfClosed).toContain('"path":"/then-end"');
    expect(idle).toContain('"path":"/idle"');
    expect(idleFor).toBeGreaterThanOrEqual(100);
    expect(idleFor).toBeLessThan(3000);
  });

  it('answers 408 and closes when a request trickles in slower than the request timeout, however often a byte comes', async () => {
    // Prepare
    const port = await serve(echo, { requestTimeoutMs: 400, idleTimeoutMs: 60_000 });
    const started = Date.now();

    // Act: a byte every 100 ms keeps the connection busy but never finishes the head.
    const text = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      let answer = '';
      const head = 'POST /slow HTTP/1.1\r\nHost: x\r\nX-Padding: ' + 'p'.repeat(100);
      let sent = 0;
      const drip = setInterval(() => socket.write(head[sent++ % head.length]!), 100);
      socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
      socket.on('close', () => {
        clearInterval(drip);
        resolve(answer);
      });
      socket.on('error', () => undefined);
    });

    // Assess
    expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[^]*connection: close\r\n\r\nthe request was not received whole within 0.4 s$/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('stops answering and reading a client that pipelines requests but does not read the answers, and goes on once it does', async () => {
    // Prepare
    let answered = 0;
    const big = 'a'.repeat(512 * 1024);
    const port = await serve(() => {
      answered += 1;
      return { status: 200, body: big };
    });
    const socket = connect({ host: '127.0.0.1', port });
    cleanups.push(() => void socket.destroy());
    socket.pause();
    await new Promise((r) => socket.once('connect', r));

    // Act
    socket.write('GET /x HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(200));
    await new Promise((r) => setTimeout(r, 300));
    const whileNotReading = answered;
    let bytes = 0;
    socket.on('data', (c: Buffer) => (bytes += c.length));
    socket.resume();
    for (let i = 0; i < 100 && answered < 200; i++) await new Promise((r) => setTimeout(r, 50));

    // Assess: a few answers fill the socket buffers, then the server waits.
    expect(whileNotReading).toBeGreaterThan(0);
    expect(whileNotReading).toBeLessThan(60);
    expect(answered).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect(bytes).toBeGreaterThan(200 * big.length);
  });

  it('applies a body limit changed after the connection was accepted from the next request on', async () => {
    // Prepare
    const limits = { maxBodyBytes: 0 };
    const connections = new Http1Connections({ handler: (req) => ({ status: 200, body: `got ${req.body.length}` }) }, limits);
    const server = createServer((socket) => connections.accept(socket));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => (connections.close(), server.close(() => r()))));
    const { port } = server.address() as AddressInfo;
    const socket = connect({ host: '127.0.0.1', port });
    cleanups.push(() => void socket.destroy());
    await new Promise((r) => socket.once('connect', r));

    // Act
    limits.maxBodyBytes = 10;
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.write('POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc');
    for (let i = 0; i < 40 && !text.includes('got'); i++) await new Promise((r) => setTimeout(r, 25));

    // Assess
    expect(text).toMatch(/^HTTP\/1\.1 200 OK[^]*got 3$/);
  });

  it('fails with Http1ListenError naming the port it cannot listen on', async () => {
    // Prepare
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const port = (taken.address() as AddressInfo).port;

    // Act
    const onPort = await serveHttp1(echo, { port, maxBodyBytes: 1 }).catch((error: unknown) => error);

    // Assess
    expect(onPort).toBeInstanceOf(Http1ListenError);
    expect((onPort as Error).message).toMatch(new RegExp(`^cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  });
});
