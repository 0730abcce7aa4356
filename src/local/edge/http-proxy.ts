/** Forwards a request, unchanged, to a server on loopback and streams its answer back. */
import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http';

/** A keep-alive agent for one backend, so the edge does not open a connection per request. */
export function backendAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 64 });
}

/** Proxies `req` to `target` (`http://127.0.0.1:<port>`), with `body` when the edge already read it. */
export function proxyRequest(req: IncomingMessage, res: ServerResponse, target: string, agent: Agent, body?: Buffer): Promise<void> {
  const url = new URL(req.url ?? '/', target);
  return new Promise((resolve) => {
    const upstream = request(
      url,
      { method: req.method, headers: { ...req.headers, ...(body ? { 'content-length': String(body.length) } : {}) }, agent },
      (answer: IncomingMessage) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', resolve);
        answer.on('error', () => {
          res.destroy();
          resolve();
        });
      },
    );
    upstream.on('error', (error) => {
      if (!res.headersSent) {
        const text = JSON.stringify({ __type: 'com.amazonaws.local#ServiceUnavailable', message: `the local backend at ${target} did not answer: ${error.message}` });
        res.writeHead(503, { 'Content-Type': 'application/x-amz-json-1.0', 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
      } else {
        res.destroy();
      }
      resolve();
    });
    if (body) upstream.end(body);
    else req.pipe(upstream);
  });
}
