import type { Command } from 'commander';
import type { CommandHost } from '../command';
import { registerAddCommand } from './add';
import { registerInvokeCommand } from './invoke';
import { registerListCommand } from './list';
import { registerPromoteCommand } from './promote';
import { registerPruneCommand } from './prune';
import { registerRedriveCommand } from './redrive';
import { registerRemoveCommand } from './remove';
import { registerVersionsCommand } from './versions';

/** `smhost models <verb>`: the SageMaker SDK's MultiDataModel verbs over the drop zone and the registry. */
export function registerModelsCommands(program: Command, host: CommandHost): void {
  const models = program
    .command('models')
    .description("manage a multi-model endpoint's models (MultiDataModel: add_model, list_models, predict)");
  registerAddCommand(models, host);
  registerListCommand(models, host);
  registerVersionsCommand(models, host);
  registerPromoteCommand(models, host);
  registerRemoveCommand(models, host);
  registerPruneCommand(models, host);
  registerRedriveCommand(models, host);
  registerInvokeCommand(models, host);
}
