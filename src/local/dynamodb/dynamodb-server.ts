/**
 * DynamoDB for the local stack: dynalite, its LevelDB files in the data dir so tables and items survive a
 * restart, with the tables `serverless.yml` declares created at start. The edge hands requests straight to
 * dynalite's request handler (`handle`), so a DynamoDB call costs one HTTP exchange, not a second one
 * through a proxy; dynalite's own loopback port stays open for the stack's start-up client.
 */
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { CreateTableCommand, DescribeTableCommand, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createDynamoDocumentClient } from '../../aws/clients';
import { errorName } from '../../aws/errors';

export interface DynamoDbServer {
  /** `http://127.0.0.1:<port>`: dynalite's own port on loopback. */
  url: string;
  /** Serves one DynamoDB request received by another server (the edge); resolves once it is answered. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Creates the table unless it exists; returns true when it was created. */
  ensureTable(input: Record<string, unknown>): Promise<boolean>;
  close(): Promise<void>;
}

/** Starts dynalite; with `dataDir` its state is kept there, otherwise in memory. */
export async function startDynamoDb(options: { dataDir?: string; region: string }): Promise<DynamoDbServer> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const server: Server = dynalite({
    ...(options.dataDir ? { path: options.dataDir } : {}),
    // Tables become ACTIVE at once: the stack's start waits for nothing AWS would make it wait for.
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const listener = server.listeners('request')[0] as ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  if (!listener) throw new Error('dynalite returned a server without a request handler');
  const client = createDynamoDocumentClient({ endpoint: url, region: options.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  return {
    url,
    handle: (req, res) => serveWith(listener, req, res),
    async ensureTable(input) {
      const tableName = String(input.TableName);
      try {
        await client.send(new DescribeTableCommand({ TableName: tableName }));
        return false;
      } catch (error) {
        if (errorName(error) !== 'ResourceNotFoundException') throw error;
      }
      await client.send(new CreateTableCommand(input as unknown as CreateTableCommandInput));
      // dynalite answers CreateTable with CREATING and turns the table ACTIVE on a later tick (its LevelDB write);
      // until then every item call is ResourceNotFoundException. On a loaded machine that window is long enough
      // for the first registration to hit it, so the stack is not ready until the table is.
      await waitUntilActive(client, tableName);
      return true;
    },
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      });
    },
  };
}

async function waitUntilActive(client: ReturnType<typeof createDynamoDocumentClient>, tableName: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (Date.now() > deadline) throw new Error(`table ${tableName} is still ${Table?.TableStatus} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Runs dynalite's handler on a request another server received. Dynalite rethrows a request stream error
 * (a client that hangs up mid-body) from its listener, which would end the whole stack: that listener is
 * replaced by one that just drops the answer.
 */
function serveWith(listener: (req: IncomingMessage, res: ServerResponse) => void, req: IncomingMessage, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => resolve();
    res.once('finish', done);
    res.once('close', done);
    const before = new Set(req.listeners('error'));
    listener(req, res);
    for (const added of req.listeners('error')) if (!before.has(added)) req.off('error', added as (error: Error) => void);
    req.on('error', () => {
      if (!res.writableEnded) res.destroy();
      resolve();
    });
  });
}
