/**
 * What `models add` checks before uploading: whether the endpoint named exists and hosts a multi-model
 * model. Registering ahead of an endpoint is legitimate (it may be deployed later); registering with an
 * endpoint that serves one model (or a pipeline) is a mistake, since SageMaker refuses `TargetModel` there.
 */
import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  type ContainerDefinition,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { errorName } from '../../aws/errors';

/** What the endpoint turned out to be. */
export type EndpointKind =
  | { kind: 'multi-model' }
  /** SageMaker has no endpoint of this name (yet). */
  | { kind: 'missing' }
  /** It exists and none of its variants' models is multi-model; `what` says what it serves instead. */
  | { kind: 'not-multi-model'; what: string; models: string[] }
  /** The check could not finish (permissions, a config or model deleted meanwhile); `reason` says why. */
  | { kind: 'unknown'; reason: string };

/**
 * Follows DescribeEndpoint → DescribeEndpointConfig → DescribeModel and reads each container's `Mode`.
 * An endpoint is multi-model when any production variant's model has a container in `MultiModel` mode.
 * Errors other than "no such endpoint" give `unknown`, so a role without these read permissions still adds.
 */
export async function endpointKind(sagemaker: SageMakerClient, endpoint: string): Promise<EndpointKind> {
  let configName: string | undefined;
  try {
    configName = (await sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpoint }))).EndpointConfigName;
  } catch (error) {
    if (isMissingEndpoint(error)) return { kind: 'missing' };
    return { kind: 'unknown', reason: `DescribeEndpoint failed: ${describe(error)}` };
  }
  if (!configName) return { kind: 'unknown', reason: 'DescribeEndpoint named no endpoint config' };
  let models: string[];
  try {
    const config = await sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: configName }));
    models = (config.ProductionVariants ?? []).flatMap((variant) => (variant.ModelName ? [variant.ModelName] : []));
  } catch (error) {
    return { kind: 'unknown', reason: `DescribeEndpointConfig ${configName} failed: ${describe(error)}` };
  }
  if (models.length === 0) return { kind: 'unknown', reason: `endpoint config ${configName} names no model` };
  const shapes: string[] = [];
  for (const modelName of models) {
    let containers: ContainerDefinition[];
    try {
      const model = await sagemaker.send(new DescribeModelCommand({ ModelName: modelName }));
      containers = [...(model.PrimaryContainer ? [model.PrimaryContainer] : []), ...(model.Containers ?? [])];
    } catch (error) {
      return { kind: 'unknown', reason: `DescribeModel ${modelName} failed: ${describe(error)}` };
    }
    if (containers.some((container) => container.Mode === 'MultiModel')) return { kind: 'multi-model' };
    shapes.push(
      containers.length > 1
        ? `model ${modelName} is an inference pipeline of ${containers.length} containers`
        : `model ${modelName} serves a single model (Mode ${containers[0]?.Mode ?? 'SingleModel'})`,
    );
  }
  return { kind: 'not-multi-model', what: shapes.join('; '), models };
}

function isMissingEndpoint(error: unknown): boolean {
  const name = errorName(error);
  const message = error instanceof Error ? error.message : '';
  return (name === 'ValidationException' || name === 'ResourceNotFound') && /could not find endpoint/i.test(message);
}

function describe(error: unknown): string {
  const name = errorName(error);
  const message = error instanceof Error ? error.message : String(error);
  return name && name !== 'Error' && !message.startsWith(name) ? `${name}: ${message}` : message;
}
