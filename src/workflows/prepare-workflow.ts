/**
 * The first step of every state machine: validate the input with the workflow's schema (so a bad input
 * fails before any resource exists), derive every resource name from the execution (so a rerun never
 * collides and each deployment gets its own endpoint config), and build the SageMaker requests, so the
 * state machine's tasks only pass prepared values along.
 */
import type { Tag } from '@aws-sdk/client-sagemaker';
import { buildEndpointConfigRequest } from '../pipeline/endpoint-configs';
import { buildModelFromPackageRequest, buildMultiModelRequest, buildPipelineModelRequest } from '../pipeline/models';
import { buildCreateModelPackageGroupRequest, buildCreateModelPackageRequest } from '../pipeline/model-packages';
import { deriveName, shortHash, type ExecutionIdentity } from '../pipeline/names';
import { buildTags } from '../pipeline/tags';
import { buildTransformJobRequest, datedOutputPath, parseS3Uri } from '../pipeline/transform-jobs';
import { stackNames } from '../aws/stack-names';
import { pollIntervals } from './endpoint-wait';
import { transformJobSchedules, type TransformJobSchedules } from './transform-job-follow';
import {
  isWorkflowName,
  parseWorkflowInput,
  UnknownWorkflowError,
  WorkflowInputError,
  type WorkflowName,
} from './workflow-schemas';
import type { DeployMultiModelEndpointInput } from './deploy-multi-model-endpoint.schema';
import type { DeployPipelineModelInput } from './deploy-pipeline-model.schema';
import type { RegisterModelPackageInput } from './register-model-package.schema';
import type { BatchTransformInput } from './batch-transform.schema';

/** What the state machine passes to the prepare function. */
export interface PrepareWorkflowEvent {
  workflow: string;
  input: unknown;
  execution: ExecutionIdentity;
}

/** Settings of the deployment the prepare function runs in (its Lambda environment). */
export interface PrepareEnvironment {
  /** The role models run with, unless an input names another (`SAGEMAKER_EXECUTION_ROLE_ARN`). */
  executionRoleArn?: string;
  /** The artifacts bucket whose `models/<endpoint>/` prefix a multi-model endpoint serves. */
  artifactsBucket?: string;
  modelsPrefix: string;
  /** The registry table a multi-model deployment records its endpoint in. */
  registryTable: string;
}

/** Raised when the function's own settings (not the input) make a workflow impossible to run. */
export class WorkflowConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkflowConfigurationError';
  }
}

/** Reads {@link PrepareEnvironment} from the Lambda environment, with the stack's default names. */
export function prepareEnvironmentFrom(env: NodeJS.ProcessEnv = process.env): PrepareEnvironment {
  const names = stackNames({ env });
  return {
    ...(env.SAGEMAKER_EXECUTION_ROLE_ARN ? { executionRoleArn: env.SAGEMAKER_EXECUTION_ROLE_ARN } : {}),
    ...(env.ARTIFACTS_BUCKET ? { artifactsBucket: env.ARTIFACTS_BUCKET } : {}),
    modelsPrefix: env.MODELS_PREFIX ?? 'models/',
    registryTable: env.REGISTRY_TABLE ?? names.registryTable,
  };
}

/** The reason a failed endpoint or job reports when SageMaker gave none, merged under the Describe call's answer. */
export const MISSING_FAILURE_REASON = 'SageMaker gave no FailureReason';

/** State of a deployment once prepared: what the deploy state machines read. */
export interface PreparedDeployment {
  workflow: 'deploy-pipeline-model' | 'deploy-multi-model-endpoint';
  endpointName: string;
  /** `create`: the endpoint must not exist; `update`: it must; `auto`: either. */
  mode: 'auto' | 'create' | 'update';
  /** Set when the containers come from a model package, whose approval is checked first. */
  modelPackageName?: string;
  keepReplaced: boolean;
  names: { model: string; endpointConfig: string };
  requests: {
    createModel: ReturnType<typeof buildPipelineModelRequest>;
    createEndpointConfig: ReturnType<typeof buildEndpointConfigRequest>;
  };
  endpointTags: Tag[];
  wait: { intervals: number[]; count: number; timeoutSeconds: number };
  poll: { index: number; seconds: number };
  failureDefaults: { FailureReason: string };
  registry?: { tableName: string };
}

