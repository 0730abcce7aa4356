/** Promotion (and roll-back): make a chosen registered version the one `TargetModel` resolves to. */
import { silentLogger, type MultiModelDeps } from './dependencies';
import { WarmUpFailedError } from './errors';
import { assertModelRef, assertVersion, type ModelRef } from './model-ref';
import { objectExists, readSamplePayload } from './register-artifact';
import { RegistryConflictError, RegistryNotFoundError, SERVABLE_STATUSES, type ModelRecord } from './registry';
import { sampleKeyOf } from './layout';
import { warmUp, type WarmUpResult } from './warm-up';

export interface PromoteRequest extends ModelRef {
  version: string;
  /** Warm the version up first (DESIGN.md §6) and refuse to promote it on a `ModelError`. */
  warmUp?: boolean;
}

export interface PromoteResult {
  model: ModelRecord;
  previousVersion?: string;
  warmUp?: WarmUpResult;
}

/**
 * Makes `version` current. The version must be registered, servable (`verified` or `unverified`)
 * and still have its live copy.
 *
 * @throws InvalidModelInputError for a malformed name, RegistryNotFoundError for an unknown version,
 *   RegistryConflictError when it cannot be served, WarmUpFailedError when the asked-for warm-up failed.
 */
export async function promoteVersion(deps: MultiModelDeps, request: PromoteRequest): Promise<PromoteResult> {
  assertModelRef(request);
  assertVersion(request.version);
  const log = deps.logger ?? silentLogger;
  const now = deps.now ?? (() => new Date());
  const { endpoint, model, version } = request;
  const record = await deps.registry.getVersion(endpoint, model, version);
  if (!record) {
    throw new RegistryNotFoundError(`version "${version}" of model "${model}" on endpoint "${endpoint}" is not registered`);
  }
  if (!SERVABLE_STATUSES.includes(record.status)) {
    throw new RegistryConflictError(
      `version "${version}" of model "${model}" is ${record.status}${record.reason ? ` (${record.reason})` : ''} and cannot be made current`,
    );
  }
  if (!(await objectExists(deps, deps.config.bucket, record.liveKey))) {
    await deps.registry.markVersionRemoved(endpoint, model, version, `live copy "${record.liveKey}" is missing`, now());
    throw new RegistryConflictError(`version "${version}" of model "${model}" has no live copy ("${record.liveKey}" is missing)`);
  }
  let warmUpResult: WarmUpResult | undefined;
  if (request.warmUp) {
    const sample = await readSamplePayload(deps, deps.config.bucket, sampleKeyOf(deps.config.incomingPrefix, endpoint, model));
    warmUpResult = await warmUp(
      {
        sagemaker: deps.sagemaker,
        sagemakerRuntime: deps.sagemakerRuntime,
        settings: deps.config.warmUp,
        ...(deps.sleep ? { sleep: deps.sleep } : {}),
      },
      { endpoint, targetModel: record.targetModel, ...(sample.sample ? { sample: sample.sample } : { noSampleReason: sample.reason }) },
    );
    if (warmUpResult.kind === 'model-error') throw new WarmUpFailedError(record.targetModel, warmUpResult.reason);
  }
  const previousVersion = (await deps.registry.getModel(endpoint, model))?.currentVersion;
  const stored = await deps.registry.setCurrentVersion(
    endpoint,
    model,
    version,
    previousVersion && previousVersion !== version ? `promoted by request (was ${previousVersion})` : 'promoted by request',
    now(),
  );
  log.info('version promoted', { endpoint, model, version, previousVersion });
  return {
    model: stored,
    ...(previousVersion ? { previousVersion } : {}),
    ...(warmUpResult ? { warmUp: warmUpResult } : {}),
  };
}
