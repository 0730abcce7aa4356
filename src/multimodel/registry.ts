/**
 * The registry of multi-model endpoints: which models each endpoint has, every version of each model,
 * which version is current, and the outcome of every upload the registration function saw.
 *
 * `Registry` is the port; `DynamoRegistry` is its adapter over one DynamoDB table with a `pk` (S) hash
 * key and an `sk` (S) range key and no index. Every write is a single-item conditional write (no
 * transactions), so the same code runs on DynamoDB and on dynalite.
 *
 * Item layout (endpoint names match the SageMaker name pattern, so they never contain `#`):
 *
 * | item | pk | sk |
 * |---|---|---|
 * | endpoint | `ENDPOINTS` | `<endpoint>` |
 * | model | `ENDPOINT#<endpoint>` | `MODEL#<model>` |
 * | refused upload (listing) | `ENDPOINT#<endpoint>` | `REJECTION#<model>#ETAG#<etag>` |
 * | version | `MODEL#<endpoint>#<model>` | `VERSION#<version>` |
 * | upload outcome | `UPLOAD#<source key>` | `ETAG#<etag>` |
 */
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { hasErrorName } from '../aws/errors';

/**
 * Lifecycle of a version:
 * - `pending`: copied to its live key, warm-up not finished (a crash here is retried by the queue);
 * - `verified`: the endpoint served it during warm-up;
 * - `unverified`: registered without a warm-up (endpoint absent or not in service), see `reason`;
 * - `failed`: the warm-up answered a `ModelError`; never made current, see `reason`;
 * - `removed`: its live copy is gone (deleted by hand, by `remove`, or by retention), see `reason`.
 */
export type VersionStatus = 'pending' | 'verified' | 'unverified' | 'failed' | 'removed';

/** Statuses a version can be served from (and so be current, or be fallen back to). */
export const SERVABLE_STATUSES: readonly VersionStatus[] = ['verified', 'unverified'];

export interface EndpointRecord {
  endpoint: string;
  createdAt: string;
}

export interface ModelRecord {
  endpoint: string;
  model: string;
  /** The version `TargetModel` resolves to; absent when no version is servable. */
  currentVersion?: string;
  /** `<model>/<version>.tar.gz` of the current version. */
  currentTargetModel?: string;
  /** `active`, or `removed` once the model was removed with every live copy. */
  status: 'active' | 'removed';
  /**
   * Sequencer (as sent by S3, see `compareSequencers`) of the newest upload event applied to this
   * model; events older than this never change which version is current.
   */
  lastSequencer?: string;
  /** Why the current version last changed (or why there is none). */
  reason?: string;
  /** Optimistic-concurrency counter: every write is conditional on the revision it read. */
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export interface VersionRecord {
  endpoint: string;
  model: string;
  /** First 16 hex digits of the archive's SHA-256. */
  version: string;
  status: VersionStatus;
  /** SHA-256 (hex) of the compressed archive. */
  sha256: string;
  compressedBytes: number;
  uncompressedBytes: number;
  entryCount: number;
  /** Key of the object in `incoming/` this version was first registered from. */
  sourceKey: string;
  sourceETag: string;
  sourceSequencer?: string;
  /** `models/<endpoint>/<model>/<version>.tar.gz` */
  liveKey: string;
  /** `<model>/<version>.tar.gz` */
  targetModel: string;
  /** Why the version is `unverified`, `failed` or `removed`. */
  reason?: string;
  createdAt: string;
  updatedAt: string;
}

/** What became of one upload (one object key at one ETag). */
export type UploadOutcomeKind =
  /** Registered: a new version, or an existing one seen again. */
  | 'registered'
  /** The archive (or its key) was refused: `rule` and `reason` say why. */
  | 'rejected'
  /** Registered as a version, but its warm-up answered a `ModelError`: not current, `reason` says why. */
  | 'failed'
  /** The object had been replaced before it could be copied; the newer object has its own event. */
  | 'superseded'
  /** The key is not an artifact key (`reason` says which rule it breaks); nothing was read. */
  | 'ignored';

export interface UploadOutcome {
  sourceKey: string;
  /** ETag without quotes. */
  sourceETag: string;
  outcome: UploadOutcomeKind;
  endpoint?: string;
  model?: string;
  version?: string;
  targetModel?: string;
  /** Whether this upload's version was current right after it was processed. */
  current?: boolean;
  /** The version's status right after it was processed. */
  versionStatus?: VersionStatus;
  /** Machine-readable rule for `rejected` and `ignored` (e.g. `parent-traversal`, `not-gzip`, `bad-key`). */
  rule?: string;
  reason?: string;
  sequencer?: string;
  recordedAt: string;
}

/** A refused upload as listed under its endpoint. */
export type RejectionRecord = UploadOutcome & { endpoint: string; model: string; rule: string; reason: string };

/** The change a `updateModel` mutator asks for: the next record, or `undefined` to write nothing. */
export type ModelMutator = (current: ModelRecord | undefined) => ModelRecord | undefined;

/** How `updateModel` may start. */
export interface UpdateModelOptions {
  /** The model as the caller last read it (`undefined`: it did not exist then). */
  read: ModelRecord | undefined;
}

/** The registry port. Implementations must make each method safe to call again with the same arguments. */
export interface Registry {
  /** Records that an endpoint exists (first call wins; later calls change nothing). */
  ensureEndpoint(endpoint: string, now?: Date): Promise<EndpointRecord>;
  listEndpoints(): Promise<EndpointRecord[]>;

