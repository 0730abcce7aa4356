/**
 * One local service served alone on 127.0.0.1, outside the edge: for tests, and for use without the local
 * stack. The services stay plain request handlers; this is the listening and the stopping they share.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { SplitServer, type FastPath } from '../http1/split-server';

export interface LoopbackServer {
  /** `http://127.0.0.1:<port>`, the endpoint to give a client. */
  url: string;
  port: number;
  /** Stops the service (`beforeClose`), then the HTTP server, dropping idle keep-alive connections. */
  close(): Promise<void>;
}

export interface LoopbackServerOptions {
  /** The port to listen on; a free one when absent. */
  port?: number;
  /** Milliseconds an idle keep-alive connection stays open; Node's default when absent. */
  keepAliveTimeout?: number;
  /** Stops what the handler runs (executions, containers) before the server stops listening. */
  beforeClose?: () => Promise<void>;
  /** Requests answered on plain sockets instead of by `handle` (see `http1/split-server.ts`). */
  fastPath?: FastPath;
}

/**
 * Listens on 127.0.0.1 with `handle`, whose failures are its own to answer.
 *
 * @throws the listen error (such as `EADDRINUSE` for a taken `port`).
 */
export async function serveOnLoopback(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  options: LoopbackServerOptions = {},
): Promise<LoopbackServer> {
  const node = createServer((req, res) => void handle(req, res));
  if (options.keepAliveTimeout !== undefined) node.keepAliveTimeout = options.keepAliveTimeout;
  const server = new SplitServer(node, options.fastPath);
  const port = await server.listen(options.port ?? 0);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async close() {
      await options.beforeClose?.();
      await server.close();
    },
  };
}
