/**
 * Tearing down SageMaker hosting resources as the SageMaker Python SDK's `delete_model` and
 * `Predictor.delete_endpoint` / `delete_model` do, with the checks the SDK leaves to the user: nothing is
 * deleted that does not exist (a clear "not found" instead of SageMaker's `ValidationException`), a model an
 * endpoint still serves from is refused, and an endpoint still being created or updated is refused, since
 * SageMaker cannot delete it then. An endpoint config or model that another endpoint uses is kept.
 */
import {
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  type DescribeEndpointConfigCommandOutput,
  DescribeModelCommand,
  ListEndpointsCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { errorName } from '../../aws/errors';
import { NotFoundError, OperationFailedError } from '../errors';

/** The named SageMaker resource does not exist. */
export class SageMakerResourceNotFoundError extends NotFoundError {
  constructor(kind: 'model' | 'endpoint', name: string) {
    // `resource`, not `name`: the error document's `name` is the error class.
    super(`${kind} "${name}" does not exist`, { kind, resource: name });
  }
}

/** The resource is in use (a model an endpoint serves from) or busy (an endpoint being created or updated). */
export class ResourceInUseError extends OperationFailedError {}

/** Endpoint statuses during which SageMaker cannot delete an endpoint (it answers ValidationException). */
export const BUSY_ENDPOINT_STATUSES: readonly string[] = Object.freeze([
  'Creating',
  'Updating',
  'SystemUpdating',
  'RollingBack',
  'Deleting',
]);

/** One endpoint and what it serves from: its config (and, during an update, the pending one) and their models. */
export interface EndpointUse {
  endpoint: string;
  status: string;
  endpointConfigs: string[];
  models: string[];
}

/** What happened to one resource of a teardown. */
export interface TeardownItem {
  name: string;
  /** `deleted`, `kept` (another endpoint uses it) or `absent` (already gone). */
  outcome: 'deleted' | 'kept' | 'absent';
  reason?: string;
}

export interface DeleteModelResult {
  model: TeardownItem;
}

export interface DeleteEndpointResult {
  endpoint: TeardownItem & { previousStatus: string };
  endpointConfig?: TeardownItem;
  /** With `withModels` only: each model of the endpoint's config. */
  models: TeardownItem[];
}

/** SageMaker answers a missing model, config or endpoint with ValidationException "Could not find ...". */
export function isNotFound(error: unknown): boolean {
  const name = errorName(error);
  if (name === 'ResourceNotFound' || name === 'ResourceNotFoundException') return true;
  return name === 'ValidationException' && /could not find/i.test((error as Error).message ?? '');
}

function configModels(config: DescribeEndpointConfigCommandOutput): string[] {
  const variants = [...(config.ProductionVariants ?? []), ...(config.ShadowProductionVariants ?? [])];
  return [...new Set(variants.map((v) => v.ModelName).filter((n): n is string => typeof n === 'string'))];
}

async function describeConfigModels(sagemaker: SageMakerClient, name: string): Promise<string[] | undefined> {
  try {
    return configModels(await sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: name })));
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Every endpoint not being deleted, with the configs it serves from and their models. An endpoint that goes
 * away while it is read is skipped.
 */
export async function endpointUses(sagemaker: SageMakerClient): Promise<EndpointUse[]> {
  const uses: EndpointUse[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sagemaker.send(new ListEndpointsCommand({ MaxResults: 100, ...(nextToken ? { NextToken: nextToken } : {}) }));
    for (const summary of page.Endpoints ?? []) {
      if (!summary.EndpointName || summary.EndpointStatus === 'Deleting') continue;
      let description;
      try {
        description = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: summary.EndpointName }));
      } catch (error) {
        if (isNotFound(error)) continue;
        throw error;
      }
      const configs = [description.EndpointConfigName, description.PendingDeploymentSummary?.EndpointConfigName].filter(
        (name): name is string => typeof name === 'string' && name !== '',
      );
      const models = new Set<string>();
      for (const config of new Set(configs)) {
        for (const model of (await describeConfigModels(sagemaker, config)) ?? []) models.add(model);
      }
      uses.push({
        endpoint: summary.EndpointName,
        status: description.EndpointStatus ?? summary.EndpointStatus ?? 'Unknown',
        endpointConfigs: [...new Set(configs)],
        models: [...models],
      });
    }
    nextToken = page.NextToken;
  } while (nextToken);
  // By name, so messages list endpoints in the same order whatever order SageMaker lists them in.
  return uses.sort((a, b) => a.endpoint.localeCompare(b.endpoint));
}

