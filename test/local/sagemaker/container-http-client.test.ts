import { afterEach, describe, expect, it } from 'vitest';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import {
  ContainerHttpClient,
  ContainerTimeoutError,
  ContainerUnreachableError,
  InvalidContainerRequestError,
} from '../../../src/local/sagemaker/containers/container-http-client';
import { freePort } from '../../../src/local/sagemaker/containers/ports';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A Node HTTP server on 127.0.0.1 that counts the connections it is given. */
async function httpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ port: number; connections: () => number }> {
  const server: HttpServer = createHttpServer(handler);
  let connections = 0;
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as AddressInfo).port, connections: () => connections };
}

/** A raw TCP server on 127.0.0.1, for answers no well-behaved HTTP server gives. */
async function netServer(onConnection: (socket: Socket, n: number) => void): Promise<number> {
  const sockets = new Set<Socket>();
  let n = 0;
  const server: NetServer = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onConnection(socket, ++n);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

function client(port: number, options?: ConstructorParameters<typeof ContainerHttpClient>[2]): ContainerHttpClient {
  const c = new ContainerHttpClient(port, 'ep/AllTraffic/primary', options);
  cleanups.push(() => c.destroy());
  return c;
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

describe('Function: ContainerHttpClient.request', () => {
  it('sends method, path, headers and body, and reads the answer over one kept-alive connection', async () => {
    // Prepare
    const seen: Array<{ method?: string; url?: string; headers: IncomingMessage['headers']; body: string }> = [];
    const server = await httpServer(async (req, res) => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: (await readAll(req)).toString() });
      res.writeHead(200, { 'content-type': 'text/csv', 'x-amzn-sagemaker-custom-attributes': 'c=1' });
      res.end(`answer ${seen.length}`);
    });
    const http = client(server.port);

    // Act
    const first = await http.request('POST', '/invocations', { 'content-type': 'text/csv', accept: 'text/csv' }, Buffer.from('1,2\n3,4\n'), 5000);
    const second = await http.request('GET', '/ping', {}, undefined, 5000);

    // Assess
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('text/csv');
    expect(first.headers['x-amzn-sagemaker-custom-attributes']).toBe('c=1');
    expect(first.body.toString()).toBe('answer 1');
    expect(second.body.toString()).toBe('answer 2');
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/invocations', body: '1,2\n3,4\n' });
    expect(seen[0]!.headers).toMatchObject({ 'content-type': 'text/csv', accept: 'text/csv', 'content-length': '8', host: `127.0.0.1:${server.port}` });
    expect(seen[1]).toMatchObject({ method: 'GET', url: '/ping', body: '' });
    expect(server.connections()).toBe(1);
  });

  it('reads chunked answers and keeps no more connections open than allowed, queueing the rest', async () => {
    // Prepare
    let open = 0;
    let most = 0;
    const server = await httpServer((req, res) => {
      open += 1;
      most = Math.max(most, open);
      setTimeout(() => {
        res.write(`chunk of ${req.url}, `);
        res.end('end');
        open -= 1;
      }, 20);
    });
    const http = client(server.port, { maxConnections: 2 });

    // Act
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => http.request('GET', `/r${i}`, {}, undefined, 5000)));

    // Assess
    expect(answers.map((a) => a.body.toString())).toEqual(Array.from({ length: 6 }, (_, i) => `chunk of /r${i}, end`));
    expect(most).toBe(2);
    expect(server.connections()).toBe(2);
  });

  it('fails with ContainerTimeoutError when no answer comes in time, and does not reuse that connection', async () => {
    // Prepare
    let calls = 0;
    const server = await httpServer((req, res) => {
      calls += 1;
      if (calls === 1) return; // never answers
      res.end('late but fine');
    });
    const http = client(server.port);

    // Act
    const timedOut = await http.request('POST', '/invocations', {}, Buffer.from('x'), 100).catch((error: unknown) => error);
    const next = await http.request('POST', '/invocations', {}, Buffer.from('x'), 5000);

    // Assess
    expect(timedOut).toBeInstanceOf(ContainerTimeoutError);
    expect((timedOut as Error).message).toBe('ep/AllTraffic/primary did not answer POST /invocations within 100 ms');
    expect(next.body.toString()).toBe('late but fine');
    expect(server.connections()).toBe(2);
  });

  it('times out each request at its own deadline, earliest first, while others in flight are answered', async () => {
    // Prepare
    const server = await httpServer((req, res) => {
      if (req.url === '/answered') setTimeout(() => res.end('in time'), 150);
    });
    const http = client(server.port);
    const started = Date.now();
    const settled = (path: string, timeoutMs: number) =>
      http.request('GET', path, {}, undefined, timeoutMs).then(
        (answer) => ({ path, outcome: answer.body.toString(), after: Date.now() - started }),
        (error: Error) => ({ path, outcome: error.name, after: Date.now() - started }),
      );

    // Act: the later deadline is asked for first, so the one timer must move earlier for the second call.
    const outcomes = await Promise.all([settled('/slow', 400), settled('/fast', 80), settled('/answered', 5000)]);

    // Assess
    expect(outcomes.map((o) => [o.path, o.outcome])).toEqual([
      ['/slow', 'ContainerTimeoutError'],
      ['/fast', 'ContainerTimeoutError'],
      ['/answered', 'in time'],
    ]);
    expect(outcomes[1]!.after).toBeGreaterThanOrEqual(75);
    expect(outcomes[1]!.after).toBeLessThan(300);
    expect(outcomes[0]!.after).toBeGreaterThanOrEqual(395);
  });

  it('fails with ContainerUnreachableError when the port refuses connections or the answer is not HTTP', async () => {
    // Prepare
    const closedPort = await freePort();
    const garbagePort = await netServer((socket) => socket.once('data', () => socket.end('SSH-2.0-OpenSSH_9.6\r\n\r\n')));
    const silentPort = await netServer((socket) => socket.once('data', () => socket.end()));

    // Act
    const refused = await client(closedPort).request('GET', '/ping', {}, undefined, 5000).catch((error: unknown) => error);
    const garbage = await client(garbagePort).request('GET', '/ping', {}, undefined, 5000).catch((error: unknown) => error);
    const silent = await client(silentPort).request('GET', '/ping', {}, undefined, 5000).catch((error: unknown) => error);

    // Assess
    for (const error of [refused, garbage, silent]) expect(error).toBeInstanceOf(ContainerUnreachableError);
    expect((refused as Error).message).toMatch(/^ep\/AllTraffic\/primary: .*ECONNREFUSED/);
    expect((garbage as Error).message).toBe('ep/AllTraffic/primary: answered with a malformed HTTP response: not an HTTP/1.x status line: "SSH-2.0-OpenSSH_9.6"');
    expect((silent as Error).message).toBe('ep/AllTraffic/primary: the connection was closed without an answer');
  });

  it('sends a request again on a new connection when a reused one turns out closed before any answer', async () => {
    // Prepare: the first connection answers once, then is dropped by the server as the second request arrives.
    const port = await netServer((socket, n) => {
      let requests = 0;
      socket.on('data', () => {
        requests += 1;
        if (n === 1 && requests === 2) return socket.destroy();
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nconnection${n}`);
      });
    });
    const http = client(port);

    // Act
    const first = await http.request('GET', '/ping', {}, undefined, 5000);
    const second = await http.request('GET', '/ping', {}, undefined, 5000);

    // Assess
    expect(first.body.toString()).toBe('connection1');
    expect(second.body.toString()).toBe('connection2');
  });

  it('drops a connection the container closed while idle, and one idle longer than idleMs', async () => {
    // Prepare
    const server = await httpServer((req, res) => res.end('ok'));
    const closing = await httpServer((req, res) => {
      res.setHeader('connection', 'close');
      res.end('bye');
    });
    const http = client(server.port, { idleMs: 30 });
    const once = client(closing.port);

    // Act
    await http.request('GET', '/a', {}, undefined, 5000);
    await new Promise((r) => setTimeout(r, 60));
    await http.request('GET', '/b', {}, undefined, 5000);
    await http.request('GET', '/c', {}, undefined, 5000);
    await once.request('GET', '/a', {}, undefined, 5000);
    await once.request('GET', '/b', {}, undefined, 5000);

    // Assess
    expect(server.connections()).toBe(2);
    expect(closing.connections()).toBe(2);
  });

  it('refuses a header or path that HTTP cannot carry, before anything is sent', async () => {
    // Prepare
    const server = await httpServer((req, res) => res.end('ok'));
    const http = client(server.port);

    // Act
    const errors = await Promise.all(
      [
        () => http.request('POST', '/invocations', { 'content-type': 'text/csv\r\nx-injected: 1' }, undefined, 1000),
        () => http.request('POST', '/invocations', { 'bad name': 'x' }, undefined, 1000),
        () => http.request('POST', '/models/a b/invoke', {}, undefined, 1000),
        () => http.request('GET', 'ping', {}, undefined, 1000),
      ].map((call) => call().then(
        () => new Error('sent'),
        (error: unknown) => error as Error,
      )),
    );

    // Assess
    for (const error of errors) expect(error).toBeInstanceOf(InvalidContainerRequestError);
    expect(errors.map((e) => e.message)).toEqual([
      'header content-type must not hold CR, LF or NUL',
      'header name "bad name" is not an HTTP token',
      'path "/models/a b/invoke" must start with / and hold no spaces or control characters',
      'path "ping" must start with / and hold no spaces or control characters',
    ]);
    expect(server.connections()).toBe(0);
  });
});

describe('Function: ContainerHttpClient.destroy', () => {
  it('fails requests in flight and refuses new ones as unreachable', async () => {
    // Prepare
    const server = await httpServer(() => undefined);
    const http = client(server.port);
    const inFlight = http.request('GET', '/slow', {}, undefined, 5000).catch((error: unknown) => error);
    await new Promise((r) => setTimeout(r, 50));

    // Act
    http.destroy();
    const after = await http.request('GET', '/ping', {}, undefined, 5000).catch((error: unknown) => error);

    // Assess
    expect(await inFlight).toBeInstanceOf(ContainerUnreachableError);
    expect(after).toBeInstanceOf(ContainerUnreachableError);
    expect((after as Error).message).toBe('ep/AllTraffic/primary: the client was closed');
  });
});
