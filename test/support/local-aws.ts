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
  /** Koa's middleware list, composed when the server starts listening. */
  middleware: ((ctx: { headers: Record<string, string | string[] | undefined> }, next: () => Promise<void>) => Promise<void>)[];
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

/**
 * S3 decodes `x-amz-copy-source` fully; s3rver uses `decodeURI`, which leaves `%2B`, `%2F`, `%3D` ...
 * encoded, so a copy of `a+b.tar.gz` (sent as `a%2Bb.tar.gz`, as S3 requires) finds no such key.
 * Re-encoding the header so that `decodeURI` yields what S3 would makes s3rver behave like S3 here.
 */
async function fullyDecodeCopySource(
  ctx: { headers: Record<string, string | string[] | undefined> },
  next: () => Promise<void>,
): Promise<void> {
  const header = ctx.headers['x-amz-copy-source'];
  if (typeof header === 'string') ctx.headers['x-amz-copy-source'] = encodeURI(decodeURIComponent(header));
  await next();
}

export interface LocalDynamo {
  dynamo: DynamoDBDocumentClient;
  table: string;
  endpoint: string;
  options: ClientOptions;
  stop(): Promise<void>;
}

export interface LocalS3 {
  s3: S3Client;
  bucket: string;
  endpoint: string;
  options: ClientOptions;
  stop(): Promise<void>;
}

/** Starts dynalite alone (in memory) with the registry table created. */
export async function startLocalDynamo(options: { table?: string } = {}): Promise<LocalDynamo> {
  const table = options.table ?? 'registry-test';
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  let dynamo: DynamoDBDocumentClient | undefined;
  const stop = async () => {
    dynamo?.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const clientOptions: ClientOptions = { region: 'us-east-1', endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 };
    dynamo = createDynamoDocumentClient(clientOptions);
    await createRegistryTable(endpoint, table);
    return { dynamo, table, endpoint, options: clientOptions, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Starts s3rver alone on a temporary directory with `bucket` created. */
export async function startLocalS3(options: { bucket?: string } = {}): Promise<LocalS3> {
  const bucket = options.bucket ?? 'artifacts-test';
  const directory = await mkdtemp(join(tmpdir(), 'local-s3-'));
  // Rewriting a signed header (below) invalidates the request's signature, hence allowMismatchedSignatures.
  const server = new S3rver({ port: 0, address: '127.0.0.1', directory, silent: true, allowMismatchedSignatures: true });
  server.middleware.unshift(fullyDecodeCopySource);
  let s3: S3Client | undefined;
  const stop = async () => {
    s3?.destroy();
    await server.close().catch(() => undefined);
    await rm(directory, { recursive: true, force: true });
  };
  try {
    const address = await server.run();
    const endpoint = `http://127.0.0.1:${address.port}`;
    const clientOptions: ClientOptions = { region: 'us-east-1', endpoint, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 };
    s3 = createS3Client(clientOptions);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    return { s3, bucket, endpoint, options: clientOptions, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Starts s3rver and dynalite, creates `bucket` and `table`, and returns clients for both. */
export async function startLocalAws(options: { bucket?: string; table?: string } = {}): Promise<LocalAws> {
  const [s3Result, dynamoResult] = await Promise.allSettled([startLocalS3(options), startLocalDynamo(options)]);
  if (s3Result.status === 'rejected' || dynamoResult.status === 'rejected') {
    if (s3Result.status === 'fulfilled') await s3Result.value.stop();
    if (dynamoResult.status === 'fulfilled') await dynamoResult.value.stop();
    throw s3Result.status === 'rejected' ? s3Result.reason : (dynamoResult as PromiseRejectedResult).reason;
  }
  const s3 = s3Result.value;
  const dynamo = dynamoResult.value;
  return {
    s3: s3.s3,
    dynamo: dynamo.dynamo,
    bucket: s3.bucket,
    table: dynamo.table,
    s3Endpoint: s3.endpoint,
    dynamoEndpoint: dynamo.endpoint,
    s3Options: s3.options,
    dynamoOptions: dynamo.options,
    stop: async () => {
      await Promise.allSettled([s3.stop(), dynamo.stop()]);
    },
  };
}