function describeUsers(uses: readonly EndpointUse[]): string {
  return uses.map((u) => `${u.endpoint} (${u.status}, config ${u.endpointConfigs.join(' and ')})`).join(', ');
}

/**
 * Deletes a model (the SDK's `delete_model`) unless an endpoint serves from it.
 * @throws SageMakerResourceNotFoundError when the model does not exist
 * @throws ResourceInUseError naming the endpoints whose configs use it
 */
export async function deleteSageMakerModel(sagemaker: SageMakerClient, modelName: string): Promise<DeleteModelResult> {
  try {
    await sagemaker.send(new DescribeModelCommand({ ModelName: modelName }));
  } catch (error) {
    if (isNotFound(error)) throw new SageMakerResourceNotFoundError('model', modelName);
    throw error;
  }
  const users = (await endpointUses(sagemaker)).filter((use) => use.models.includes(modelName));
  if (users.length > 0) {
    throw new ResourceInUseError(
      `model "${modelName}" is in use by endpoint ${describeUsers(users)}; delete or update ${users.length > 1 ? 'those endpoints' : 'that endpoint'} first`,
      { model: modelName, endpoints: users.map((u) => u.endpoint) },
    );
  }
  try {
    await sagemaker.send(new DeleteModelCommand({ ModelName: modelName }));
  } catch (error) {
    // Deleted by someone else between the check and now: the goal is reached all the same.
    if (isNotFound(error)) return { model: { name: modelName, outcome: 'absent', reason: 'deleted meanwhile by someone else' } };
    throw error;
  }
  return { model: { name: modelName, outcome: 'deleted' } };
}

/**
 * Deletes an endpoint and its endpoint config (the SDK's `Predictor.delete_endpoint`), and with `withModels`
 * the config's models (`Predictor.delete_model`). The config and the models are kept when another endpoint
 * uses them.
 * @throws SageMakerResourceNotFoundError when the endpoint does not exist
 * @throws ResourceInUseError when the endpoint is still being created, updated or deleted
 */
export async function deleteSageMakerEndpoint(
  sagemaker: SageMakerClient,
  endpointName: string,
  options: { withModels?: boolean } = {},
): Promise<DeleteEndpointResult> {
  let description;
  try {
    description = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
  } catch (error) {
    if (isNotFound(error)) throw new SageMakerResourceNotFoundError('endpoint', endpointName);
    throw error;
  }
  const status = description.EndpointStatus ?? 'Unknown';
  if (BUSY_ENDPOINT_STATUSES.includes(status)) {
    throw new ResourceInUseError(
      status === 'Deleting'
        ? `endpoint "${endpointName}" is already being deleted`
        : `endpoint "${endpointName}" is ${status}; SageMaker cannot delete it until it is InService, Failed or OutOfService — wait, then retry`,
      { endpoint: endpointName, status },
    );
  }

  const configName = description.EndpointConfigName;
  const models = configName ? await describeConfigModels(sagemaker, configName) : undefined;
  const others = (await endpointUses(sagemaker)).filter((use) => use.endpoint !== endpointName);

  await sagemaker.send(new DeleteEndpointCommand({ EndpointName: endpointName }));
  const result: DeleteEndpointResult = { endpoint: { name: endpointName, outcome: 'deleted', previousStatus: status }, models: [] };

  if (configName) {
    const sharing = others.filter((use) => use.endpointConfigs.includes(configName));
    if (models === undefined) {
      result.endpointConfig = { name: configName, outcome: 'absent', reason: 'already deleted' };
    } else if (sharing.length > 0) {
      result.endpointConfig = { name: configName, outcome: 'kept', reason: `in use by endpoint ${describeUsers(sharing)}` };
    } else {
      result.endpointConfig = await deleteIgnoringAbsence(configName, () =>
        sagemaker.send(new DeleteEndpointConfigCommand({ EndpointConfigName: configName })),
      );
    }
  }

  if (options.withModels) {
    for (const model of models ?? []) {
      const users = others.filter((use) => use.models.includes(model));
      if (users.length > 0) {
        result.models.push({ name: model, outcome: 'kept', reason: `in use by endpoint ${describeUsers(users)}` });
        continue;
      }
      result.models.push(await deleteIgnoringAbsence(model, () => sagemaker.send(new DeleteModelCommand({ ModelName: model }))));
    }
  }
  return result;
}

async function deleteIgnoringAbsence(name: string, remove: () => Promise<unknown>): Promise<TeardownItem> {
  try {
    await remove();
    return { name, outcome: 'deleted' };
  } catch (error) {
    if (isNotFound(error)) return { name, outcome: 'absent', reason: 'already deleted' };
    throw error;
  }
}
