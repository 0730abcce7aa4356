import type { Command } from 'commander';
import type { MultiModelDeps } from '../../multimodel/dependencies';
import { promoteVersion } from '../../multimodel/promote-version';
import type { WarmUpResult } from '../../multimodel/warm-up';
import type { CommandHost } from '../command';
import { parseEndpointAndModel, parseInput, versionSchema } from '../inputs';
import { renderPromote } from '../output';
import { useCaseDeps } from '../use-case-deps';

export interface PromoteOutcome {
  endpoint: string;
  model: string;
  previousVersion?: string;
  currentVersion: string;
  targetModel: string;
  /** The warm-up's result when `--warm-up` asked for one. */
  warmUp?: WarmUpResult;
}

/**
 * Makes a version current (a roll-back when it is older) through the library's promotion use case:
 * the version must be registered, servable and still have its live copy.
 */
export async function promoteModelVersion(
  deps: MultiModelDeps,
  request: { endpoint: string; model: string; version: string; warmUp?: boolean },
): Promise<PromoteOutcome> {
  const result = await promoteVersion(deps, request);
  return {
    endpoint: request.endpoint,
    model: request.model,
    ...(result.previousVersion ? { previousVersion: result.previousVersion } : {}),
    currentVersion: result.model.currentVersion ?? request.version,
    targetModel: result.model.currentTargetModel ?? '',
    ...(result.warmUp ? { warmUp: result.warmUp } : {}),
  };
}

/** `smhost models promote <endpoint> <model> <version> [--warm-up]` */
export function registerPromoteCommand(models: Command, host: CommandHost): void {
  models
    .command('promote')
    .description('make a registered version current (roll back or forward)')
    .argument('<endpoint>', 'multi-model endpoint name')
    .argument('<model>', 'model name')
    .argument('<version>', 'version to make current (16 hex digits, see "versions")')
    .option('--warm-up', 'invoke the version first and refuse to promote it on a ModelError')
    .action(
      host.run(async ({ context, output }, endpoint: string, model: string, version: string, opts: { warmUp?: boolean }) => {
        const names = parseEndpointAndModel(endpoint, model);
        const v = parseInput(versionSchema, version, 'version');
        const result = await promoteModelVersion(await useCaseDeps(context()), {
          ...names,
          version: v,
          warmUp: Boolean(opts.warmUp),
        });
        output.result(result, renderPromote(result));
      }),
    );
}