export interface PreparedModelPackage {
  workflow: 'register-model-package';
  versioned: boolean;
  requests: {
    createModelPackage: ReturnType<typeof buildCreateModelPackageRequest>;
    createModelPackageGroup?: ReturnType<typeof buildCreateModelPackageGroupRequest>;
  };
  modelPackageGroupName?: string;
}

export interface PreparedTransform extends TransformJobSchedules {
  workflow: 'batch-transform';
  names: { transformJob: string };
  requests: { createTransformJob: ReturnType<typeof buildTransformJobRequest> };
  output: { s3OutputPath: string; bucket: string; prefix: string };
  scheduledTime?: string;
  /** Merged under a failed job's description, which may lack a `FailureReason` (a stopped job has none). */
  failureDefaults: { FailureReason: string };
}

export type PreparedWorkflow = PreparedDeployment | PreparedModelPackage | PreparedTransform;

function requireRole(input: { executionRoleArn?: string | undefined }, env: PrepareEnvironment, workflow: string): string {
  const role = input.executionRoleArn ?? env.executionRoleArn;
  if (role === undefined) {
    throw new WorkflowInputError(workflow, [
      {
        field: 'executionRoleArn',
        message: 'is required: the deployment has no default role (SAGEMAKER_EXECUTION_ROLE_ARN is not set)',
      },
    ]);
  }
  return role;
}

function deploymentCommon(
  input: DeployPipelineModelInput | DeployMultiModelEndpointInput,
  execution: ExecutionIdentity,
  modelBase: string,
) {
  const names = {
    model: deriveName(modelBase, execution, 'model'),
    endpointConfig: deriveName(input.endpointName, execution, 'endpoint-config'),
  };
  const intervals = pollIntervals(input.wait);
  const createEndpointConfig = buildEndpointConfigRequest({
    endpointConfigName: names.endpointConfig,
    modelName: names.model,
    variant: input,
    ...(input.dataCapture !== undefined ? { dataCapture: input.dataCapture } : {}),
    ...(input.kmsKeyId !== undefined ? { kmsKeyId: input.kmsKeyId } : {}),
    ...(input.tags !== undefined ? { tags: input.tags } : {}),
  });
  return {
    names,
    createEndpointConfig,
    /** What every prepared deployment carries, whatever its model. */
    shared: {
      keepReplaced: input.keepReplaced,
      names,
      endpointTags: buildTags(input.tags),
      wait: { intervals, count: intervals.length, timeoutSeconds: input.wait.timeoutSeconds },
      poll: { index: 0, seconds: 0 },
      failureDefaults: { FailureReason: MISSING_FAILURE_REASON },
    },
  };
}

function modelSettings(
  input: DeployPipelineModelInput | DeployMultiModelEndpointInput,
  modelName: string,
  role: string,
) {
  return {
    modelName,
    executionRoleArn: role,
    ...(input.vpcConfig !== undefined ? { vpcConfig: input.vpcConfig } : {}),
    ...(input.enableNetworkIsolation !== undefined ? { enableNetworkIsolation: input.enableNetworkIsolation } : {}),
    ...(input.tags !== undefined ? { tags: input.tags } : {}),
  };
}

