import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRequestBody } from '../../../src/local/edge/edge-server';
import { serveOnLoopback, type LoopbackServer } from '../../../src/local/edge/loopback-server';
import { readBodyWithin } from '../../../src/local/edge/request-body';

let server: LoopbackServer;

beforeAll(async () => {
  // Answers what each reader made of the body: its length, or the refusal.
  server = await serveOnLoopback(async (req, res) => {
    if (req.url === '/strict') {
      const body = await readRequestBody(req, 10).catch((error: Error) => error.message);
      res.end(typeof body === 'string' ? body : `read ${body.length}`);
      return;
    }
    const body = await readBodyWithin(req, 10);
    res.statusCode = body ? 200 : 413;
    res.end(body ? `read ${body.length}` : 'too large');
  });
});

afterAll(async () => {
  await server?.close();
});

describe('Function: readBodyWithin', () => {
  it('gives the whole body up to the limit, and nothing for a longer one, which it still reads to the end', async () => {
    // Act
    const within = await fetch(server.url, { method: 'POST', body: '0123456789' });
    const over = await fetch(server.url, { method: 'POST', body: 'x'.repeat(1024 * 1024) });

    // Assess
    expect([within.status, await within.text()]).toEqual([200, 'read 10']);
    expect([over.status, await over.text()]).toEqual([413, 'too large']);
  });
});

describe('Function: readRequestBody', () => {
  it('refuses a body over its limit, naming the limit', async () => {
    // Act
    const answer = await (await fetch(`${server.url}/strict`, { method: 'POST', body: 'x'.repeat(11) })).text();

    // Assess
    expect(answer).toBe('request body over 10 bytes');
  });
});
