import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  DynamoRegistry,
  normalizeETag,
  RegistryConflictError,
  RegistryNotFoundError,
  type VersionRecord,
} from '../../src/multimodel/registry';
import { startLocalDynamo, type LocalDynamo } from '../support/local-aws';

let local: LocalDynamo;
let registry: DynamoRegistry;
let counter = 0;
const at = new Date('2026-01-01T00:00:00.000Z');

function versionRecord(endpoint: string, model: string, version: string, overrides: Partial<VersionRecord> = {}): VersionRecord {
  return {
    endpoint,
    model,
    version,
    status: 'verified',
    sha256: `${version}${'0'.repeat(48)}`,
    compressedBytes: 10,
    uncompressedBytes: 20,
    entryCount: 1,
    sourceKey: `incoming/${endpoint}/${model}.tar.gz`,
    sourceETag: 'etag',
    liveKey: `models/${endpoint}/${model}/${version}.tar.gz`,
    targetModel: `${model}/${version}.tar.gz`,
    createdAt: at.toISOString(),
    updatedAt: at.toISOString(),
    ...overrides,
  };
}

beforeAll(async () => {
  local = await startLocalDynamo();
  registry = new DynamoRegistry(local.dynamo, local.table);
});

afterAll(async () => {
  await local?.stop();
});

beforeEach(() => {
  counter += 1;
});

const ep = () => `ep-${counter}`;

describe('Function: normalizeETag', () => {
  it('strips quotes and weak markers', () => {
    expect(normalizeETag('"abc"')).toBe('abc');
    expect(normalizeETag('W/"abc-2"')).toBe('abc-2');
    expect(normalizeETag('abc')).toBe('abc');
  });
});

