import type { Command } from 'commander';
import type { MultiModelDeps } from '../../multimodel/dependencies';
import { applyRetention } from '../../multimodel/retention';
import type { CommandHost } from '../command';
import { parseEndpointAndModel, parseInput, positiveIntegerSchema } from '../inputs';
import { renderPrune } from '../output';
import { useCaseDeps } from '../use-case-deps';
import { unknownModel } from './versions';

export interface PruneResult {
  endpoint: string;
  model: string;
  keep: number;
  /** Versions still live, newest first (the current one always among them). */
  kept: string[];
  /** Versions whose live copies were deleted (their registry records stay, marked removed). */
  removed: string[];
}

/** Keeps the newest `keep` versions of a model (and the current one) and deletes the others' live copies. */
export async function pruneVersions(
  deps: Pick<MultiModelDeps, 's3' | 'registry' | 'config'>,
  endpoint: string,
  model: string,
  keep: number,
): Promise<PruneResult> {
  if (!(await deps.registry.getModel(endpoint, model))) throw unknownModel(endpoint, model);
  const { kept, removed } = await applyRetention(deps, endpoint, model, keep);
  return { endpoint, model, keep, kept, removed };
}

/** `smhost models prune <endpoint> <model> --keep N` */
export function registerPruneCommand(models: Command, host: CommandHost): void {
  models
    .command('prune')
    .description('keep the newest N versions of a model (and the current one), delete older live copies')
    .argument('<endpoint>', 'multi-model endpoint name')
    .argument('<model>', 'model name')
    .requiredOption('--keep <n>', 'how many of the newest versions to keep (at least 1)')
    .action(
      host.run(async ({ context, output }, endpoint: string, model: string, opts: { keep: string }) => {
        const names = parseEndpointAndModel(endpoint, model);
        const keep = parseInput(positiveIntegerSchema, opts.keep, '--keep');
        const result = await pruneVersions(await useCaseDeps(context()), names.endpoint, names.model, keep);
        output.result(result, renderPrune(result));
      }),
    );
}