  getModel(endpoint: string, model: string): Promise<ModelRecord | undefined>;
  /** Every model of an endpoint (removed ones included, marked), ordered by name. */
  listModels(endpoint: string): Promise<ModelRecord[]>;
  /**
   * Read-modify-write of one model item with optimistic concurrency: reads, calls `mutate`, writes
   * conditionally on the revision read, and starts again if another writer got there first.
   * Returns the record as stored afterwards (unchanged when `mutate` returned `undefined`).
   * `options.read` is a record the caller has just read: the first attempt starts from it instead of
   * reading again (the write is still conditional on its revision, so a stale one only costs a retry).
   */
  updateModel(endpoint: string, model: string, mutate: ModelMutator, options?: UpdateModelOptions): Promise<ModelRecord | undefined>;
  /** Makes `version` current (a promotion or roll-back); the version must exist and be servable. */
  setCurrentVersion(endpoint: string, model: string, version: string, reason: string, now?: Date): Promise<ModelRecord>;

  getVersion(endpoint: string, model: string, version: string): Promise<VersionRecord | undefined>;
  /** Every version of a model, newest first (by `createdAt`). */
  listVersions(endpoint: string, model: string): Promise<VersionRecord[]>;
  /**
   * Creates a version item unless one exists. Returns the stored record and whether this call made it:
   * versions are content-addressed, so an existing item is the same content seen before.
   */
  createVersion(record: VersionRecord): Promise<{ record: VersionRecord; created: boolean }>;
  /** Changes a version's status (and reason); fails with `RegistryNotFoundError` if it does not exist. */
  setVersionStatus(
    endpoint: string,
    model: string,
    version: string,
    status: VersionStatus,
    reason?: string,
    now?: Date,
  ): Promise<VersionRecord>;
  /** Marks a version `removed` with the reason. */
  markVersionRemoved(endpoint: string, model: string, version: string, reason: string, now?: Date): Promise<VersionRecord>;
  /** Marks a model `removed`: no current version, the reason recorded. */
  markModelRemoved(endpoint: string, model: string, reason: string, now?: Date): Promise<ModelRecord | undefined>;

