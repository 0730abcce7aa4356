/**
 * One port served by two servers: the requests a router takes are answered on plain sockets
 * (`socket-server.ts`), everything else by a Node `http.Server`, unchanged.
 *
 * Why: the runtime's `InvokeEndpoint` is the one request of the local stack whose cost users measure per
 * call, and Node's `http` machinery (parser, request and response objects, streams) costs more than the
 * emulator's own work on it. Every connection starts on the socket server, which reads each request's head
 * and asks the router; the first request it does not take (or cannot read) is handed, with every byte from
 * its start and the connection itself, to the Node server, which then owns the connection for good. SDK
 * clients keep separate connections per client, so a runtime client's connections stay on the fast path
 * and every other client's are handed over on their first request.
 */
import type { Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { RequestRouter } from './request-parser';
import { Http1Connections, type Http1Handler, type Http1Limits } from './socket-server';

/** The requests served on plain sockets, and how much they may carry. */
export interface FastPath extends Http1Limits {
  route: RequestRouter<Http1Handler>;
}

/** A listening {@link SplitServer}. */
export class SplitServer {
  private readonly server: Server;
  private readonly fast: Http1Connections | undefined;

  /** Without a fast path every connection goes to `node` at once. */
  constructor(
    private readonly node: HttpServer,
    fastPath?: FastPath,
  ) {
    this.fast = fastPath && new Http1Connections({ lane: { route: fastPath.route, divert: (socket, bytes, ended) => this.handOver(socket, bytes, ended) } }, fastPath);
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => (this.fast ? this.fast.accept(socket) : this.handOver(socket)));
  }

  /**
   * Listens on `host` (default 127.0.0.1) at `port` (0: a free one) and resolves with the port.
   *
   * @throws the listen error as Node gives it (`code` `EADDRINUSE` for a taken port).
   */
  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        // The Node server never listens itself; told it does, it tracks the connections it is given, so its
        // header and request timeouts and closeAllConnections work on them.
        this.node.emit('listening');
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops listening and closes every connection, whichever server has it. */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.fast?.close();
    this.node.closeAllConnections();
    // Stops its timeout checks; it reports that it was not listening, which is so.
    this.node.close(() => undefined);
    return closed;
  }

  /** The Node server takes over `socket`, reading `bytes` first as if they had just arrived. */
  private handOver(socket: Socket, bytes?: Buffer, ended = false): void {
    this.node.emit('connection', socket);
    // Node's server now listens for the socket's data (or reads its handle directly); what was read before
    // is given to its listener the same way, before anything newer can arrive.
    if (bytes && bytes.length > 0) socket.emit('data', bytes);
    if (ended) socket.emit('end');
  }
}
