import { afterEach, describe, expect, it } from 'vitest';
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { SplitServer, type FastPath } from '../../../src/local/http1/split-server';
import type { Http1Handler } from '../../../src/local/http1/socket-server';
import { rawExchange } from '../../support/raw-http';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Answers `node <method> <url> <body>` from Node's server. */
async function nodeHandler(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = `node ${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`;
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Answers `fast <path> <body>` on the socket server, after `delayMs` for paths starting `/slow`. */
const fastHandler: Http1Handler = async (req) => {
  if (req.path.startsWith('/fast/slow')) await new Promise((r) => setTimeout(r, 50));
  return { status: 200, body: `fast ${req.path} ${req.body.toString()}`, headers: { 'x-lane': 'fast' } };
};

/** POSTs under /fast go on the fast path (bodies up to 16 bytes); everything else to Node's server. */
const fastPath: FastPath = {
  route: (head) => (head.method === 'POST' && head.target.startsWith('/fast') ? fastHandler : undefined),
  maxBodyBytes: 16,
  tooLarge: (req) => ({ status: 413, body: `too large for ${req.path}` }),
};

async function start(path: FastPath | 'none' = fastPath): Promise<{ port: number; server: SplitServer }> {
  const node = createServer((req, res) => void nodeHandler(req, res));
  const server = new SplitServer(node, path === 'none' ? undefined : path);
  const port = await server.listen(0);
  cleanups.push(() => server.close());
  return { port, server };
}

/** The bodies of the answers in `text`, in order (every answer here has a Content-Length). */
function bodies(text: string): string[] {
  const found: string[] = [];
  let rest = text;
  for (;;) {
    const head = /^HTTP\/1\.1 (?:100 Continue\r\n\r\n)?HTTP\/1\.1 \d{3}[^]*?\r\n\r\n|^HTTP\/1\.1 \d{3}[^]*?\r\n\r\n/.exec(rest);
    if (!head) return found;
    const length = Number(/content-length: (\d+)/i.exec(head[0])![1]);
    found.push(rest.slice(head[0].length, head[0].length + length));
    rest = rest.slice(head[0].length + length);
  }
}

const post = (path: string, body: string, extra = '') => `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

describe('Class: SplitServer', () => {
  it('answers routed requests on the fast path, and hands a connection to Node from its first request that is not routed, in order', async () => {
    // Prepare
    const { port } = await start();

    // Act: pipelined: a slow fast one, a fast one, one for Node, then one Node must now serve though it is routable.
    const text = await rawExchange(port, [post('/fast/slow', 'a') + post('/fast/1', 'b') + post('/other', 'c') + post('/fast/2', 'd')]);

    // Assess
    expect(bodies(text)).toEqual(['fast /fast/slow a', 'fast /fast/1 b', 'node POST /other c', 'node POST /fast/2 d']);
    expect(text.match(/x-lane: fast/g)).toHaveLength(2);
  });

  it('gives Node every byte of a request split across packets, with its Expect: 100-continue, and keeps the connection Node’s', async () => {
    // Prepare
    const { port } = await start();
    const head = 'PUT /bucket/key HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n';

    // Act
    const text = await rawExchange(port, [head.slice(0, 7), head.slice(7), '01234', '56789', post('/fast/after', 'e')]);

    // Assess
    expect(text.startsWith('HTTP/1.1 100 Continue\r\n\r\n')).toBe(true);
    expect(bodies(text.slice('HTTP/1.1 100 Continue\r\n\r\n'.length))).toEqual(['node PUT /bucket/key 0123456789', 'node POST /fast/after e']);
  });

  it('holds back a large upload for Node behind a slow fast request, then gives Node every byte of it', async () => {
    // Prepare
    const { port } = await start();
    const upload = 'u'.repeat(1024 * 1024);

    // Act
    const text = await rawExchange(port, [post('/fast/slow', 'a') + `PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: ${upload.length}\r\n\r\n${upload}`]);

    // Assess
    expect(bodies(text)).toEqual(['fast /fast/slow a', `node PUT /big ${upload}`]);
  });

  it('leaves a head it cannot read to Node, which answers it as Node does', async () => {
    // Prepare
    const { port } = await start();

    // Act
    const text = await rawExchange(port, [post('/fast/1', 'a'), 'NOT A REQUEST\r\n\r\n']);

    // Assess
    const [fastAnswer, nodeAnswer] = text.split(/(?=HTTP\/1\.1 400)/);
    expect(bodies(fastAnswer!)).toEqual(['fast /fast/1 a']);
    expect(nodeAnswer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\nConnection: close\r\n\r\n$/);
  });

  it('answers a fast request whose body is over the limit with the path’s own answer, and goes on serving', async () => {
    // Prepare
    const { port } = await start();

    // Act
    const text = await rawExchange(port, [post('/fast/big', 'x'.repeat(17)) + post('/fast/small', 'y')]);

    // Assess
    expect(text).toMatch(/^HTTP\/1\.1 413 Payload Too Large/);
    expect(bodies(text)).toEqual(['too large for /fast/big', 'fast /fast/small y']);
  });

  it('hands over a connection whose client half-closed after its request, and Node still answers it', async () => {
    // Prepare
    const { port } = await start();

    // Act
    const text = await rawExchange(port, [post('/fast/1', 'a') + 'GET /last HTTP/1.1\r\nHost: x\r\n\r\n'], { halfClose: true });

    // Assess
    expect(bodies(text)).toEqual(['fast /fast/1 a', 'node GET /last ']);
  });

  it('serves Node’s own HTTP client over kept-alive connections mixing both kinds of request', async () => {
    // Prepare
    const { port } = await start();
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    cleanups.push(() => agent.destroy());
    const send = (method: string, path: string, body: string) =>
      new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end(body);
      });

    // Act
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 3 === 0 ? send('GET', `/n${i}`, '') : send('POST', `/fast/${i}`, `${i}`))));

    // Assess: a connection Node has taken over stays Node's, so a POST under /fast may be answered by either.
    expect(answers.map((a) => a.replace(/^node POST /, 'fast '))).toEqual(Array.from({ length: 20 }, (_, i) => (i % 3 === 0 ? `node GET /n${i} ` : `fast /fast/${i} ${i}`)));
    expect(answers.filter((a) => a.startsWith('fast ')).length).toBeGreaterThan(0);
  });

  it('keeps Node’s header timeout on a connection it handed over', async () => {
    // Prepare
    const node = createServer({ connectionsCheckingInterval: 100 }, (req, res) => void nodeHandler(req, res));
    node.headersTimeout = 500;
    const server = new SplitServer(node, fastPath);
    const port = await server.listen(0);
    cleanups.push(() => server.close());

    // Act: handed over by its first request, then a head that never ends.
    const text = await rawExchange(port, ['GET /n HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /stalled HTTP/1.1\r\nHost: x\r\n'], { quietMs: 1500 });

    // Assess
    const [answer, timeout] = text.split(/(?=HTTP\/1\.1 408)/);
    expect(bodies(answer!)).toEqual(['node GET /n ']);
    expect(timeout).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it('sends every connection to Node when there is no fast path', async () => {
    // Prepare
    const { port } = await start('none');

    // Act
    const text = await rawExchange(port, [post('/fast/1', 'a')]);

    // Assess
    expect(bodies(text)).toEqual(['node POST /fast/1 a']);
  });

  it('closes idle connections on both servers when it closes, and stops listening', async () => {
    // Prepare
    const { port, server } = await start();
    const closed = (first: string) =>
      new Promise<string>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port });
        let text = '';
        socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
        socket.on('close', () => resolve(text));
        socket.write(first);
      });
    const onFast = closed(post('/fast/1', 'a'));
    const onNode = closed('GET /n HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));

    // Act
    const started = Date.now();
    await server.close();

    // Assess
    expect(bodies(await onFast)).toEqual(['fast /fast/1 a']);
    expect(bodies(await onNode)).toEqual(['node GET /n ']);
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(rawExchange(port, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n'])).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