  /** Stores the outcome of an upload (and, for refusals, lists it under its endpoint). */
  recordUpload(outcome: UploadOutcome): Promise<void>;
  /** The outcome of the upload of `sourceKey` at `etag` (quotes optional), if it was processed. */
  findUpload(sourceKey: string, etag: string): Promise<UploadOutcome | undefined>;
  /** Refused uploads of an endpoint. */
  listRejections(endpoint: string): Promise<RejectionRecord[]>;
}

/** A record the caller expected is missing. */
export class RegistryNotFoundError extends Error {
  override readonly name = 'RegistryNotFoundError';
  constructor(message: string) {
    super(message);
  }
}

/** A change the registry refuses (for example promoting a version that is removed). */
export class RegistryConflictError extends Error {
  override readonly name = 'RegistryConflictError';
  constructor(message: string) {
    super(message);
  }
}

/** Strips the quotes S3 puts around ETags in responses (events carry them bare). */
export function normalizeETag(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/^"+|"+$/g, '');
}

const ENDPOINTS_PK = 'ENDPOINTS';
const endpointPk = (endpoint: string) => `ENDPOINT#${endpoint}`;
const modelSk = (model: string) => `MODEL#${model}`;
const versionPk = (endpoint: string, model: string) => `MODEL#${endpoint}#${model}`;
const versionSk = (version: string) => `VERSION#${version}`;
const uploadPk = (sourceKey: string) => `UPLOAD#${sourceKey}`;
const uploadSk = (etag: string) => `ETAG#${normalizeETag(etag)}`;
const rejectionSk = (model: string, etag: string) => `REJECTION#${model}#ETAG#${normalizeETag(etag)}`;

/** Bounds the memory of endpoints known to exist; a forgotten one only costs a conditional write again. */
const MAX_KNOWN_ENDPOINTS = 1_000;

/** Bounds the read-modify-write loop: contention on one model is a handful of writers at most. */
const MAX_MODEL_UPDATE_ATTEMPTS = 20;

function strip<T>(item: Record<string, unknown> | undefined): T | undefined {
  if (!item) return undefined;
  const { pk: _pk, sk: _sk, kind: _kind, ...rest } = item;
  return rest as T;
}

/** DynamoDB adapter of the registry (see the module comment for the item layout). */
export class DynamoRegistry implements Registry {
  /** Endpoint items known to be stored, by name (see `ensureEndpoint`). */
  private readonly knownEndpoints = new Map<string, EndpointRecord>();

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {
    if (!tableName) throw new TypeError('DynamoRegistry: tableName is required (REGISTRY_TABLE)');
  }

