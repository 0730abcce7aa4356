import type { Command } from 'commander';
import type { ModelRecord, Registry, VersionRecord } from '../../multimodel/registry';
import type { CommandHost } from '../command';
import { NotFoundError } from '../errors';
import { parseEndpointAndModel } from '../inputs';
import { renderVersions } from '../output';

export interface ModelVersionsResult {
  endpoint: string;
  model: string;
  status: ModelRecord['status'];
  currentVersion?: string;
  /** Newest first. */
  versions: (VersionRecord & { current: boolean })[];
}

/** Every version of a model, newest first, with the current one marked; unknown models are not found. */
export async function listModelVersions(registry: Registry, endpoint: string, model: string): Promise<ModelVersionsResult> {
  const [record, versions] = await Promise.all([
    registry.getModel(endpoint, model),
    registry.listVersions(endpoint, model),
  ]);
  if (!record && versions.length === 0) throw unknownModel(endpoint, model);
  return {
    endpoint,
    model,
    status: record?.status ?? 'active',
    ...(record?.currentVersion ? { currentVersion: record.currentVersion } : {}),
    versions: versions.map((v) => ({ ...v, current: v.version === record?.currentVersion })),
  };
}

/** The error for a model the registry does not know, naming both names. */
export function unknownModel(endpoint: string, model: string): NotFoundError {
  return new NotFoundError(
    `model "${model}" is not registered on endpoint "${endpoint}" (see "smhost models list ${endpoint}")`,
    { endpoint, model },
  );
}

/** `smhost models versions <endpoint> <model>` */
export function registerVersionsCommand(models: Command, host: CommandHost): void {
  models
    .command('versions')
    .description('list every version of a model, newest first, the current one marked')
    .argument('<endpoint>', 'multi-model endpoint name')
    .argument('<model>', 'model name')
    .action(
      host.run(async ({ context, output }, endpoint: string, model: string) => {
        const names = parseEndpointAndModel(endpoint, model);
        const result = await listModelVersions(context().registry, names.endpoint, names.model);
        output.result(result, renderVersions(result));
      }),
    );
}
