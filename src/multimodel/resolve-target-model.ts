/** Resolution of a model name to the `TargetModel` of its current version (AWS has no aliases). */
import { ModelNotFoundError, NoCurrentVersionError } from './errors';
import { assertModelRef, type ModelRef } from './model-ref';
import type { ModelRecord, Registry } from './registry';

export interface ResolvedTarget {
  targetModel: string;
  version: string;
  model: ModelRecord;
}

/**
 * The `TargetModel` to invoke for `model` on `endpoint`.
 *
 * @throws InvalidModelInputError for a malformed name, ModelNotFoundError when the model is unknown
 *   or removed, NoCurrentVersionError (with the registry's reason) when no version can be served.
 */
export async function resolveTargetModel(registry: Registry, ref: ModelRef): Promise<ResolvedTarget> {
  assertModelRef(ref);
  const model = await registry.getModel(ref.endpoint, ref.model);
  if (!model) throw new ModelNotFoundError(ref.endpoint, ref.model);
  if (model.status === 'removed') throw new ModelNotFoundError(ref.endpoint, ref.model, model.reason ?? 'removed');
  if (!model.currentVersion || !model.currentTargetModel) throw new NoCurrentVersionError(ref.endpoint, ref.model, model.reason);
  return { targetModel: model.currentTargetModel, version: model.currentVersion, model };
}
