import { serveOnLoopback } from '../edge/loopback-server';
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
  const server = await serveOnLoopback((req, res) => service.handle(req, res), {
    ...(options.port !== undefined ? { port: options.port } : {}),
    beforeClose: () => service.close(),
  });
  return { url: server.url, port: server.port, service, close: () => server.close() };
}
