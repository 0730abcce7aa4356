import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import { ARTIFACT_SUFFIX, modelDataUrlOf } from '../../multimodel/layout';
import type { ModelRecord, Registry, VersionStatus } from '../../multimodel/registry';
import type { CommandHost } from '../command';
import { NotFoundError } from '../errors';
import { CLI_LAYOUT, endpointNameSchema, parseInput } from '../inputs';
import { renderList } from '../output';

export interface ListedModel {
  model: string;
  status: ModelRecord['status'];
  currentVersion?: string;
  /** What to pass as `TargetModel` to invoke the current version. */
  targetModel?: string;
  /** Status of the current version (`verified` or `unverified`). */
  currentStatus?: VersionStatus;
  /** Archives of this model under the endpoint's `ModelDataUrl`. */
  liveArchives: number;
  reason?: string;
}

export interface ListModelsResult {
  endpoint: string;
  /** The MME's `ModelDataUrl`: every path in `archives` is relative to it. */
  modelDataUrl: string;
  models: ListedModel[];
  /**
   * Every archive under the `ModelDataUrl`, relative to it, as `MultiDataModel.list_models()` yields
   * them: only `.tar.gz` keys, the prefix stripped from the start of the key only.
   */
  archives: string[];
}

export interface ListModelsDependencies {
  s3: S3Client;
  registry: Registry;
  bucket: string;
}

/** How many registry reads run at once when looking up current versions. */
const LOOKUP_CONCURRENCY = 8;

/**
 * The models of an endpoint with their current versions (from the registry), joined with the archives
 * actually present under the endpoint's `ModelDataUrl` (from S3). An endpoint neither knows is not found.
 */
export async function listEndpointModels(
  deps: ListModelsDependencies,
  endpoint: string,
  options: { includeRemoved?: boolean } = {},
): Promise<ListModelsResult> {
  const prefix = `${CLI_LAYOUT.modelsPrefix}${endpoint}/`;
  const [records, archives, endpoints] = await Promise.all([
    deps.registry.listModels(endpoint),
    listArchives(deps.s3, deps.bucket, prefix),
    deps.registry.listEndpoints(),
  ]);
  if (records.length === 0 && archives.length === 0 && !endpoints.some((e) => e.endpoint === endpoint)) {
    throw new NotFoundError(`endpoint "${endpoint}" has no models registered and none under s3://${deps.bucket}/${prefix}`, {
      endpoint,
    });
  }

  const archivesPerModel = new Map<string, number>();
  for (const archive of archives) {
    const model = archive.slice(0, Math.max(0, archive.lastIndexOf('/')));
    archivesPerModel.set(model, (archivesPerModel.get(model) ?? 0) + 1);
  }
  const shown = records.filter((r) => options.includeRemoved || r.status !== 'removed');
  const models = await mapConcurrently(shown, LOOKUP_CONCURRENCY, async (record): Promise<ListedModel> => {
    const current = record.currentVersion
      ? await deps.registry.getVersion(endpoint, record.model, record.currentVersion)
      : undefined;
    return {
      model: record.model,
      status: record.status,
      ...(record.currentVersion ? { currentVersion: record.currentVersion } : {}),
      ...(record.currentTargetModel ? { targetModel: record.currentTargetModel } : {}),
      ...(current ? { currentStatus: current.status } : {}),
      liveArchives: archivesPerModel.get(record.model) ?? 0,
      ...(record.reason ? { reason: record.reason } : {}),
    };
  });
  return {
    endpoint,
    modelDataUrl: modelDataUrlOf(deps.bucket, CLI_LAYOUT.modelsPrefix, endpoint),
    models,
    archives,
  };
}

/**
 * Keys under `prefix` ending in `.tar.gz`, relative to the prefix. Only the leading prefix is removed
 * (a model named `models/x` keeps its `models/`), unlike a string replace of every occurrence.
 */
export async function listArchives(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const archives: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
    );
    for (const object of page.Contents ?? []) {
      const key = object.Key;
      if (key && key.startsWith(prefix) && key.endsWith(ARTIFACT_SUFFIX)) archives.push(key.slice(prefix.length));
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return archives;
}

async function mapConcurrently<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** `smhost models list <endpoint> [--all] [--archives]` */
export function registerListCommand(models: Command, host: CommandHost): void {
  models
    .command('list')
    .description("list an endpoint's models with their current versions")
    .argument('<endpoint>', 'multi-model endpoint name')
    .option('--all', 'include removed models')
    .option('--archives', 'list every archive under the ModelDataUrl instead (as MultiDataModel.list_models)')
    .action(
      host.run(async ({ context, output }, endpoint: string, opts: { all?: boolean; archives?: boolean }) => {
        const name = parseInput(endpointNameSchema, endpoint, 'endpoint');
        const ctx = context();
        const result = await listEndpointModels(
          { s3: ctx.clients.s3, registry: ctx.registry, bucket: await ctx.bucket() },
          name,
          { includeRemoved: Boolean(opts.all) },
        );
        output.result(result, renderList(result, { archives: Boolean(opts.archives) }));
      }),
    );
}
