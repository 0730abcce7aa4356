import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSageMakerEmulator, type SageMakerEmulator, type SageMakerEmulatorOptions } from './emulator';

export interface SageMakerServer {
  /** `http://127.0.0.1:<port>`, the endpoint to give SageMaker clients. */
  url: string;
  port: number;
  emulator: SageMakerEmulator;
  /** Stops the HTTP server and every container process. */
  close(): Promise<void>;
}

/**
 * Serves the emulator alone on 127.0.0.1 (a free port unless `port` is given), for tests and for use without
 * the local stack's edge. Both SageMaker clients (control plane and runtime) take the same URL.
 */
export async function startSageMakerServer(options: SageMakerEmulatorOptions & { port?: number }): Promise<SageMakerServer> {
  const emulator = createSageMakerEmulator(options);
  const server = createServer((req, res) => void emulator.handle(req, res));
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    emulator,
    async close() {
      await emulator.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
