import { describe, expect, it } from 'vitest';
import { serveOnLoopback } from '../../../src/local/edge/loopback-server';

describe('Function: serveOnLoopback', () => {
  it('serves the handler on a free port of 127.0.0.1, and stops the service before the server on close', async () => {
    // Prepare
    const order: string[] = [];
    const server = await serveOnLoopback(
      async (req, res) => {
        res.end(`${req.method} ${req.url}`);
      },
      { beforeClose: async () => void order.push('service stopped') },
    );

    // Act
    const answer = await (await fetch(`${server.url}/ping`)).text();
    await server.close().then(() => order.push('server stopped'));

    // Assess
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
    expect(answer).toBe('GET /ping');
    expect(order).toEqual(['service stopped', 'server stopped']);
    await expect(fetch(`${server.url}/ping`)).rejects.toThrow();
  });

  it('refuses a port that is taken, with the listen error', async () => {
    // Prepare
    const first = await serveOnLoopback(async (_req, res) => void res.end());

    try {
      // Act
      const second = serveOnLoopback(async (_req, res) => void res.end(), { port: first.port });

      // Assess
      await expect(second).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await first.close();
    }
  });
});
