/**
 * Retention: keep the newest N versions of a model (plus the current one, whatever its age) and
 * delete the live copies of the others. The registry keeps their records, marked `removed`, so the
 * history of what was served stays readable.
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { silentLogger, type MultiModelDeps } from './dependencies';
import { InvalidModelInputError } from './errors';
import { assertModelRef } from './model-ref';

export interface RetentionResult {
  /** Versions still live, newest first. */
  kept: string[];
  /** Versions whose live copies this call deleted. */
  removed: string[];
}

/**
 * Deletes the live copies of all but the newest `keep` versions of a model, never the current one.
 *
 * @throws InvalidModelInputError when `keep` is not a whole number of at least 1, or a name is invalid.
 */
export async function applyRetention(
  deps: Pick<MultiModelDeps, 's3' | 'registry' | 'config' | 'logger' | 'now'>,
  endpoint: string,
  model: string,
  keep: number,
): Promise<RetentionResult> {
  assertModelRef({ endpoint, model });
  if (!Number.isSafeInteger(keep) || keep < 1) {
    throw new InvalidModelInputError('keep', `keep must be a whole number of at least 1, got ${keep}`);
  }
  const log = deps.logger ?? silentLogger;
  const now = deps.now ?? (() => new Date());
  const live = (await deps.registry.listVersions(endpoint, model)).filter((v) => v.status !== 'removed');
  const kept: string[] = [];
  const removed: string[] = [];
  for (const [index, version] of live.entries()) {
    if (index < keep) {
      kept.push(version.version);
      continue;
    }
    // Re-read just before deleting: a roll-back by upload may have made this version current meanwhile.
    const current = (await deps.registry.getModel(endpoint, model))?.currentVersion;
    if (current === version.version) {
      kept.push(version.version);
      continue;
    }
    await deps.s3.send(new DeleteObjectCommand({ Bucket: deps.config.bucket, Key: version.liveKey }));
    await deps.registry.markVersionRemoved(
      endpoint,
      model,
      version.version,
      `retention: only the newest ${keep} version(s) are kept`,
      now(),
    );
    removed.push(version.version);
  }
  if (removed.length > 0) log.info('retention applied', { endpoint, model, keep, kept, removed });
  return { kept, removed };
}