describe('Class: DynamoRegistry', () => {
  it('refuses to be built without a table name', () => {
    expect(() => new DynamoRegistry(local.dynamo, '')).toThrow(/tableName is required \(REGISTRY_TABLE\)/);
  });

  it('records endpoints once and lists them', async () => {
    // Act
    const first = await registry.ensureEndpoint(ep(), at);
    const again = await registry.ensureEndpoint(ep(), new Date('2030-01-01T00:00:00Z'));

    // Assess
    expect(again).toEqual(first);
    expect(await registry.listEndpoints()).toContainEqual({ endpoint: ep(), createdAt: at.toISOString() });
  });

  it('creates a version once; the second create returns the stored one', async () => {
    const record = versionRecord(ep(), 'a/b', '0123456789abcdef');
    expect(await registry.createVersion(record)).toEqual({ record, created: true });
    const second = await registry.createVersion({ ...record, sourceKey: 'other' });
    expect(second).toEqual({ record, created: false });
  });

  it('lists versions newest first and gets one', async () => {
    await registry.createVersion(versionRecord(ep(), 'm', '1111111111111111', { createdAt: '2026-01-01T00:00:00.000Z' }));
    await registry.createVersion(versionRecord(ep(), 'm', '2222222222222222', { createdAt: '2026-01-02T00:00:00.000Z' }));
    await registry.createVersion(versionRecord(ep(), 'm/sub', '3333333333333333'));
    expect((await registry.listVersions(ep(), 'm')).map((v) => v.version)).toEqual(['2222222222222222', '1111111111111111']);
    expect(await registry.getVersion(ep(), 'm', '1111111111111111')).toMatchObject({ version: '1111111111111111' });
    expect(await registry.getVersion(ep(), 'm', 'ffffffffffffffff')).toBeUndefined();
  });

  it('changes a version status with its reason, and clears the reason when none is given', async () => {
    await registry.createVersion(versionRecord(ep(), 'm', '1111111111111111', { status: 'pending' }));
    const failed = await registry.setVersionStatus(ep(), 'm', '1111111111111111', 'failed', 'ModelError', at);
    expect(failed).toMatchObject({ status: 'failed', reason: 'ModelError', updatedAt: at.toISOString() });
    const verified = await registry.setVersionStatus(ep(), 'm', '1111111111111111', 'verified');
    expect(verified.status).toBe('verified');
    expect(verified.reason).toBeUndefined();
    const removed = await registry.markVersionRemoved(ep(), 'm', '1111111111111111', 'deleted by hand');
    expect(removed).toMatchObject({ status: 'removed', reason: 'deleted by hand' });
  });

  it('refuses to change the status of a version that does not exist', async () => {
    await expect(registry.setVersionStatus(ep(), 'm', 'ffffffffffffffff', 'verified')).rejects.toBeInstanceOf(RegistryNotFoundError);
  });

  it('creates and updates a model with optimistic revisions', async () => {
    // Act
    const created = await registry.updateModel(ep(), 'm', (m) => ({
      endpoint: ep(),
      model: 'm',
      status: 'active',
      revision: m?.revision ?? 0,
      createdAt: at.toISOString(),
      updatedAt: at.toISOString(),
    }));
    const unchanged = await registry.updateModel(ep(), 'm', () => undefined);
    const updated = await registry.updateModel(ep(), 'm', (m) => (m ? { ...m, reason: 'r' } : undefined));

    // Assess
    expect(created?.revision).toBe(1);
    expect(unchanged?.revision).toBe(1);
    expect(updated).toMatchObject({ revision: 2, reason: 'r' });
    expect(await registry.getModel(ep(), 'm')).toEqual(updated);
  });

  it('loses no update when writers race on one model', async () => {
    // Prepare
    await registry.updateModel(ep(), 'm', () => ({ endpoint: ep(), model: 'm', status: 'active', revision: 0, reason: '0', createdAt: 'x', updatedAt: 'x' }));

    // Act: each writer increments a counter kept in `reason`, all at once.
    await Promise.all(
      Array.from({ length: 6 }, () => registry.updateModel(ep(), 'm', (m) => (m ? { ...m, reason: String(Number(m.reason) + 1) } : undefined))),
    );

    // Assess
    const stored = await registry.getModel(ep(), 'm');
    expect(stored).toMatchObject({ reason: '6', revision: 7 });
  });

  it('promotes only existing, servable versions', async () => {
    await registry.createVersion(versionRecord(ep(), 'm', '1111111111111111'));
    await registry.createVersion(versionRecord(ep(), 'm', '2222222222222222', { status: 'failed', reason: 'ModelError' }));
    const model = await registry.setCurrentVersion(ep(), 'm', '1111111111111111', 'promoted', at);
    expect(model).toMatchObject({ currentVersion: '1111111111111111', currentTargetModel: 'm/1111111111111111.tar.gz', status: 'active', reason: 'promoted' });
    await expect(registry.setCurrentVersion(ep(), 'm', 'ffffffffffffffff', 'x')).rejects.toBeInstanceOf(RegistryNotFoundError);
    await expect(registry.setCurrentVersion(ep(), 'm', '2222222222222222', 'x')).rejects.toThrow(/is failed \(ModelError\); only verified or unverified versions can be current/);
  });

  it('marks a model removed, clearing its current version, and lists models', async () => {
    await registry.createVersion(versionRecord(ep(), 'm', '1111111111111111'));
    await registry.setCurrentVersion(ep(), 'm', '1111111111111111', 'promoted');
    await registry.createVersion(versionRecord(ep(), 'n', '1111111111111111'));
    await registry.setCurrentVersion(ep(), 'n', '1111111111111111', 'promoted');
    const removed = await registry.markModelRemoved(ep(), 'm', 'removed by request', at);
    expect(removed).toMatchObject({ status: 'removed', reason: 'removed by request' });
    expect(removed?.currentVersion).toBeUndefined();
    expect(await registry.markModelRemoved(ep(), 'unknown', 'x')).toBeUndefined();
    expect((await registry.listModels(ep())).map((m) => [m.model, m.status, m.currentVersion])).toEqual([
      ['m', 'removed', undefined],
      ['n', 'active', '1111111111111111'],
    ]);
  });

  it('records upload outcomes, finds them by key and ETag, and lists refusals by endpoint', async () => {
    // Prepare
    const key = `incoming/${ep()}/my model.tar.gz`;
    await registry.recordUpload({ sourceKey: key, sourceETag: '"e1"', outcome: 'registered', endpoint: ep(), model: 'my model', version: '1111111111111111', recordedAt: at.toISOString() });
    await registry.recordUpload({ sourceKey: key, sourceETag: 'e2', outcome: 'rejected', endpoint: ep(), model: 'my model', rule: 'not-gzip', reason: 'archive rejected: not-gzip', recordedAt: at.toISOString() });

    // Act
    const registered = await registry.findUpload(key, 'e1');
    const rejected = await registry.findUpload(key, '"e2"');

    // Assess
    expect(registered).toMatchObject({ outcome: 'registered', sourceETag: 'e1', version: '1111111111111111' });
    expect(rejected).toMatchObject({ outcome: 'rejected', rule: 'not-gzip' });
    expect(await registry.findUpload(key, 'e3')).toBeUndefined();
    expect(await registry.listRejections(ep())).toEqual([expect.objectContaining({ sourceKey: key, rule: 'not-gzip' })]);
    // Rejections do not show up as models.
    expect(await registry.listModels(ep())).toEqual([]);
  });

  it('pages through long queries', async () => {
    for (let i = 0; i < 30; i += 1) {
      await registry.createVersion(
        versionRecord(ep(), 'big', i.toString(16).padStart(16, '0'), { sha256: 'a'.repeat(64), reason: 'x'.repeat(40_000) }),
      );
    }
    expect(await registry.listVersions(ep(), 'big')).toHaveLength(30);
  });
});

