import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createStepFunctionsService, type StepFunctionsService, type StepFunctionsServiceOptions } from './stepfunctions-service';

export interface StepFunctionsServer {
  /** `http://127.0.0.1:<port>`, the endpoint to give `SFNClient` or `aws stepfunctions --endpoint-url`. */
  url: string;
  port: number;
  service: StepFunctionsService;
  /** Stops the executions in flight and the HTTP server. */
  close(): Promise<void>;
}

/**
 * Serves the local Step Functions alone on 127.0.0.1 (a free port unless `port` is given), for tests and for
 * use without the local stack's edge.
 */
export async function startStepFunctionsServer(options: StepFunctionsServiceOptions & { port?: number } = {}): Promise<StepFunctionsServer> {
  const service = createStepFunctionsService(options);
  const server = createServer((req, res) => void service.handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    service,
    async close() {
      await service.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
