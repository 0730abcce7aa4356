/**
 * Reconciliation of a live copy deleted behind the registry's back (`ObjectRemoved:*` under
 * `models/`): the version is marked `removed`, and if it was current the model falls back to its
 * newest remaining servable version, or to none, with the reason recorded.
 */
import { silentLogger, type MultiModelDeps } from './dependencies';
import { decodeEventKey, parseLiveKey } from './layout';
import { objectExists } from './register-artifact';
import { SERVABLE_STATUSES, type ModelRecord } from './registry';
import type { ObjectNotification } from './s3-notifications';

export type RemovalOutcome =
  | { kind: 'ignored'; reason: string }
  /** The key exists again (re-registered since the deletion): the event is stale. */
  | { kind: 'stale'; key: string }
  | { kind: 'unknown-version'; key: string }
  | { kind: 'removed'; endpoint: string; model: string; version: string; fellBackTo?: string; wasCurrent: boolean };

/**
 * Makes `removedVersion` stop being current, falling back to the newest servable version whose live
 * copy still exists. Versions found without a live copy on the way are marked removed too.
 *
 * @returns the model as stored afterwards.
 */
export async function fallBackFrom(
  deps: Pick<MultiModelDeps, 's3' | 'registry' | 'config' | 'now'>,
  endpoint: string,
  model: string,
  removedVersion: string,
  why: string,
): Promise<ModelRecord | undefined> {
  const now = deps.now ?? (() => new Date());
  const candidates = (await deps.registry.listVersions(endpoint, model)).filter(
    (v) => v.version !== removedVersion && SERVABLE_STATUSES.includes(v.status),
  );
  let fallback: (typeof candidates)[number] | undefined;
  for (const candidate of candidates) {
    if (await objectExists(deps, deps.config.bucket, candidate.liveKey)) {
      fallback = candidate;
      break;
    }
    await deps.registry.markVersionRemoved(endpoint, model, candidate.version, `live copy "${candidate.liveKey}" is missing`, now());
  }
  return deps.registry.updateModel(endpoint, model, (m) => {
    if (!m || m.currentVersion !== removedVersion) return undefined;
    const at = now().toISOString();
    const { currentVersion: _v, currentTargetModel: _t, ...rest } = m;
    return fallback
      ? {
          ...rest,
          currentVersion: fallback.version,
          currentTargetModel: fallback.targetModel,
          reason: `fell back to version ${fallback.version}: ${why}`,
          updatedAt: at,
        }
      : { ...rest, reason: `no version left to serve: ${why}`, updatedAt: at };
  });
}

/**
 * Handles an `ObjectRemoved` notification for a live key.
 *
 * @throws failures of the services (transient or unexpected), for the queue to retry and finally dead-letter.
 */
export async function reconcileRemoval(deps: MultiModelDeps, notification: ObjectNotification): Promise<RemovalOutcome> {
  const log = deps.logger ?? silentLogger;
  const now = deps.now ?? (() => new Date());
  const decoded = decodeEventKey(notification.encodedKey);
  if (!decoded.ok) {
    log.warn('removal event ignored', { key: notification.encodedKey, reason: decoded.reason });
    return { kind: 'ignored', reason: decoded.reason };
  }
  const key = decoded.key;
  const parsed = parseLiveKey(key, deps.config.modelsPrefix);
  if (!parsed.ok) {
    log.warn('removal event ignored', { key, rule: parsed.rule, reason: parsed.reason });
    return { kind: 'ignored', reason: parsed.reason };
  }
  // Events arrive late and out of order: trust the bucket, not the event, about whether the copy is gone.
  if (await objectExists(deps, deps.config.bucket, key)) {
    log.info('removal event is stale: the live copy exists', { key });
    return { kind: 'stale', key };
  }
  const { endpoint, model, version } = parsed;
  const record = await deps.registry.getVersion(endpoint, model, version);
  if (!record) {
    log.warn('removal event for a version the registry does not know', { key });
    return { kind: 'unknown-version', key };
  }
  const why = `live copy "${key}" was deleted (${notification.eventName}${notification.eventTime ? ` at ${notification.eventTime}` : ''})`;
  if (record.status !== 'removed') await deps.registry.markVersionRemoved(endpoint, model, version, why, now());
  const before = await deps.registry.getModel(endpoint, model);
  const wasCurrent = before?.currentVersion === version;
  let fellBackTo: string | undefined;
  if (wasCurrent) {
    const after = await fallBackFrom(deps, endpoint, model, version, why);
    fellBackTo = after?.currentVersion;
  }
  const outcome: RemovalOutcome = { kind: 'removed', endpoint, model, version, wasCurrent, ...(fellBackTo ? { fellBackTo } : {}) };
  log.info('live copy removal reconciled', { ...outcome });
  return outcome;
}
