import { createServer } from 'node:net';

/**
 * A port on 127.0.0.1 that was free a moment ago. The container contract hands the port to the process
 * (`SAGEMAKER_BIND_TO_PORT`), so the emulator has to choose it; a lost race shows up as a container that
 * exits with EADDRINUSE, which the start-up check reports.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