  async ensureEndpoint(endpoint: string, now: Date = new Date()): Promise<EndpointRecord> {
    // Endpoint items are written once and never changed or deleted, so one this instance has seen stored
    // stays as it was: a burst of drops for one endpoint costs one write, not a failed write and a read each.
    const known = this.knownEndpoints.get(endpoint);
    if (known) return { ...known };
    const record: EndpointRecord = { endpoint, createdAt: now.toISOString() };
    let stored = record;
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: ENDPOINTS_PK, sk: endpoint, kind: 'endpoint', ...record },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!hasErrorName(error, 'ConditionalCheckFailedException')) throw error;
      const existing = await this.get<EndpointRecord>(ENDPOINTS_PK, endpoint);
      if (!existing) return record;
      stored = existing;
    }
    this.rememberEndpoint(stored);
    return stored;
  }

  private rememberEndpoint(record: EndpointRecord): void {
    if (this.knownEndpoints.size >= MAX_KNOWN_ENDPOINTS) this.knownEndpoints.delete(this.knownEndpoints.keys().next().value!);
    this.knownEndpoints.set(record.endpoint, { ...record });
  }

  async listEndpoints(): Promise<EndpointRecord[]> {
    return this.queryAll<EndpointRecord>({ pk: ENDPOINTS_PK });
  }

  async getModel(endpoint: string, model: string): Promise<ModelRecord | undefined> {
    return this.get<ModelRecord>(endpointPk(endpoint), modelSk(model));
  }

  async listModels(endpoint: string): Promise<ModelRecord[]> {
    return this.queryAll<ModelRecord>({ pk: endpointPk(endpoint), skPrefix: 'MODEL#' });
  }

  async updateModel(endpoint: string, model: string, mutate: ModelMutator, options?: UpdateModelOptions): Promise<ModelRecord | undefined> {
    if (options) {
      // Only a write may start from the caller's read: deciding to write nothing needs the stored record.
      const next = mutate(options.read);
      const stored = next ? await this.putModel(endpoint, model, options.read, next) : undefined;
      if (stored) return stored;
    }
    for (let attempt = 0; attempt < MAX_MODEL_UPDATE_ATTEMPTS; attempt += 1) {
      const current = await this.getModel(endpoint, model);
      const next = mutate(current);
      if (!next) return current;
      const stored = await this.putModel(endpoint, model, current, next);
      if (stored) return stored;
      // Another writer changed the model between our read and write: read again and re-decide.
    }
    throw new RegistryConflictError(
      `model "${model}" of endpoint "${endpoint}": gave up after ${MAX_MODEL_UPDATE_ATTEMPTS} concurrent updates`,
    );
  }

  /** Writes `next` if the item is still at `current`'s revision; `undefined` when another writer got there first. */
  private async putModel(endpoint: string, model: string, current: ModelRecord | undefined, next: ModelRecord): Promise<ModelRecord | undefined> {
    const revision = (current?.revision ?? 0) + 1;
    const item = { ...next, endpoint, model, revision };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: endpointPk(endpoint), sk: modelSk(model), kind: 'model', ...item },
          ...(current
            ? {
                ConditionExpression: '#revision = :revision',
                ExpressionAttributeNames: { '#revision': 'revision' },
                ExpressionAttributeValues: { ':revision': current.revision },
              }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }),
      );
      return item;
    } catch (error) {
      if (!hasErrorName(error, 'ConditionalCheckFailedException')) throw error;
      return undefined;
    }
  }

  async setCurrentVersion(
    endpoint: string,
    model: string,
    version: string,
    reason: string,
    now: Date = new Date(),
  ): Promise<ModelRecord> {
    const record = await this.getVersion(endpoint, model, version);
    if (!record) {
      throw new RegistryNotFoundError(`version "${version}" of model "${model}" on endpoint "${endpoint}" does not exist`);
    }
    if (!SERVABLE_STATUSES.includes(record.status)) {
      throw new RegistryConflictError(
        `version "${version}" of model "${model}" on endpoint "${endpoint}" is ${record.status}` +
          `${record.reason ? ` (${record.reason})` : ''}; only ${SERVABLE_STATUSES.join(' or ')} versions can be current`,
      );
    }
    const stamp = now.toISOString();
    const stored = await this.updateModel(endpoint, model, (current) => ({
      endpoint,
      model,
      status: 'active',
      currentVersion: version,
      currentTargetModel: record.targetModel,
      ...(current?.lastSequencer ? { lastSequencer: current.lastSequencer } : {}),
      reason,
      revision: current?.revision ?? 0,
      createdAt: current?.createdAt ?? stamp,
      updatedAt: stamp,
    }));
    return stored as ModelRecord;
  }

  async getVersion(endpoint: string, model: string, version: string): Promise<VersionRecord | undefined> {
    return this.get<VersionRecord>(versionPk(endpoint, model), versionSk(version));
  }

  async listVersions(endpoint: string, model: string): Promise<VersionRecord[]> {
    const versions = await this.queryAll<VersionRecord>({ pk: versionPk(endpoint, model), skPrefix: 'VERSION#' });
    return versions.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.version.localeCompare(b.version));
  }

  async createVersion(record: VersionRecord): Promise<{ record: VersionRecord; created: boolean }> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: versionPk(record.endpoint, record.model), sk: versionSk(record.version), kind: 'version', ...record },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { record, created: true };
    } catch (error) {
      if (!hasErrorName(error, 'ConditionalCheckFailedException')) throw error;
      const existing = await this.getVersion(record.endpoint, record.model, record.version);
      if (!existing) throw new RegistryConflictError(`version "${record.version}" vanished while being created`);
      return { record: existing, created: false };
    }
  }

  async setVersionStatus(
    endpoint: string,
    model: string,
    version: string,
    status: VersionStatus,
    reason?: string,
    now: Date = new Date(),
  ): Promise<VersionRecord> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: versionPk(endpoint, model), sk: versionSk(version) },
          ConditionExpression: 'attribute_exists(pk)',
          UpdateExpression:
            reason === undefined
              ? 'SET #status = :status, updatedAt = :now REMOVE reason'
              : 'SET #status = :status, updatedAt = :now, reason = :reason',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':status': status,
            ':now': now.toISOString(),
            ...(reason === undefined ? {} : { ':reason': reason }),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return strip<VersionRecord>(result.Attributes) as VersionRecord;
    } catch (error) {
      if (hasErrorName(error, 'ConditionalCheckFailedException')) {
        throw new RegistryNotFoundError(`version "${version}" of model "${model}" on endpoint "${endpoint}" does not exist`);
      }
      throw error;
    }
  }

  async markVersionRemoved(
    endpoint: string,
    model: string,
    version: string,
    reason: string,
    now: Date = new Date(),
  ): Promise<VersionRecord> {
    return this.setVersionStatus(endpoint, model, version, 'removed', reason, now);
  }

  async markModelRemoved(endpoint: string, model: string, reason: string, now: Date = new Date()): Promise<ModelRecord | undefined> {
    const stamp = now.toISOString();
    return this.updateModel(endpoint, model, (current) => {
      if (!current) return undefined;
      const { currentVersion: _v, currentTargetModel: _t, ...rest } = current;
      return { ...rest, status: 'removed', reason, updatedAt: stamp };
    });
  }

  async recordUpload(outcome: UploadOutcome): Promise<void> {
    const item = { ...outcome, sourceETag: normalizeETag(outcome.sourceETag) };
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: uploadPk(outcome.sourceKey), sk: uploadSk(outcome.sourceETag), kind: 'upload', ...item },
      }),
    );
    if (outcome.outcome === 'rejected' && outcome.endpoint && outcome.model) {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: endpointPk(outcome.endpoint), sk: rejectionSk(outcome.model, outcome.sourceETag), kind: 'rejection', ...item },
        }),
      );
    }
  }

  async findUpload(sourceKey: string, etag: string): Promise<UploadOutcome | undefined> {
    return this.get<UploadOutcome>(uploadPk(sourceKey), uploadSk(etag));
  }

  async listRejections(endpoint: string): Promise<RejectionRecord[]> {
    const rejections = await this.queryAll<RejectionRecord>({ pk: endpointPk(endpoint), skPrefix: 'REJECTION#' });
    return rejections.sort((a, b) => b.recordedAt.localeCompare(a.recordedAt));
  }

  private async get<T>(pk: string, sk: string): Promise<T | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk, sk }, ConsistentRead: true }),
    );
    return strip<T>(result.Item);
  }

  private async queryAll<T>(query: { pk: string; skPrefix?: string }): Promise<T[]> {
    const items: T[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const input: QueryCommandInput = {
        TableName: this.tableName,
        KeyConditionExpression: query.skPrefix ? 'pk = :pk AND begins_with(sk, :prefix)' : 'pk = :pk',
        ExpressionAttributeValues: { ':pk': query.pk, ...(query.skPrefix ? { ':prefix': query.skPrefix } : {}) },
        ConsistentRead: true,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      };
      const page = await this.client.send(new QueryCommand(input));
      for (const item of page.Items ?? []) items.push(strip<T>(item) as T);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }
}
