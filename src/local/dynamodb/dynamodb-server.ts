/**
 * DynamoDB for the local stack: dynalite on a loopback port, its LevelDB files in the data dir so tables
 * and items survive a restart, with the tables `serverless.yml` declares created at start.
 */
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { CreateTableCommand, DescribeTableCommand, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createDynamoDocumentClient } from '../../aws/clients';
import { errorName } from '../../aws/errors';

export interface DynamoDbServer {
  /** `http://127.0.0.1:<port>`: the edge forwards DynamoDB requests here. */
  url: string;
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
  const client = createDynamoDocumentClient({ endpoint: url, region: options.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  return {
    url,
    async ensureTable(input) {
      const tableName = String(input.TableName);
      try {
        await client.send(new DescribeTableCommand({ TableName: tableName }));
        return false;
      } catch (error) {
        if (errorName(error) !== 'ResourceNotFoundException') throw error;
      }
      await client.send(new CreateTableCommand(input as unknown as CreateTableCommandInput));
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
