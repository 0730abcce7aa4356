import { describe, expect, it } from 'vitest';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { createHandler } from '../../functions/prepare-workflow';
import { SAGEMAKER_NAME_PATTERN } from '../../src/pipeline/names';
import {
  MISSING_FAILURE_REASON,
  WorkflowConfigurationError,
  prepareEnvironmentFrom,
  prepareWorkflow,
  type PreparedDeployment,
  type PreparedModelPackage,
  type PreparedTransform,
} from '../../src/workflows/prepare-workflow';
import { UnknownWorkflowError, WorkflowInputError } from '../../src/workflows/workflow-schemas';
import { transformJobSchedules } from '../../src/workflows/transform-job-follow';
import { operationInputSchema, shapeProblems } from '../statemachines/sdk-request-shapes';
import { EXECUTION, FULL_INPUTS, MINIMAL_INPUTS, ROLE_ARN, TEST_ENVIRONMENT } from './sample-inputs';

describe('Function: prepareWorkflow', () => {
  it('prepares a pipeline deployment with derived names, SDK-shaped requests and the poll schedule', () => {
    // Act
    const prepared = prepareWorkflow(
      { workflow: 'deploy-pipeline-model', input: MINIMAL_INPUTS['deploy-pipeline-model'], execution: EXECUTION },
      TEST_ENVIRONMENT,
    ) as PreparedDeployment;

    // Assess
    expect(prepared.names.model).toMatch(/^iris-pipeline-[0-9a-f]{10}$/);
    expect(prepared.names.endpointConfig).toMatch(SAGEMAKER_NAME_PATTERN);
    expect(prepared.names.endpointConfig).not.toBe(prepared.names.model);
    expect(shapeProblems(prepared.requests.createModel, operationInputSchema('sagemaker', 'createModel'))).toEqual([]);
    expect(shapeProblems(prepared.requests.createEndpointConfig, operationInputSchema('sagemaker', 'createEndpointConfig'))).toEqual([]);
    expect(prepared.requests.createModel.ExecutionRoleArn).toBe(ROLE_ARN);
    expect(prepared.requests.createEndpointConfig.ProductionVariants?.[0]?.ModelName).toBe(prepared.names.model);
    expect(prepared.mode).toBe('auto');
    expect(prepared.modelPackageName).toBeUndefined();
    expect(prepared.poll).toEqual({ index: 0, seconds: 0 });
    expect(prepared.wait.count).toBe(prepared.wait.intervals.length);
    expect(prepared.wait.intervals.reduce((a, b) => a + b, 0)).toBe(3600);
  });

  it('gives each execution its own endpoint config, so an update never collides with the config in service', () => {
    // Act
    const first = prepareWorkflow({ workflow: 'deploy-pipeline-model', input: MINIMAL_INPUTS['deploy-pipeline-model'], execution: EXECUTION }, TEST_ENVIRONMENT) as PreparedDeployment;
    const second = prepareWorkflow(
      { workflow: 'deploy-pipeline-model', input: MINIMAL_INPUTS['deploy-pipeline-model'], execution: { ...EXECUTION, name: 'ci-run-43' } },
      TEST_ENVIRONMENT,
    ) as PreparedDeployment;

    // Assess
    expect(second.names.endpointConfig).not.toBe(first.names.endpointConfig);
    expect(second.names.model).not.toBe(first.names.model);
  });

  it('uses every option of the full pipeline input and the input role over the default', () => {
    // Act
    const prepared = prepareWorkflow({ workflow: 'deploy-pipeline-model', input: FULL_INPUTS['deploy-pipeline-model'], execution: EXECUTION }, TEST_ENVIRONMENT) as PreparedDeployment;

    // Assess
    expect(prepared.mode).toBe('update');
    expect(prepared.names.model).toMatch(/^iris-[0-9a-f]{10}$/);
    expect(prepared.requests.createModel.InferenceExecutionConfig).toEqual({ Mode: 'Direct' });
    expect(prepared.requests.createModel.EnableNetworkIsolation).toBe(true);
    expect(prepared.requests.createEndpointConfig.DataCaptureConfig?.CaptureOptions).toEqual([{ CaptureMode: 'Input' }]);
    expect(prepared.endpointTags).toEqual([{ Key: 'team', Value: 'ml' }]);
    expect(shapeProblems(prepared.requests.createModel, operationInputSchema('sagemaker', 'createModel'))).toEqual([]);
    expect(shapeProblems(prepared.requests.createEndpointConfig, operationInputSchema('sagemaker', 'createEndpointConfig'))).toEqual([]);
  });

  it('takes the containers of a model package when one is named', () => {
    // Prepare
    const { containers: _containers, ...rest } = MINIMAL_INPUTS['deploy-pipeline-model'];
    const input = { ...rest, modelPackageName: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/iris/2', updateEndpoint: false };

    // Act
    const prepared = prepareWorkflow({ workflow: 'deploy-pipeline-model', input, execution: EXECUTION }, TEST_ENVIRONMENT) as PreparedDeployment;

    // Assess
    expect(prepared.modelPackageName).toBe(input.modelPackageName);
    expect(prepared.mode).toBe('create');
    expect(prepared.requests.createModel.PrimaryContainer).toEqual({ ModelPackageName: input.modelPackageName });
  });

  it('points a multi-model endpoint at its models/<endpoint>/ prefix and names the registry table', () => {
    // Act
    const prepared = prepareWorkflow(
      { workflow: 'deploy-multi-model-endpoint', input: FULL_INPUTS['deploy-multi-model-endpoint'], execution: EXECUTION },
      TEST_ENVIRONMENT,
    ) as PreparedDeployment;

    // Assess
    expect(prepared.requests.createModel.PrimaryContainer).toMatchObject({
      Mode: 'MultiModel',
      ModelDataUrl: 's3://smhost-dev-artifacts-123456789012/models/iris-mme/',
      Environment: { SAGEMAKER_MODEL_SERVER_WORKERS: '2' },
    });
    expect(prepared.requests.createModel.ExecutionRoleArn).toBe('arn:aws:iam::123456789012:role/other-role');
    expect(prepared.registry).toEqual({ tableName: 'smhost-dev-registry' });
    expect(prepared.keepReplaced).toBe(true);
    expect(prepared.wait.intervals.slice(0, 4)).toEqual([20, 40, 80, 160]);
  });

  it('prepares a versioned model package with its group, and an unversioned one without', () => {
    // Act
    const versioned = prepareWorkflow({ workflow: 'register-model-package', input: FULL_INPUTS['register-model-package'], execution: EXECUTION }, TEST_ENVIRONMENT) as PreparedModelPackage;
    const { modelPackageGroupName: _group, ...rest } = MINIMAL_INPUTS['register-model-package'];
    const unversioned = prepareWorkflow(
      { workflow: 'register-model-package', input: { ...rest, modelPackageName: 'iris-one' }, execution: EXECUTION },
      TEST_ENVIRONMENT,
    ) as PreparedModelPackage;

    // Assess
    expect(versioned.versioned).toBe(true);
    expect(versioned.requests.createModelPackageGroup).toEqual({ ModelPackageGroupName: 'iris', ModelPackageGroupDescription: 'Iris classifiers', Tags: [{ Key: 'team', Value: 'ml' }] });
    expect(shapeProblems(versioned.requests.createModelPackage, operationInputSchema('sagemaker', 'createModelPackage'))).toEqual([]);
    expect(unversioned.versioned).toBe(false);
    expect(unversioned.requests.createModelPackageGroup).toBeUndefined();
    expect(unversioned.requests.createModelPackage.ModelPackageName).toBe('iris-one');
  });

  it('dates the output path of a scheduled transform and names the job per execution', () => {
    // Act
    const scheduled = prepareWorkflow({ workflow: 'batch-transform', input: FULL_INPUTS['batch-transform'], execution: EXECUTION }, TEST_ENVIRONMENT) as PreparedTransform;
    const adHoc = prepareWorkflow({ workflow: 'batch-transform', input: MINIMAL_INPUTS['batch-transform'], execution: EXECUTION }, TEST_ENVIRONMENT) as PreparedTransform;

    // Assess
    expect(scheduled.output).toEqual({
      s3OutputPath: 's3://smhost-dev-artifacts-123456789012/batch/output/2024-05-01T09-30-00Z/',
      bucket: 'smhost-dev-artifacts-123456789012',
      prefix: 'batch/output/2024-05-01T09-30-00Z/',
    });
    expect(scheduled.requests.createTransformJob.TransformOutput?.S3OutputPath).toBe(scheduled.output.s3OutputPath);
    expect(scheduled.names.transformJob).toMatch(/^nightly-iris-[0-9a-f]{10}$/);
    expect(shapeProblems(scheduled.requests.createTransformJob, operationInputSchema('sagemaker', 'createTransformJob'))).toEqual([]);
    expect(adHoc.output.prefix).toBe('batch/output/');
    expect(adHoc.names.transformJob).toMatch(/^iris-pipeline-model-[0-9a-f]{10}$/);
  });

  it('gives a transform the schedules its start retries and its follow loop run on, and a default failure reason', () => {
    // Act
    const prepared = prepareWorkflow({ workflow: 'batch-transform', input: MINIMAL_INPUTS['batch-transform'], execution: EXECUTION }, TEST_ENVIRONMENT) as PreparedTransform;

    // Assess
    expect(prepared).toMatchObject(transformJobSchedules());
    expect(prepared.failureDefaults).toEqual({ FailureReason: MISSING_FAILURE_REASON });
  });

  it('refuses a deployment without a role when none is configured, naming executionRoleArn', () => {
    // Prepare
    const { executionRoleArn: _role, ...env } = TEST_ENVIRONMENT;

    // Act / Assess
    expect(() =>
      prepareWorkflow({ workflow: 'deploy-pipeline-model', input: MINIMAL_INPUTS['deploy-pipeline-model'], execution: EXECUTION }, env),
    ).toThrow(/executionRoleArn: is required/);
  });

  it('refuses a multi-model deployment when the artifacts bucket is not configured', () => {
    // Prepare
    const { artifactsBucket: _bucket, ...env } = TEST_ENVIRONMENT;

    // Act / Assess
    expect(() =>
      prepareWorkflow({ workflow: 'deploy-multi-model-endpoint', input: MINIMAL_INPUTS['deploy-multi-model-endpoint'], execution: EXECUTION }, env),
    ).toThrow(WorkflowConfigurationError);
  });

  it('refuses an unknown workflow and a missing execution identity', () => {
    // Act / Assess
    expect(() => prepareWorkflow({ workflow: 'deploy-everything', input: {}, execution: EXECUTION }, TEST_ENVIRONMENT)).toThrow(UnknownWorkflowError);
    expect(() =>
      prepareWorkflow({ workflow: 'batch-transform', input: MINIMAL_INPUTS['batch-transform'], execution: { name: '', startTime: 'x' } }, TEST_ENVIRONMENT),
    ).toThrow(/\$\$\.Execution\.Name/);
  });
});

describe('Function: prepareEnvironmentFrom', () => {
  it('reads the Lambda environment with the stack defaults', () => {
    // Act
    const env = prepareEnvironmentFrom({ SAGEMAKER_EXECUTION_ROLE_ARN: ROLE_ARN, ARTIFACTS_BUCKET: 'bkt' });

    // Assess
    expect(env).toEqual({ executionRoleArn: ROLE_ARN, artifactsBucket: 'bkt', modelsPrefix: 'models/', registryTable: 'smhost-dev-registry' });
  });
});

describe('Function: createHandler (prepare-workflow Lambda)', () => {
  const context = { functionName: 'prepareWorkflow', awsRequestId: 'req-1' } as Context;
  const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });

  it('returns the prepared state', async () => {
    // Prepare
    const handler = createHandler({ env: TEST_ENVIRONMENT, logger });

    // Act
    const prepared = (await handler(
      { workflow: 'batch-transform', input: MINIMAL_INPUTS['batch-transform'], execution: EXECUTION },
      context,
    )) as PreparedTransform;

    // Assess
    expect(prepared.workflow).toBe('batch-transform');
  });

  it('throws WorkflowInputError for a bad input, which Step Functions reports as the error name', async () => {
    // Prepare
    const handler = createHandler({ env: TEST_ENVIRONMENT, logger });

    // Act
    const result = handler({ workflow: 'batch-transform', input: { modelName: 'x' }, execution: EXECUTION }, context);

    // Assess
    await expect(result).rejects.toThrow(WorkflowInputError);
    await expect(result).rejects.toThrow(/data: /);
  });
});
