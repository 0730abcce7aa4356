/** Removal of a model from an endpoint: every live copy deleted, the registry marked. */
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { silentLogger, type MultiModelDeps } from './dependencies';
import { ModelNotFoundError } from './errors';
import { parseLiveKey } from './layout';
import { assertModelRef, type ModelRef } from './model-ref';
import type { ModelRecord } from './registry';

export interface RemoveModelResult {
  /** Live keys this call deleted. */
  deletedKeys: string[];
  model?: ModelRecord;
}

/**
 * Deletes every live copy of a model (those the registry knows, and any stray version object under
 * its folder) and marks its versions and the model removed. Running it again deletes nothing more.
 *
 * @throws InvalidModelInputError for a malformed name, ModelNotFoundError when nothing of the model exists.
 */
export async function removeModel(deps: MultiModelDeps, ref: ModelRef, reason = 'removed by request'): Promise<RemoveModelResult> {
  assertModelRef(ref);
  const log = deps.logger ?? silentLogger;
  const now = deps.now ?? (() => new Date());
  const { endpoint, model } = ref;
  const { bucket, modelsPrefix } = deps.config;
  const existing = await deps.registry.getModel(endpoint, model);
  const versions = await deps.registry.listVersions(endpoint, model);
  const keys = new Set(versions.filter((v) => v.status !== 'removed').map((v) => v.liveKey));
  // The folder of `m` also holds the folders of `m/sub`: keep only version objects of this very model.
  const prefix = `${modelsPrefix}${endpoint}/${model}/`;
  let token: string | undefined;
  do {
    const page = await deps.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
    for (const object of page.Contents ?? []) {
      if (!object.Key) continue;
      const parsed = parseLiveKey(object.Key, modelsPrefix);
      if (parsed.ok && parsed.endpoint === endpoint && parsed.model === model) keys.add(object.Key);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (!existing && versions.length === 0 && keys.size === 0) throw new ModelNotFoundError(endpoint, model);

  const deletedKeys: string[] = [];
  for (const key of keys) {
    await deps.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    deletedKeys.push(key);
  }
  for (const version of versions) {
    if (version.status !== 'removed') await deps.registry.markVersionRemoved(endpoint, model, version.version, reason, now());
  }
  const stored = await deps.registry.markModelRemoved(endpoint, model, reason, now());
  log.info('model removed', { endpoint, model, deletedKeys });
  return { deletedKeys, ...(stored ? { model: stored } : {}) };
}
