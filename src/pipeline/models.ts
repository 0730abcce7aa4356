/**
 * `CreateModel` requests: a serial or direct inference pipeline of 2 to 15 containers, a model whose
 * containers come from a model package, and a multi-model container. Mirrors what the SageMaker Python
 * SDK's `PipelineModel.pipeline_container_def()` / `deploy()` and `MultiDataModel` send.
 */
import type { ContainerDefinition, CreateModelInput, VpcConfig } from '@aws-sdk/client-sagemaker';
import { buildTags, type TagMap } from './tags';

/** One container of an inference pipeline, as a workflow input gives it. */
export interface ContainerSpec {
  image: string;
  modelDataUrl?: string;
  environment?: Record<string, string>;
  containerHostname?: string;
}

export interface VpcSpec {
  subnets: string[];
  securityGroupIds: string[];
}

/** Settings every `CreateModel` of the project can carry. */
export interface ModelSettings {
  modelName: string;
  executionRoleArn: string;
  vpcConfig?: VpcSpec;
  enableNetworkIsolation?: boolean;
  tags?: TagMap;
}

/** `ContainerDefinition` of one pipeline container; absent optional fields stay absent. */
export function buildContainerDefinition(container: ContainerSpec): ContainerDefinition {
  return {
    Image: container.image,
    ...(container.modelDataUrl !== undefined ? { ModelDataUrl: container.modelDataUrl } : {}),
    ...(container.environment !== undefined && Object.keys(container.environment).length > 0
      ? { Environment: { ...container.environment } }
      : {}),
    ...(container.containerHostname !== undefined ? { ContainerHostname: container.containerHostname } : {}),
  };
}

export function buildVpcConfig(vpc: VpcSpec): VpcConfig {
  return { Subnets: [...vpc.subnets], SecurityGroupIds: [...vpc.securityGroupIds] };
}

function commonModelFields(settings: ModelSettings): Omit<CreateModelInput, 'PrimaryContainer' | 'Containers'> {
  return {
    ModelName: settings.modelName,
    ExecutionRoleArn: settings.executionRoleArn,
    ...(settings.vpcConfig !== undefined ? { VpcConfig: buildVpcConfig(settings.vpcConfig) } : {}),
    ...(settings.enableNetworkIsolation !== undefined ? { EnableNetworkIsolation: settings.enableNetworkIsolation } : {}),
    Tags: buildTags(settings.tags),
  };
}

/**
 * An inference pipeline: the containers in the order requests flow through them (`Serial`), or
 * addressed one at a time by `TargetContainerHostname` (`Direct`).
 */
export function buildPipelineModelRequest(
  settings: ModelSettings,
  containers: readonly ContainerSpec[],
  mode: 'Serial' | 'Direct',
): CreateModelInput {
  return {
    ...commonModelFields(settings),
    Containers: containers.map(buildContainerDefinition),
    InferenceExecutionConfig: { Mode: mode },
  };
}

/**
 * A model whose containers are those of a model package: SageMaker expands the package's inference
 * specification (one container or a whole pipeline) itself, as the SDK's `ModelPackage` does.
 */
export function buildModelFromPackageRequest(settings: ModelSettings, modelPackageName: string): CreateModelInput {
  return { ...commonModelFields(settings), PrimaryContainer: { ModelPackageName: modelPackageName } };
}

/** A multi-model container: every `<model>/<version>.tar.gz` under `modelDataUrl` can be invoked. */
export function buildMultiModelRequest(
  settings: ModelSettings,
  container: { image: string; modelDataUrl: string; environment?: Record<string, string> },
): CreateModelInput {
  return {
    ...commonModelFields(settings),
    PrimaryContainer: { ...buildContainerDefinition(container), Mode: 'MultiModel' },
  };
}
