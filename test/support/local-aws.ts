/**
 * Real local S3 (s3rver) and DynamoDB (dynalite) servers for integration tests, started in this
 * process on free ports of 127.0.0.1, with the artifacts bucket and the registry table (same key
 * schema as `serverless.yml`: `pk` hash + `sk` range, strings) created, and SDK clients built by
 * `src/aws/clients.ts` pointed at them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDynamoDocumentClient, createS3Client, type ClientOptions } from '../../src/aws/clients';

// Neither package ships types; these are the few members used here.
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;
type DynaliteFactory = (options: Record<string, unknown>) => Server;

const require = createRequire(import.meta.url);
const S3rver = require('s3rver') as S3rverConstructor;
const dynalite = require('dynalite') as DynaliteFactory;

export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface LocalAws {
  s3: S3Client;
  dynamo: DynamoDBDocumentClient;
  bucket: string;
  table: string;
  s3Endpoint: string;
  dynamoEndpoint: string;
  /** Options for building more clients against the same servers. */
  s3Options: ClientOptions;
  dynamoOptions: ClientOptions;
  /** Stops both servers, destroys the clients and deletes the temporary directory. */
  stop(): Promise<void>;
}

async function createRegistryTable(endpoint: string, table: string): Promise<void> {
  const client = new DynamoDBClient({ region: 'us-east-1', endpoint, credentials: LOCAL_CREDENTIALS });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const described = await client.send(new DescribeTableCommand({ TableName: table }));
      if (described.Table?.TableStatus === 'ACTIVE') return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`table ${table} did not become ACTIVE`);
  } finally {
    client.destroy();
  }
}

/** Starts s3rver and dynalite, creates `bucket` and `table`, and returns clients for both. */
export async function startLocalAws(options: { bucket?: string; table?: string } = {}): Promise<LocalAws> {
  const bucket = options.bucket ?? 'artifacts-test';
  const table = options.table ?? 'registry-test';
  const directory = await mkdtemp(join(tmpdir(), 'local-aws-'));
  const s3rver = new S3rver({ port: 0, address: '127.0.0.1', directory, silent: true });
  const dynamoServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  let started = false;
  const clients: { destroy(): void }[] = [];
  const stopServers = async () => {
    for (const client of clients) client.destroy();
    await Promise.allSettled([
      s3rver.close(),
      new Promise<void>((resolve) => dynamoServer.close(() => resolve())),
    ]);
    await rm(directory, { recursive: true, force: true });
  };
  try {
    const s3Address = await s3rver.run();
    await new Promise<void>((resolve, reject) => {
      dynamoServer.once('error', reject);
      dynamoServer.listen(0, '127.0.0.1', () => resolve());
    });
    const dynamoAddress = dynamoServer.address() as AddressInfo;
    const s3Endpoint = `http://127.0.0.1:${s3Address.port}`;
    const dynamoEndpoint = `http://127.0.0.1:${dynamoAddress.port}`;
    const s3Options: ClientOptions = { region: 'us-east-1', endpoint: s3Endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 };
    const dynamoOptions: ClientOptions = { region: 'us-east-1', endpoint: dynamoEndpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 };
    const s3 = createS3Client(s3Options);
    const dynamo = createDynamoDocumentClient(dynamoOptions);
    clients.push(s3, dynamo);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await createRegistryTable(dynamoEndpoint, table);
    started = true;
    return { s3, dynamo, bucket, table, s3Endpoint, dynamoEndpoint, s3Options, dynamoOptions, stop: stopServers };
  } finally {
    if (!started) await stopServers();
  }
}
