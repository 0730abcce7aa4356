import type { Command } from 'commander';
import type { MultiModelDeps } from '../../multimodel/dependencies';
import { removeModel } from '../../multimodel/remove-model';
import type { CommandHost } from '../command';
import { parseEndpointAndModel } from '../inputs';
import { renderRemove } from '../output';
import { useCaseDeps } from '../use-case-deps';

export interface RemoveOutcome {
  endpoint: string;
  model: string;
  /** Live keys deleted by this run (none when it was already removed). */
  deletedKeys: string[];
  status?: 'active' | 'removed';
}

/** Removes a model from an endpoint: every live copy deleted, its versions and the model marked removed. */
export async function removeEndpointModel(
  deps: MultiModelDeps,
  request: { endpoint: string; model: string },
): Promise<RemoveOutcome> {
  const result = await removeModel(deps, request, 'removed with smhost models remove');
  return {
    endpoint: request.endpoint,
    model: request.model,
    deletedKeys: result.deletedKeys,
    ...(result.model ? { status: result.model.status } : {}),
  };
}

/** `smhost models remove <endpoint> <model>` */
export function registerRemoveCommand(models: Command, host: CommandHost): void {
  models
    .command('remove')
    .description('remove a model: delete its live copies and mark it removed in the registry')
    .argument('<endpoint>', 'multi-model endpoint name')
    .argument('<model>', 'model name')
    .action(
      host.run(async ({ context, output }, endpoint: string, model: string) => {
        const names = parseEndpointAndModel(endpoint, model);
        const result = await removeEndpointModel(await useCaseDeps(context()), names);
        output.result(result, renderRemove(result));
      }),
    );
}