/** Prepares `deploy-pipeline-model`. */
export function preparePipelineDeployment(
  input: DeployPipelineModelInput,
  execution: ExecutionIdentity,
  env: PrepareEnvironment,
): PreparedDeployment {
  const role = requireRole(input, env, 'deploy-pipeline-model');
  const common = deploymentCommon(input, execution, input.modelName ?? input.endpointName);
  const settings = modelSettings(input, common.names.model, role);
  const createModel =
    input.modelPackageName !== undefined
      ? buildModelFromPackageRequest(settings, input.modelPackageName)
      : buildPipelineModelRequest(settings, input.containers ?? [], input.inferenceExecutionMode);
  return {
    workflow: 'deploy-pipeline-model',
    endpointName: input.endpointName,
    mode: input.updateEndpoint === undefined ? 'auto' : input.updateEndpoint ? 'update' : 'create',
    ...(input.modelPackageName !== undefined ? { modelPackageName: input.modelPackageName } : {}),
    ...common.shared,
    requests: { createModel, createEndpointConfig: common.createEndpointConfig },
  };
}

/** Prepares `deploy-multi-model-endpoint`: its model data is the endpoint's prefix in the artifacts bucket. */
export function prepareMultiModelDeployment(
  input: DeployMultiModelEndpointInput,
  execution: ExecutionIdentity,
  env: PrepareEnvironment,
): PreparedDeployment {
  if (env.artifactsBucket === undefined) {
    throw new WorkflowConfigurationError('ARTIFACTS_BUCKET is not set: the multi-model endpoint has no model data prefix');
  }
  const role = requireRole(input, env, 'deploy-multi-model-endpoint');
  const common = deploymentCommon(input, execution, input.endpointName);
  const prefix = env.modelsPrefix.replace(/^\/+/, '').replace(/\/*$/, '/');
  const createModel = buildMultiModelRequest(modelSettings(input, common.names.model, role), {
    image: input.image,
    modelDataUrl: `s3://${env.artifactsBucket}/${prefix}${input.endpointName}/`,
    ...(input.environment !== undefined ? { environment: input.environment } : {}),
  });
  return {
    workflow: 'deploy-multi-model-endpoint',
    endpointName: input.endpointName,
    mode: 'auto',
    ...common.shared,
    requests: { createModel, createEndpointConfig: common.createEndpointConfig },
    registry: { tableName: env.registryTable },
  };
}

/** Prepares `register-model-package`. */
export function prepareModelPackage(input: RegisterModelPackageInput, execution: ExecutionIdentity): PreparedModelPackage {
  const createModelPackage = buildCreateModelPackageRequest(input);
  if (input.modelPackageGroupName === undefined) {
    return { workflow: 'register-model-package', versioned: false, requests: { createModelPackage } };
  }
  return {
    workflow: 'register-model-package',
    versioned: true,
    modelPackageGroupName: input.modelPackageGroupName,
    requests: {
      // A versioned package has no name to collide on: a retry after a lost answer would register a second
      // version. The token, fixed per execution, makes SageMaker answer the retry with the first one.
      createModelPackage: { ...createModelPackage, ClientToken: shortHash(['model-package', execution.name, execution.startTime], 32) },
      createModelPackageGroup: buildCreateModelPackageGroupRequest(
        input.modelPackageGroupName,
        input.modelPackageGroupDescription,
        input.tags,
      ),
    },
  };
}

/** Prepares `batch-transform`; a scheduled run writes under a path dated by its scheduled time. */
export function prepareTransform(input: BatchTransformInput, execution: ExecutionIdentity): PreparedTransform {
  const transformJob = deriveName(input.jobName ?? input.modelName, execution, 'transform-job');
  const s3OutputPath =
    input.scheduledTime !== undefined ? datedOutputPath(input.outputPath, new Date(input.scheduledTime)) : input.outputPath;
  const { bucket, key } = parseS3Uri(s3OutputPath);
  const createTransformJob = buildTransformJobRequest({
    transformJobName: transformJob,
    modelName: input.modelName,
    input: {
      s3Uri: input.data,
      s3DataType: input.dataType,
      ...(input.contentType !== undefined ? { contentType: input.contentType } : {}),
      ...(input.splitType !== undefined ? { splitType: input.splitType } : {}),
      ...(input.compressionType !== undefined ? { compressionType: input.compressionType } : {}),
    },
    output: {
      s3OutputPath,
      ...(input.accept !== undefined ? { accept: input.accept } : {}),
      ...(input.assembleWith !== undefined ? { assembleWith: input.assembleWith } : {}),
      ...(input.outputKmsKey !== undefined ? { kmsKeyId: input.outputKmsKey } : {}),
    },
    instanceType: input.instanceType,
    instanceCount: input.instanceCount,
    ...(input.volumeKmsKey !== undefined ? { volumeKmsKeyId: input.volumeKmsKey } : {}),
    ...(input.strategy !== undefined ? { strategy: input.strategy } : {}),
    ...(input.environment !== undefined ? { environment: input.environment } : {}),
    ...(input.maxConcurrentTransforms !== undefined ? { maxConcurrentTransforms: input.maxConcurrentTransforms } : {}),
    ...(input.maxPayload !== undefined ? { maxPayloadInMB: input.maxPayload } : {}),
    ...(input.inputFilter !== undefined || input.outputFilter !== undefined || input.joinSource !== undefined
      ? {
          dataProcessing: {
            ...(input.inputFilter !== undefined ? { inputFilter: input.inputFilter } : {}),
            ...(input.outputFilter !== undefined ? { outputFilter: input.outputFilter } : {}),
            ...(input.joinSource !== undefined ? { joinSource: input.joinSource } : {}),
          },
        }
      : {}),
    ...(input.modelClientConfig !== undefined ? { modelClient: input.modelClientConfig } : {}),
    ...(input.tags !== undefined ? { tags: input.tags } : {}),
  });
  return {
    workflow: 'batch-transform',
    names: { transformJob },
    requests: { createTransformJob },
    // The prefix ends with `/` so listing the outputs of one dated run never reaches into a sibling.
    output: { s3OutputPath, bucket, prefix: key === '' || key.endsWith('/') ? key : `${key}/` },
    ...(input.scheduledTime !== undefined ? { scheduledTime: input.scheduledTime } : {}),
    ...transformJobSchedules(),
    failureDefaults: { FailureReason: MISSING_FAILURE_REASON },
  };
}

function checkExecution(execution: unknown): ExecutionIdentity {
  const e = execution as Partial<ExecutionIdentity> | undefined;
  if (typeof e?.name !== 'string' || e.name === '' || typeof e.startTime !== 'string' || Number.isNaN(Date.parse(e.startTime))) {
    throw new WorkflowConfigurationError(
      'the state machine must pass execution.name ($$.Execution.Name) and execution.startTime ($$.Execution.StartTime)',
    );
  }
  return { name: e.name, startTime: e.startTime };
}

/**
 * Validates a workflow's input and prepares everything its state machine needs.
 * @throws UnknownWorkflowError for a workflow that does not exist
 * @throws WorkflowInputError naming every offending field and rule
 * @throws WorkflowConfigurationError when the deployment's own settings are missing
 */
export function prepareWorkflow(event: PrepareWorkflowEvent, env: PrepareEnvironment): PreparedWorkflow {
  if (!isWorkflowName(event.workflow)) throw new UnknownWorkflowError(event.workflow);
  const execution = checkExecution(event.execution);
  const workflow: WorkflowName = event.workflow;
  switch (workflow) {
    case 'deploy-pipeline-model':
      return preparePipelineDeployment(parseWorkflowInput(workflow, event.input), execution, env);
    case 'deploy-multi-model-endpoint':
      return prepareMultiModelDeployment(parseWorkflowInput(workflow, event.input), execution, env);
    case 'register-model-package':
      return prepareModelPackage(parseWorkflowInput(workflow, event.input), execution);
    case 'batch-transform':
      return prepareTransform(parseWorkflowInput(workflow, event.input), execution);
  }
}
