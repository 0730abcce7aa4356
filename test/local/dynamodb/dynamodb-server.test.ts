/**
 * DynamoDB served by dynalite's handler straight from another server (the edge), with no second HTTP hop:
 * the SDK's answers (CRC32 header included), conditional-write errors, and a client that hangs up in the
 * middle of its request body, which must cost that request only, not the stack.
 */
import { createServer, request, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDocumentClient } from '../../../src/aws/clients';
import { startDynamoDb, type DynamoDbServer } from '../../../src/local/dynamodb/dynamodb-server';

const TABLE = 'direct-table';

describe('Function: startDynamoDb', () => {
  let dataDir: string;
  let dynamo: DynamoDbServer;
  let front: Server;
  let frontUrl: string;
  let client: DynamoDBDocumentClient;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'dynamodb-direct-'));
    dynamo = await startDynamoDb({ dataDir, region: 'us-east-1' });
    await dynamo.ensureTable({
      TableName: TABLE,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    });
    // Stands in for the edge: a server of our own whose requests dynalite answers in place.
    front = createServer((req, res) => void dynamo.handle(req, res));
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', () => resolve()));
    frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
    client = createDynamoDocumentClient({ endpoint: frontUrl, region: 'us-east-1', credentials: { accessKeyId: 'direct', secretAccessKey: 'direct' } });
  });

  afterAll(async () => {
    client?.destroy();
    await new Promise<void>((resolve) => {
      front?.closeAllConnections();
      front?.close(() => resolve());
    });
    await dynamo?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers requests another server received, as dynalite on its own port would', async () => {
    // Act
    await client.send(new PutCommand({ TableName: TABLE, Item: { pk: 'a', value: 1 }, ConditionExpression: 'attribute_not_exists(pk)' }));
    const item = await client.send(new GetCommand({ TableName: TABLE, Key: { pk: 'a' }, ConsistentRead: true }));
    const refused = client.send(new PutCommand({ TableName: TABLE, Item: { pk: 'a', value: 2 }, ConditionExpression: 'attribute_not_exists(pk)' }));

    // Assess
    expect(item.Item).toEqual({ pk: 'a', value: 1 });
    await expect(refused).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });

  it('drops a request whose client hangs up mid-body, and keeps serving', async () => {
    // Prepare: a request that announces a body longer than what it sends, then goes away.
    const hungUp = new Promise<void>((resolve) => {
      const partial = request(`${frontUrl}/`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-amz-json-1.0',
          'X-Amz-Target': 'DynamoDB_20120810.GetItem',
          'Content-Length': '1000',
          Authorization: 'AWS4-HMAC-SHA256 Credential=K/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
        },
      });
      partial.on('error', () => resolve());
      partial.on('close', () => resolve());
      partial.write('{"TableName":"direct-table",', () => setTimeout(() => partial.destroy(), 20));
    });

    // Act
    await hungUp;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await client.send(new GetCommand({ TableName: TABLE, Key: { pk: 'a' }, ConsistentRead: true }));

    // Assess
    expect(after.Item).toEqual({ pk: 'a', value: 1 });
  });
});
