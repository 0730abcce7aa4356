import { serveOnLoopback } from '../edge/loopback-server';
import { createSageMakerEmulator, type SageMakerEmulator, type SageMakerEmulatorOptions } from './emulator';

export interface SageMakerServer {
  /** `http://127.0.0.1:<port>`, the endpoint to give SageMaker clients. */
  url: string;
  port: number;
  emulator: SageMakerEmulator;
  /** Stops the HTTP server and every container process. */
  close(): Promise<void>;
}

/** Idle keep-alive connections from SDK clients stay open this long, so a burst of calls reuses them. */
const KEEP_ALIVE_TIMEOUT_MS = 30_000;

/**
 * Serves the emulator alone on 127.0.0.1 (a free port unless `port` is given), for tests and for use without
 * the local stack's edge. Both SageMaker clients (control plane and runtime) take the same URL.
 */
export async function startSageMakerServer(options: SageMakerEmulatorOptions & { port?: number }): Promise<SageMakerServer> {
  const emulator = createSageMakerEmulator(options);
  const server = await serveOnLoopback((req, res) => emulator.handle(req, res), {
    port: options.port,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    fastPath: { ...emulator.fastPath, idleTimeoutMs: KEEP_ALIVE_TIMEOUT_MS },
    beforeClose: () => emulator.close(),
  });
  return { url: server.url, port: server.port, emulator, close: () => server.close() };
}
