/** The edge's route to dynalite: requests forwarded as they came, over kept-alive loopback connections. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { backendAgent, proxyRequest } from '../edge/http-proxy';

export interface DynamoDbProxy {
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  close(): void;
}

export function createDynamoDbProxy(target: string): DynamoDbProxy {
  const agent = backendAgent();
  return {
    handle: (req, res) => proxyRequest(req, res, target, agent),
    close: () => agent.destroy(),
  };
}
