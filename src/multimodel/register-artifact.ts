/**
 * The registration use case: one `ObjectCreated` event for `incoming/<endpoint>/<model>.tar.gz`
 * becomes a content-addressed version under `models/`, warmed up and made current, or a recorded
 * refusal. Every step can run again after a crash or a duplicate delivery without registering
 * anything twice: the version item is created conditionally, the live copy is never overwritten, and
 * which version is current is decided against the newest event already applied to the model.
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { errorName, httpStatus, isTransientError } from '../aws/errors';
import { inspectArchive, isArchiveRejected, type ArchiveInspection } from '../artifacts';
import { silentLogger, type MultiModelDeps } from './dependencies';
import { decodeEventKey, liveKeyOf, parseIncomingKey, sampleKeyOf, targetModelOf } from './layout';
import { copyPinned, DestinationExistsError, SourceSupersededError } from './pinned-copy';
import { normalizeETag, type ModelRecord, type UploadOutcome, type VersionRecord } from './registry';
import { tagRejectedArtifact } from './rejection-tags';
import { applyRetention } from './retention';
import type { ObjectNotification } from './s3-notifications';
import { compareSequencers, versionFromSha256 } from './versions';
import { warmUp, type SampleLookup } from './warm-up';

/** InvokeEndpoint's limit on a request body. */
export const MAX_SAMPLE_BYTES = 6 * 1024 * 1024;

function isMissing(error: unknown): boolean {
  const name = errorName(error);
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatus(error) === 404;
}

function isPreconditionFailed(error: unknown): boolean {
  return httpStatus(error) === 412 || errorName(error) === 'PreconditionFailed';
}