describe('Class: DynamoRegistry (mocked DynamoDB)', () => {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  const dynamoMock = mockClient(client);
  const mocked = new DynamoRegistry(client, 'table');
  const conditionFailed = () => Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });
  const model = { endpoint: 'ep', model: 'm', status: 'active' as const, revision: 3, createdAt: 'x', updatedAt: 'x' };

  beforeEach(() => dynamoMock.reset());

  it('retries a model update after a lost race, deciding again on the fresh read', async () => {
    // Prepare
    dynamoMock.on(GetCommand).resolvesOnce({ Item: { pk: 'p', sk: 's', ...model } }).resolves({ Item: { pk: 'p', sk: 's', ...model, revision: 4, reason: 'theirs' } });
    dynamoMock.on(PutCommand).rejectsOnce(conditionFailed()).resolves({});
    const seen: (string | undefined)[] = [];

    // Act
    const result = await mocked.updateModel('ep', 'm', (m) => {
      seen.push(m?.reason);
      return m ? { ...m, reason: `${m.reason ?? 'none'}+mine` } : undefined;
    });

    // Assess
    expect(seen).toEqual([undefined, 'theirs']);
    expect(result).toMatchObject({ revision: 5, reason: 'theirs+mine' });
    const conditions = dynamoMock.commandCalls(PutCommand).map((c) => c.args[0].input.ExpressionAttributeValues);
    expect(conditions).toEqual([{ ':revision': 3 }, { ':revision': 4 }]);
  });

  it('gives up after bounded contention with a conflict error naming the model', async () => {
    dynamoMock.on(GetCommand).resolves({ Item: { pk: 'p', sk: 's', ...model } });
    dynamoMock.on(PutCommand).rejects(conditionFailed());
    await expect(mocked.updateModel('ep', 'm', (m) => m)).rejects.toThrow(RegistryConflictError);
    await expect(mocked.updateModel('ep', 'm', (m) => m)).rejects.toThrow(/model "m" of endpoint "ep": gave up after 20 concurrent updates/);
  });

  it('passes other DynamoDB errors through (throttling stays retryable)', async () => {
    const throttled = Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } });
    dynamoMock.on(GetCommand).resolves({});
    dynamoMock.on(PutCommand).rejects(throttled);
    await expect(mocked.updateModel('ep', 'm', () => model)).rejects.toBe(throttled);
    await expect(mocked.createVersion(versionRecord('ep', 'm', '1111111111111111'))).rejects.toBe(throttled);
    await expect(mocked.ensureEndpoint('ep')).rejects.toBe(throttled);
  });

  it('records an endpoint with one write, and asks DynamoDB nothing for it again', async () => {
    // Prepare
    const fresh = new DynamoRegistry(client, 'table');
    dynamoMock.on(PutCommand).resolves({});

    // Act
    const first = await fresh.ensureEndpoint('ep', new Date('2026-01-01T00:00:00Z'));
    const again = await fresh.ensureEndpoint('ep', new Date('2030-01-01T00:00:00Z'));

    // Assess
    expect(again).toEqual(first);
    expect(first).toEqual({ endpoint: 'ep', createdAt: '2026-01-01T00:00:00.000Z' });
    expect(dynamoMock.calls()).toHaveLength(1);
  });

  it('remembers an endpoint another writer stored first as stored, after one read', async () => {
    // Prepare
    const fresh = new DynamoRegistry(client, 'table');
    dynamoMock.on(PutCommand).rejects(conditionFailed());
    dynamoMock.on(GetCommand).resolves({ Item: { pk: 'ENDPOINTS', sk: 'ep', kind: 'endpoint', endpoint: 'ep', createdAt: 'theirs' } });

    // Act
    const first = await fresh.ensureEndpoint('ep');
    const again = await fresh.ensureEndpoint('ep');

    // Assess
    expect(first).toEqual({ endpoint: 'ep', createdAt: 'theirs' });
    expect(again).toEqual(first);
    expect(dynamoMock.commandCalls(PutCommand)).toHaveLength(1);
    expect(dynamoMock.commandCalls(GetCommand)).toHaveLength(1);
  });

  it('does not remember an endpoint whose write failed', async () => {
    const fresh = new DynamoRegistry(client, 'table');
    const throttled = Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException', $metadata: { httpStatusCode: 400 } });
    dynamoMock.on(PutCommand).rejectsOnce(throttled).resolves({});
    await expect(fresh.ensureEndpoint('ep')).rejects.toBe(throttled);
    await fresh.ensureEndpoint('ep');
    expect(dynamoMock.commandCalls(PutCommand)).toHaveLength(2);
  });

  it('starts a model update from the caller\'s read, writing conditionally without reading', async () => {
    // Prepare
    dynamoMock.on(PutCommand).resolves({});

    // Act
    const result = await mocked.updateModel('ep', 'm', (m) => (m ? { ...m, reason: 'mine' } : undefined), { read: model });

    // Assess
    expect(result).toMatchObject({ revision: 4, reason: 'mine' });
    expect(dynamoMock.commandCalls(GetCommand)).toHaveLength(0);
    expect(dynamoMock.commandCalls(PutCommand)[0]?.args[0].input).toMatchObject({ ConditionExpression: '#revision = :revision', ExpressionAttributeValues: { ':revision': 3 } });
  });

  it('creates a model the caller read as absent only if it is still absent', async () => {
    dynamoMock.on(PutCommand).resolves({});
    const created = await mocked.updateModel('ep', 'm', () => ({ ...model, revision: 0 }), { read: undefined });
    expect(created).toMatchObject({ revision: 1 });
    expect(dynamoMock.commandCalls(PutCommand)[0]?.args[0].input.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(dynamoMock.commandCalls(GetCommand)).toHaveLength(0);
  });

  it('reads again and re-decides when the caller\'s read is stale', async () => {
    // Prepare
    dynamoMock.on(GetCommand).resolves({ Item: { pk: 'p', sk: 's', ...model, revision: 4, reason: 'theirs' } });
    dynamoMock.on(PutCommand).rejectsOnce(conditionFailed()).resolves({});
    const seen: (string | undefined)[] = [];

    // Act
    const result = await mocked.updateModel('ep', 'm', (m) => {
      seen.push(m?.reason);
      return m ? { ...m, reason: `${m.reason ?? 'none'}+mine` } : undefined;
    }, { read: model });

    // Assess
    expect(seen).toEqual([undefined, 'theirs']);
    expect(result).toMatchObject({ revision: 5, reason: 'theirs+mine' });
    expect(dynamoMock.commandCalls(PutCommand).map((c) => c.args[0].input.ExpressionAttributeValues)).toEqual([{ ':revision': 3 }, { ':revision': 4 }]);
  });

  it('returns the stored model, not the caller\'s read, when it decides to write nothing', async () => {
    dynamoMock.on(GetCommand).resolves({ Item: { pk: 'p', sk: 's', ...model, revision: 9, reason: 'stored' } });
    const result = await mocked.updateModel('ep', 'm', () => undefined, { read: model });
    expect(result).toMatchObject({ revision: 9, reason: 'stored' });
    expect(dynamoMock.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('reports a version that vanished between a failed create and the read', async () => {
    dynamoMock.on(PutCommand).rejects(conditionFailed());
    dynamoMock.on(GetCommand).resolves({});
    await expect(mocked.createVersion(versionRecord('ep', 'm', '1111111111111111'))).rejects.toThrow(/vanished while being created/);
  });
});
