import type { Command } from 'commander';
import { isSageMakerName } from '../../pipeline/names';
import type { CommandHost } from '../command';
import { InvalidInputError } from '../errors';
import { formatFields, formatTable } from '../output';
import {
  type DeleteEndpointResult,
  type DeleteModelResult,
  deleteSageMakerEndpoint,
  deleteSageMakerModel,
  type TeardownItem,
} from './sagemaker-teardown';

/** SageMaker's rule for model and endpoint names, checked before any request. */
function parseSageMakerName(value: string, input: string): string {
  if (!isSageMakerName(value)) {
    throw new InvalidInputError(
      `${input} ${JSON.stringify(value)}`,
      'must be 1-63 letters, digits or "-", starting and ending with a letter or digit (a SageMaker name)',
    );
  }
  return value;
}

function item(teardown: TeardownItem): string {
  return teardown.reason ? `${teardown.outcome} (${teardown.reason})` : teardown.outcome;
}

/** Human rendering of `delete model`. */
export function renderDeleteModel(result: DeleteModelResult): string {
  return formatFields([['model', result.model.name], ['outcome', item(result.model)]]);
}

/** Human rendering of `delete endpoint`: the endpoint and its config, then a line per model. */
export function renderDeleteEndpoint(result: DeleteEndpointResult): string {
  const fields = formatFields([
    ['endpoint', result.endpoint.name],
    ['was', result.endpoint.previousStatus],
    ['outcome', item(result.endpoint)],
    ['endpoint config', result.endpointConfig ? `${result.endpointConfig.name}: ${item(result.endpointConfig)}` : 'none'],
  ]);
  if (result.models.length === 0) return fields;
  return `${fields}${formatTable(
    [
      { header: 'MODEL', cell: (m: TeardownItem) => m.name },
      { header: 'OUTCOME', cell: (m: TeardownItem) => m.outcome },
      { header: 'REASON', cell: (m: TeardownItem) => m.reason },
    ],
    result.models,
  )}`;
}

/** `smhost delete model <name>` and `smhost delete endpoint <name> [--with-models]`. */
export function registerDeleteCommands(program: Command, host: CommandHost): void {
  const remove = program
    .command('delete')
    .description('delete SageMaker models and endpoints (the SageMaker SDK\'s delete_model and delete_endpoint)');

  remove
    .command('model')
    .description('delete a model, refusing while an endpoint config of a live endpoint uses it')
    .argument('<name>', 'SageMaker model name')
    .action(
      host.run(async ({ context, output }, name: string) => {
        const model = parseSageMakerName(name, 'model');
        const result = await deleteSageMakerModel(context().clients.sagemaker, model);
        output.result(result, renderDeleteModel(result));
      }),
    );

  remove
    .command('endpoint')
    .description('delete an endpoint and its endpoint config, refusing while it is being created or updated')
    .argument('<name>', 'SageMaker endpoint name')
    .option('--with-models', "also delete the models of the endpoint's config (kept when another endpoint uses them)")
    .action(
      host.run(async ({ context, output }, name: string, opts: { withModels?: boolean }) => {
        const endpoint = parseSageMakerName(name, 'endpoint');
        const result = await deleteSageMakerEndpoint(context().clients.sagemaker, endpoint, {
          withModels: Boolean(opts.withModels),
        });
        output.result(result, renderDeleteEndpoint(result));
      }),
    );
}