/** True when the object exists; any answer but "not found" is an error for the caller. */
export async function objectExists(deps: Pick<MultiModelDeps, 's3'>, bucket: string, key: string): Promise<boolean> {
  try {
    await deps.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
}

/** Reads `<model>.sample.json` beside the artifact; says why there is none when it cannot be used. */
export async function readSamplePayload(
  deps: Pick<MultiModelDeps, 's3'>,
  bucket: string,
  key: string,
): Promise<SampleLookup> {
  try {
    const head = await deps.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    if ((head.ContentLength ?? 0) > MAX_SAMPLE_BYTES) {
      return { reason: `sample payload "${key}" is ${head.ContentLength} bytes, over InvokeEndpoint's ${MAX_SAMPLE_BYTES}` };
    }
    const object = await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = await object.Body?.transformToByteArray();
    if (!body || body.length === 0) return { reason: `sample payload "${key}" is empty` };
    return { sample: { body, contentType: 'application/json', source: key } };
  } catch (error) {
    if (isMissing(error)) return { reason: `no sample payload "${key}"` };
    throw error;
  }
}

async function inspectOnce(deps: MultiModelDeps, body: Readable): Promise<ArchiveInspection> {
  try {
    return await inspectArchive(body, deps.config.archiveLimits);
  } finally {
    // A refusal stops reading early: release the connection instead of leaving the rest unread.
    if (!body.readableEnded) body.destroy();
  }
}

/**
 * Registers the artifact an `ObjectCreated` notification announced, and returns (and records) what
 * became of it. Keys that are not artifact keys are ignored with their reason.
 *
 * @throws failures of the services (transient ones, see `isTransientError`, and unexpected ones such as
 *   `AccessDenied`) for the queue to retry and finally dead-letter; every verdict on the artifact is returned.
 */
export async function registerArtifact(deps: MultiModelDeps, notification: ObjectNotification): Promise<UploadOutcome | undefined> {
  const log = deps.logger ?? silentLogger;
  const now = deps.now ?? (() => new Date());
  const { config, registry, s3 } = deps;
  const eventETag = notification.eTag ? normalizeETag(notification.eTag) : undefined;
  const sequencer = notification.sequencer;
  const base = { ...(sequencer ? { sequencer } : {}) };

  if (notification.bucket !== config.bucket) {
    log.warn('event ignored: not the artifacts bucket', { bucket: notification.bucket, expected: config.bucket });
    return undefined;
  }
  const decoded = decodeEventKey(notification.encodedKey);
  if (!decoded.ok) {
    log.warn('event ignored', { key: notification.encodedKey, rule: decoded.rule, reason: decoded.reason });
    return undefined;
  }
  const key = decoded.key;
  const parsed = parseIncomingKey(key, config);
  if (!parsed.ok) {
    log.warn('event ignored', { key, rule: parsed.rule, reason: parsed.reason });
    // Only drops are recorded, so `models add` can learn why its upload went nowhere.
    if (!eventETag || !key.startsWith(config.incomingPrefix)) return undefined;
    const ignored: UploadOutcome = {
      ...base,
      sourceKey: key,
      sourceETag: eventETag,
      outcome: 'ignored',
      rule: parsed.rule,
      reason: parsed.reason,
      recordedAt: now().toISOString(),
    };
    await registry.recordUpload(ignored);
    await tagRefusal(deps, { key, status: 'ignored', rule: parsed.rule, reason: parsed.reason });
    return ignored;
  }
  const { endpoint, model } = parsed;
  const named = { ...base, sourceKey: key, endpoint, model };
  await registry.ensureEndpoint(endpoint, now());

  const superseded = async (sourceETag: string, reason: string): Promise<UploadOutcome> => {
    const outcome: UploadOutcome = { ...named, sourceETag, outcome: 'superseded', reason, recordedAt: now().toISOString() };
    log.info('upload superseded', { ...outcome });
    await registry.recordUpload(outcome);
    return outcome;
  };

  // Read the artifact once, pinned to the announced object, checking and hashing as it streams.
  let body: Readable;
  let sourceETag: string;
  try {
    const object = await s3.send(
      new GetObjectCommand({ Bucket: config.bucket, Key: key, ...(eventETag ? { IfMatch: `"${eventETag}"` } : {}) }),
    );
    body = object.Body as Readable;
    sourceETag = normalizeETag(object.ETag ?? eventETag ?? '');
    if (!body || !sourceETag) throw new Error(`GetObject "${key}" returned no body or no ETag`);
  } catch (error) {
    if (isPreconditionFailed(error) || isMissing(error)) {
      return superseded(eventETag ?? '', `"${key}" was replaced or deleted before it could be read`);
    }
    throw error;
  }
  if (eventETag && sourceETag !== eventETag) {
    // A store that ignores If-Match (s3rver does) answered with the newer object: refuse it all the same.
    body.destroy();
    return superseded(eventETag, `"${key}" was replaced before it could be read (ETag ${sourceETag}, not ${eventETag})`);
  }
  let inspection: ArchiveInspection;
  try {
    inspection = await inspectOnce(deps, body);
  } catch (error) {
    if (!isArchiveRejected(error)) throw error;
    return reject(deps, { ...named, sourceETag }, error.rule, error.message);
  }

  const version = versionFromSha256(inspection.sha256);
  const targetModel = targetModelOf(model, version);
  const liveKey = liveKeyOf(config.modelsPrefix, endpoint, model, version);
  const versionFields = { ...named, version, targetModel };

  // Never overwrite a version: content-addressed, so an existing live copy already holds these bytes.
  if (!(await objectExists(deps, config.bucket, liveKey))) {
    try {
      await copyPinned(
        s3,
        {
          bucket: config.bucket,
          sourceKey: key,
          eTag: sourceETag,
          sizeBytes: inspection.compressedBytes,
          destinationKey: liveKey,
          metadata: { sha256: inspection.sha256, 'source-etag': sourceETag },
          failIfExists: true,
        },
        config.copy,
      );
    } catch (error) {
      if (error instanceof SourceSupersededError) {
        return superseded(sourceETag, `"${key}" was replaced after it was checked; the newer upload has its own event`);
      }
      // A concurrent delivery copied the same content first: the version is there, which is all we need.
      if (!(error instanceof DestinationExistsError)) throw error;
      log.info('live copy written concurrently', { key: liveKey });
    }
  }

  const stamp = now().toISOString();
  const { record: stored, created } = await registry.createVersion({
    endpoint,
    model,
    version,
    status: 'pending',
    sha256: inspection.sha256,
    compressedBytes: inspection.compressedBytes,
    uncompressedBytes: inspection.uncompressedBytes,
    entryCount: inspection.entryCount,
    sourceKey: key,
    sourceETag,
    ...(sequencer ? { sourceSequencer: sequencer } : {}),
    liveKey,
    targetModel,
    createdAt: stamp,
    updatedAt: stamp,
  });
  let versionRecord: VersionRecord = stored;
  const finish = async (outcome: UploadOutcome): Promise<UploadOutcome> => {
    await registry.recordUpload(outcome);
    log.info('upload processed', { ...outcome });
    if (config.retainVersions !== undefined) {
      await applyRetention(deps, endpoint, model, config.retainVersions).catch((error: unknown) => {
        if (isTransientError(error)) throw error;
        log.warn('retention failed; registration stands', { endpoint, model, error: String(error) });
      });
    }
    return outcome;
  };
  const registered = (current: boolean, record: VersionRecord, reason?: string): UploadOutcome => {
    const why = reason ?? record.reason;
    return {
      ...versionFields,
      sourceETag,
      outcome: record.status === 'failed' ? 'failed' : 'registered',
      current,
      versionStatus: record.status,
      ...(why ? { reason: why } : {}),
      recordedAt: now().toISOString(),
    };
  };

  const existingModel = await registry.getModel(endpoint, model);
  // Model writes below start from this read; each is conditional on its revision, so a concurrent change
  // is still caught, and only then is the model read again.
  const fromRead = { read: existingModel };
  const order = sequencer && existingModel?.lastSequencer ? compareSequencers(sequencer, existingModel.lastSequencer) : 1;
  const isCurrent = (m: ModelRecord | undefined) => m?.status === 'active' && m.currentVersion === version;

  if (order < 0) {
    // An older event arriving late: its content is a version, but it must not displace what a newer upload made current.
    const reason = `registered from an event older than the last applied upload of "${key}"; not made current`;
    if (versionRecord.status === 'pending' || versionRecord.status === 'removed') {
      versionRecord = await registry.setVersionStatus(endpoint, model, version, 'unverified', reason, now());
    }
    return finish(registered(isCurrent(existingModel), versionRecord, reason));
  }
  if (order === 0 && versionRecord.status !== 'pending' && versionRecord.status !== 'removed') {
    // This very event was applied before (a duplicate delivery): report what it led to, change nothing.
    return finish(registered(isCurrent(existingModel), versionRecord));
  }
  if (isCurrent(existingModel) && versionRecord.status !== 'pending' && versionRecord.status !== 'removed') {
    // Same content as the current version, uploaded again: only remember that this newer event was seen.
    const updated = await registry.updateModel(
      endpoint,
      model,
      (m) =>
        m && (!sequencer || !m.lastSequencer || compareSequencers(sequencer, m.lastSequencer) > 0)
          ? { ...m, ...(sequencer ? { lastSequencer: sequencer } : {}), updatedAt: now().toISOString() }
          : undefined,
      fromRead,
    );
    return finish(registered(isCurrent(updated), versionRecord));
  }

  const result = await warmUp(
    {
      sagemaker: deps.sagemaker,
      sagemakerRuntime: deps.sagemakerRuntime,
      settings: config.warmUp,
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
    },
    {
      endpoint,
      targetModel,
      loadSample: () => readSamplePayload(deps, config.bucket, sampleKeyOf(config.incomingPrefix, endpoint, model)),
    },
  );
  log.info('warm-up finished', { endpoint, targetModel, result });

  const newer = (m: ModelRecord | undefined) =>
    !sequencer || !m?.lastSequencer || compareSequencers(sequencer, m.lastSequencer) >= 0;
  const modelBase = (m: ModelRecord | undefined, at: string): ModelRecord => ({
    endpoint,
    model,
    status: 'active',
    revision: m?.revision ?? 0,
    createdAt: m?.createdAt ?? at,
    updatedAt: at,
  });

  if (result.kind === 'model-error') {
    versionRecord = await registry.setVersionStatus(endpoint, model, version, 'failed', result.reason, now());
    await registry.updateModel(endpoint, model, (m) => {
      if (!newer(m)) return undefined;
      const at = now().toISOString();
      const kept = m?.currentVersion ? `kept version ${m.currentVersion}` : 'no version is current';
      return {
        ...(m ?? modelBase(m, at)),
        ...(sequencer ? { lastSequencer: sequencer } : {}),
        reason: `version ${version} from "${key}" failed its warm-up (${result.reason}); ${kept}`,
        updatedAt: at,
      };
    }, fromRead);
    return finish(registered(false, versionRecord, result.reason));
  }

  const status = result.kind === 'verified' ? 'verified' : 'unverified';
  versionRecord = await registry.setVersionStatus(
    endpoint,
    model,
    version,
    status,
    result.kind === 'unverified' ? result.reason : undefined,
    now(),
  );
  const why = created
    ? `new version ${version} from "${key}"`
    : `version ${version} made current again by a new upload of the same content to "${key}"`;
  const updated = await registry.updateModel(endpoint, model, (m) => {
    if (!newer(m)) return undefined;
    const at = now().toISOString();
    return {
      ...modelBase(m, at),
      ...(m?.lastSequencer ? { lastSequencer: m.lastSequencer } : {}),
      ...(sequencer ? { lastSequencer: sequencer } : {}),
      currentVersion: version,
      currentTargetModel: targetModel,
      reason: result.kind === 'unverified' ? `${why} (unverified: ${result.reason})` : why,
    };
  }, fromRead);
  return finish(registered(isCurrent(updated), versionRecord));
}

async function reject(
  deps: MultiModelDeps,
  upload: { sourceKey: string; sourceETag: string; endpoint: string; model: string; sequencer?: string },
  rule: string,
  reason: string,
): Promise<UploadOutcome> {
  const log = deps.logger ?? silentLogger;
  const now = deps.now ?? (() => new Date());
  await tagRefusal(deps, { key: upload.sourceKey, status: 'rejected', rule, reason });
  const outcome: UploadOutcome = { ...upload, outcome: 'rejected', rule, reason, recordedAt: now().toISOString() };
  await deps.registry.recordUpload(outcome);
  log.warn('artifact rejected', { ...outcome });
  return outcome;
}

/** Tags a refused or ignored upload where it lies; only a transient failure to tag is worth a retry. */
async function tagRefusal(
  deps: MultiModelDeps,
  refusal: { key: string; status: 'rejected' | 'ignored'; rule: string; reason: string },
): Promise<void> {
  try {
    await tagRejectedArtifact(deps.s3, { bucket: deps.config.bucket, ...refusal });
  } catch (error) {
    if (isTransientError(error)) throw error;
    // The verdict is recorded in the registry either way; a missing tag must not turn into a retry loop
    // (and an object deleted since its event has nothing left to tag).
    (deps.logger ?? silentLogger).warn('could not tag the refused artifact', { key: refusal.key, error: String(error) });
  }
}
