import { describe, expect, it } from 'vitest';
import { pollIntervals, DEFAULT_ENDPOINT_WAIT } from '../../src/workflows/endpoint-wait';
import { startRetryCaps, transformJobSchedules, TRANSFORM_JOB_START_RETRY } from '../../src/workflows/transform-job-follow';
import { MINIMAL_INPUTS, FULL_INPUTS, TEST_ENVIRONMENT } from '../workflows/sample-inputs';
import { FakeAws } from './fake-aws';
import { runStateMachine } from './run-state-machine';

/** The transition budget of a deployment whose endpoint takes 10 minutes to create (issue 6). */
const TRANSITION_BUDGET = 40;

function fake(): FakeAws {
  return new FakeAws(TEST_ENVIRONMENT);
}

describe('State machine: deploy-pipeline-model', () => {
  it('creates the model, config and endpoint, and waits on the growing schedule within 40 transitions', async () => {
    // Prepare
    const aws = fake();

    // Act
    const run = await runStateMachine('deploy-pipeline-model', MINIMAL_INPUTS['deploy-pipeline-model'], aws);

    // Assess
    expect(run.error).toBeUndefined();
    expect(aws.shapeErrors).toEqual([]);
    expect(run.output).toMatchObject({ endpointName: 'iris-pipeline', endpointStatus: 'InService', operation: 'created' });
    expect(aws.models.get(run.output!.modelName)?.Containers).toHaveLength(2);
    expect(run.waits).toEqual(pollIntervals(DEFAULT_ENDPOINT_WAIT).slice(0, 6));
    expect(run.entered.length).toBeLessThanOrEqual(TRANSITION_BUDGET);
  });

  it('retries throttled calls and still succeeds', async () => {
    // Prepare
    const aws = fake();
    aws.throttle.set('createModel', 2);
    aws.throttle.set('describeEndpoint', 1);

    // Act
    const run = await runStateMachine('deploy-pipeline-model', MINIMAL_INPUTS['deploy-pipeline-model'], aws);

    // Assess
    expect(run.error).toBeUndefined();
    expect(run.retried.filter((s) => s === 'CreateModel')).toHaveLength(2);
    expect(run.retried).toContain('FindEndpoint');
  });

  it('fails with the FailureReason and removes the failed endpoint, its config and model', async () => {
    // Prepare
    const aws = fake();
    aws.endpointScript = { settleAfterSeconds: 100, outcome: 'Failed', failureReason: 'Container health check failed' };

    // Act
    const run = await runStateMachine('deploy-pipeline-model', MINIMAL_INPUTS['deploy-pipeline-model'], aws);

    // Assess
    expect(run.error?.name).toBe('EndpointFailedError');
    expect(run.error?.cause).toMatch(/iris-pipeline failed; the endpoint is Failed: Container health check failed/);
    expect(aws.endpoints.size).toBe(0);
    expect(aws.endpointConfigs.size).toBe(0);
    expect(aws.models.size).toBe(0);
  });

  it('fails with its own error after the wait timeout and leaves the creating endpoint alone', async () => {
    // Prepare
    const aws = fake();
    aws.endpointScript = { settleAfterSeconds: 0, outcome: 'Never' };
    const input = { ...MINIMAL_INPUTS['deploy-pipeline-model'], wait: { initialSeconds: 60, growthFactor: 2, maxSeconds: 240, timeoutSeconds: 900 } };

    // Act
    const run = await runStateMachine('deploy-pipeline-model', input, aws);

    // Assess
    expect(run.error?.name).toBe('EndpointWaitTimeoutError');
    expect(run.error?.cause).toMatch(/still Creating after 900 seconds/);
    expect(run.waits.reduce((a, b) => a + b, 0)).toBe(900);
    expect(aws.endpoints.get('iris-pipeline')?.status).toBe('Creating');
  });

  it('updates an endpoint in service and removes the replaced config and models', async () => {
    // Prepare
    const aws = fake();
    aws.seedEndpoint('iris-pipeline', 'iris-pipeline-old', ['old-model-a', 'old-model-b']);

    // Act
    const run = await runStateMachine('deploy-pipeline-model', MINIMAL_INPUTS['deploy-pipeline-model'], aws);

    // Assess
    expect(run.error).toBeUndefined();
    expect(aws.shapeErrors).toEqual([]);
    expect(run.output).toMatchObject({ operation: 'updated', replacedEndpointConfigName: 'iris-pipeline-old', replacedKept: false });
    expect(aws.endpoints.get('iris-pipeline')?.configName).toBe(run.output!.endpointConfigName);
    expect(aws.endpointConfigs.has('iris-pipeline-old')).toBe(false);
    expect([...aws.models.keys()]).toEqual([run.output!.modelName]);
    expect(run.entered.length).toBeLessThanOrEqual(TRANSITION_BUDGET);
  });

  it('keeps the replaced config and models when asked', async () => {
    // Prepare
    const aws = fake();
    aws.seedEndpoint('iris-pipeline', 'iris-pipeline-old', ['old-model']);

    // Act
    const run = await runStateMachine('deploy-pipeline-model', { ...MINIMAL_INPUTS['deploy-pipeline-model'], keepReplaced: true }, aws);

    // Assess
    expect(run.output).toMatchObject({ operation: 'updated', replacedKept: true });
    expect(aws.endpointConfigs.has('iris-pipeline-old')).toBe(true);
    expect(aws.models.has('old-model')).toBe(true);
  });

  it('reports a rolled-back update, removes only its own config and model, and keeps the endpoint', async () => {
    // Prepare
    const aws = fake();
    aws.seedEndpoint('iris-pipeline', 'iris-pipeline-old', ['old-model']);
    aws.endpointScript = { settleAfterSeconds: 60, outcome: 'RolledBack', failureReason: 'Model download failed' };

    // Act
    const run = await runStateMachine('deploy-pipeline-model', MINIMAL_INPUTS['deploy-pipeline-model'], aws);

    // Assess
    expect(run.error?.name).toBe('EndpointFailedError');
    expect(run.error?.cause).toMatch(/the endpoint is InService: Model download failed/);
    expect(aws.endpoints.get('iris-pipeline')).toMatchObject({ status: 'InService', configName: 'iris-pipeline-old' });
    expect([...aws.endpointConfigs.keys()]).toEqual(['iris-pipeline-old']);
    expect([...aws.models.keys()]).toEqual(['old-model']);
  });

  it('never deletes an endpoint that was in service before when its update fails', async () => {
    // Prepare
    const aws = fake();
    aws.seedEndpoint('iris-pipeline', 'iris-pipeline-old', ['old-model']);
    aws.endpointScript = { settleAfterSeconds: 60, outcome: 'Failed', failureReason: 'Out of capacity' };

    // Act
    const run = await runStateMachine('deploy-pipeline-model', MINIMAL_INPUTS['deploy-pipeline-model'], aws);

    // Assess
    expect(run.error?.name).toBe('EndpointFailedError');
    expect(aws.endpoints.has('iris-pipeline')).toBe(true);
    expect(aws.models.has('old-model')).toBe(true);
  });

  it('refuses to update an endpoint that is not in service, before creating anything', async () => {
    // Prepare
    const aws = fake();
    aws.seedEndpoint('iris-pipeline', 'iris-pipeline-old', ['old-model']);
    aws.endpoints.get('iris-pipeline')!.status = 'Updating';

    // Act
    const run = await runStateMachine('deploy-pipeline-model', MINIMAL_INPUTS['deploy-pipeline-model'], aws);

    // Assess
    expect(run.error).toEqual({ name: 'EndpointNotUpdatableError', cause: expect.stringMatching(/iris-pipeline is Updating/) });
    expect(aws.calls.filter((c) => c.action.includes(':create'))).toEqual([]);
  });

  it('honours updateEndpoint: true for a missing endpoint and false for an existing one', async () => {
    // Prepare
    const missing = fake();
    const existing = fake();
    existing.seedEndpoint('iris-pipeline', 'cfg', ['m']);

    // Act
    const update = await runStateMachine('deploy-pipeline-model', { ...MINIMAL_INPUTS['deploy-pipeline-model'], updateEndpoint: true }, missing);
    const create = await runStateMachine('deploy-pipeline-model', { ...MINIMAL_INPUTS['deploy-pipeline-model'], updateEndpoint: false }, existing);

    // Assess
    expect(update.error?.name).toBe('EndpointNotFoundError');
    expect(create.error?.name).toBe('EndpointExistsError');
    expect([...missing.calls, ...existing.calls].filter((c) => c.action.includes(':create'))).toEqual([]);
  });

  it('rejects a bad input in the first state, naming the field, before any call to SageMaker', async () => {
    // Prepare
    const aws = fake();

    // Act
    const run = await runStateMachine('deploy-pipeline-model', { ...MINIMAL_INPUTS['deploy-pipeline-model'], endpointName: 'bad_name' }, aws);

    // Assess
    expect(run.error?.name).toBe('WorkflowInputError');
    expect(run.error?.cause).toMatch(/endpointName: must be 1 to 63 letters/);
    expect(run.entered).toEqual(['Prepare']);
    expect(aws.calls).toEqual([]);
  });

  it('deploys the containers of an approved model package and refuses an unapproved one', async () => {
    // Prepare
    const { containers: _c, ...rest } = MINIMAL_INPUTS['deploy-pipeline-model'];
    const approved = fake();
    const pending = fake();
    const arn = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/iris/1';
    approved.modelPackages.set(arn, { ModelPackageName: 'iris', ModelPackageArn: arn, ModelApprovalStatus: 'Approved' });
    pending.modelPackages.set(arn, { ModelPackageName: 'iris', ModelPackageArn: arn, ModelApprovalStatus: 'PendingManualApproval' });

    // Act
    const ok = await runStateMachine('deploy-pipeline-model', { ...rest, modelPackageName: arn }, approved);
    const refused = await runStateMachine('deploy-pipeline-model', { ...rest, modelPackageName: arn }, pending);

    // Assess
    expect(ok.error).toBeUndefined();
    expect(approved.models.get(ok.output!.modelName)?.PrimaryContainer).toEqual({ ModelPackageName: arn });
    expect(refused.error).toEqual({ name: 'ModelPackageNotApprovedError', cause: expect.stringMatching(/is PendingManualApproval/) });
    expect(pending.models.size).toBe(0);
  });

  it('deploys every option of the full input with requests that match the SageMaker API', async () => {
    // Prepare
    const aws = fake();
    aws.seedEndpoint('iris-pipeline', 'iris-pipeline-old', ['old-model']);

    // Act
    const run = await runStateMachine('deploy-pipeline-model', FULL_INPUTS['deploy-pipeline-model'], aws);

    // Assess
    expect(run.error).toBeUndefined();
    expect(aws.shapeErrors).toEqual([]);
    expect(aws.endpointConfigs.get(run.output!.endpointConfigName)?.DataCaptureConfig).toBeDefined();
  });

  it('cleans up its config and model when endpoint creation is refused', async () => {
    // Prepare
    const aws = fake();
    aws.endpointConfigs.set('unrelated', {});
    const original = aws.sagemaker.bind(aws);
    aws.sagemaker = (action, request) => {
      if (action === 'createEndpoint') {
        const error = new Error('The account-level service limit is exceeded');
        error.name = 'SageMaker.ResourceLimitExceededException';
        throw error;
      }
      return original(action, request);
    };

    // Act
    const run = await runStateMachine('deploy-pipeline-model', MINIMAL_INPUTS['deploy-pipeline-model'], aws);

    // Assess
    expect(run.error?.name).toBe('SageMaker.ResourceLimitExceededException');
    expect([...aws.endpointConfigs.keys()]).toEqual(['unrelated']);
    expect(aws.models.size).toBe(0);
  });
});

describe('State machine: deploy-pipeline-model (answers lost after the call took effect)', () => {
  it('confirms a model, config and endpoint whose create answers were lost, and waits within 40 transitions plus the confirmations', async () => {
    // Prepare
    const aws = fake();
    for (const action of ['createModel', 'createEndpointConfig', 'createEndpoint']) aws.loseAnswer.set(action, 1);

    // Act
    const run = await runStateMachine('deploy-pipeline-model', MINIMAL_INPUTS['deploy-pipeline-model'], aws);

    // Assess
    expect(run.error).toBeUndefined();
    expect(aws.shapeErrors).toEqual([]);
    expect(run.output).toMatchObject({ endpointName: 'iris-pipeline', endpointStatus: 'InService', operation: 'created' });
    expect(run.entered.slice(0, 11)).toEqual([
      'Prepare',
      'FindEndpoint',
      'ChooseModelSource',
      'CreateModel',
      'ConfirmModel',
      'CreateEndpointConfig',
      'ConfirmEndpointConfig',
      'CreateOrUpdateEndpoint',
      'CreateEndpoint',
      'ConfirmEndpointDeployment',
      'CheckEndpointDeployment',
    ]);
    expect(run.retried).toEqual(['CreateModel', 'CreateEndpointConfig', 'CreateEndpoint']);
    expect([aws.models.size, aws.endpointConfigs.size, aws.endpoints.size]).toEqual([1, 1, 1]);
    expect(run.entered.length).toBeLessThanOrEqual(TRANSITION_BUDGET + 3);
  });

  it('waits for its own update when the UpdateEndpoint answer was lost and the endpoint is updating to its config', async () => {
    // Prepare
    const aws = fake();
    aws.seedEndpoint('iris-pipeline', 'iris-pipeline-old', ['old-model']);
    aws.loseAnswer.set('updateEndpoint', 1);

    // Act
    const run = await runStateMachine('deploy-pipeline-model', MINIMAL_INPUTS['deploy-pipeline-model'], aws);

    // Assess
    expect(run.error).toBeUndefined();
    expect(run.output).toMatchObject({ operation: 'updated', replacedEndpointConfigName: 'iris-pipeline-old' });
    expect(run.entered).toContain('CheckEndpointDeployment');
    expect(aws.endpoints.get('iris-pipeline')?.configName).toBe(run.output!.endpointConfigName);
    expect([...aws.models.keys()]).toEqual([run.output!.modelName]);
  });

  it('keeps the refusal when someone else\'s update is in progress, removing only its own config and model', async () => {
    // Prepare: between the look-up and the update, another deployment starts updating the endpoint.
    const aws = fake();
    aws.seedEndpoint('iris-pipeline', 'iris-pipeline-old', ['old-model']);
    aws.endpointConfigs.set('rival-config', {});
    aws.beforeAction.set('updateEndpoint', () => Object.assign(aws.endpoints.get('iris-pipeline')!, { status: 'Updating', pending: 'rival-config', changing: true }));

    // Act
    const run = await runStateMachine('deploy-pipeline-model', MINIMAL_INPUTS['deploy-pipeline-model'], aws);

    // Assess
    expect(run.error).toEqual({ name: 'SageMaker.ValidationException', cause: 'Cannot update in-progress endpoint' });
    expect(run.entered.slice(-5)).toEqual(['ConfirmEndpointDeployment', 'CheckEndpointDeployment', 'DeleteEndpointConfig', 'DeleteModel', 'DeploymentFailed']);
    expect([...aws.endpointConfigs.keys()].sort()).toEqual(['iris-pipeline-old', 'rival-config']);
    expect([...aws.models.keys()]).toEqual(['old-model']);
    expect(aws.endpoints.has('iris-pipeline')).toBe(true);
  });

  it('keeps a refusal of CreateModel that did not create the model, and cleans up as before', async () => {
    // Prepare: a refusal that is no duplicate (SageMaker rejects the image); no model by the derived name exists.
    const aws = fake();
    const original = aws.sagemaker.bind(aws);
    aws.sagemaker = (action, request) => {
      if (action === 'createModel') throw Object.assign(new Error('Image smhost/onnx:latest does not exist'), { name: 'SageMaker.ValidationException' });
      return original(action, request);
    };

    // Act
    const run = await runStateMachine('deploy-pipeline-model', MINIMAL_INPUTS['deploy-pipeline-model'], aws);

    // Assess
    expect(run.error).toEqual({ name: 'SageMaker.ValidationException', cause: 'Image smhost/onnx:latest does not exist' });
    expect(run.entered.slice(-4)).toEqual(['CreateModel', 'ConfirmModel', 'DeleteModel', 'DeploymentFailed']);
    expect(aws.calls.map((c) => c.action)).not.toContain('sagemaker:createEndpointConfig');
  });
});

describe('State machine: deploy-multi-model-endpoint', () => {
  it('creates a MultiModel endpoint over models/<endpoint>/ and records it in the registry within 40 transitions', async () => {
    // Prepare
    const aws = fake();

    // Act
    const run = await runStateMachine('deploy-multi-model-endpoint', MINIMAL_INPUTS['deploy-multi-model-endpoint'], aws);

    // Assess
    expect(run.error).toBeUndefined();
    expect(aws.shapeErrors).toEqual([]);
    expect(aws.models.get(run.output!.modelName)?.PrimaryContainer).toMatchObject({
      Mode: 'MultiModel',
      ModelDataUrl: 's3://smhost-dev-artifacts-123456789012/models/iris-mme/',
    });
    expect(aws.dynamoItems.get('smhost-dev-registry|ENDPOINTS|iris-mme')).toEqual({
      pk: { S: 'ENDPOINTS' },
      sk: { S: 'iris-mme' },
      kind: { S: 'endpoint' },
      endpoint: { S: 'iris-mme' },
      createdAt: { S: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
    });
    expect(run.entered.length).toBeLessThanOrEqual(TRANSITION_BUDGET);
  });

  it('updates an existing multi-model endpoint, keeping the registry record it already had', async () => {
    // Prepare
    const aws = fake();
    aws.seedEndpoint('iris-mme', 'iris-mme-old', ['iris-mme-old-model']);
    aws.dynamoItems.set('smhost-dev-registry|ENDPOINTS|iris-mme', { createdAt: { S: 'earlier' } });

    // Act
    const run = await runStateMachine('deploy-multi-model-endpoint', MINIMAL_INPUTS['deploy-multi-model-endpoint'], aws);

    // Assess
    expect(run.error).toBeUndefined();
    expect(run.output).toMatchObject({ operation: 'updated', replacedEndpointConfigName: 'iris-mme-old' });
    expect(aws.dynamoItems.get('smhost-dev-registry|ENDPOINTS|iris-mme')).toEqual({ createdAt: { S: 'earlier' } });
    expect(aws.models.has('iris-mme-old-model')).toBe(false);
  });
});

describe('State machine: register-model-package', () => {
  it('creates the missing group, registers every field and returns the package ARN', async () => {
    // Prepare
    const aws = fake();

    // Act
    const run = await runStateMachine('register-model-package', FULL_INPUTS['register-model-package'], aws);

    // Assess
    expect(run.error).toBeUndefined();
    expect(aws.shapeErrors).toEqual([]);
    expect(run.output).toEqual({ modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/iris/1' });
    expect(aws.modelPackageGroups.has('iris')).toBe(true);
    expect(aws.modelPackages.get(run.output!.modelPackageArn)?.ModelMetrics?.Bias).toBeDefined();
  });

  it('adds a version to an existing group without creating it again', async () => {
    // Prepare
    const aws = fake();
    aws.modelPackageGroups.add('iris');

    // Act
    const first = await runStateMachine('register-model-package', MINIMAL_INPUTS['register-model-package'], aws);
    const second = await runStateMachine('register-model-package', MINIMAL_INPUTS['register-model-package'], aws);

    // Assess
    expect(first.output).toEqual({ modelPackageArn: expect.stringMatching(/\/iris\/1$/) });
    expect(second.output).toEqual({ modelPackageArn: expect.stringMatching(/\/iris\/2$/) });
    expect(aws.calls.filter((c) => c.action === 'sagemaker:createModelPackageGroup')).toEqual([]);
  });

  it('registers an unversioned package by name without any group', async () => {
    // Prepare
    const aws = fake();
    const { modelPackageGroupName: _g, ...rest } = MINIMAL_INPUTS['register-model-package'];

    // Act
    const run = await runStateMachine('register-model-package', { ...rest, modelPackageName: 'iris-one' }, aws);

    // Assess
    expect(run.output).toEqual({ modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/iris-one' });
    expect(aws.modelPackageGroups.size).toBe(0);
  });
});

describe('State machine: batch-transform', () => {
  it('runs the job with every option and returns its description and the output keys under the dated path', async () => {
    // Prepare
    const aws = fake();
    aws.models.set('iris-pipeline-model', {});
    aws.s3Objects.add('batch/input/a.csv');
    aws.s3Objects.add('batch/input/sub/b.csv');

    // Act
    const run = await runStateMachine('batch-transform', FULL_INPUTS['batch-transform'], aws);

    // Assess
    expect(run.error).toBeUndefined();
    expect(aws.shapeErrors).toEqual([]);
    expect(run.output).toMatchObject({
      outputPath: 's3://smhost-dev-artifacts-123456789012/batch/output/2024-05-01T09-30-00Z/',
      outputKeys: ['batch/output/2024-05-01T09-30-00Z/a.csv.out', 'batch/output/2024-05-01T09-30-00Z/sub/b.csv.out'],
      outputKeysTruncated: false,
      transformJob: { TransformJobStatus: 'Completed', BatchStrategy: 'MultiRecord' },
    });
    expect(run.output!.transformJobName).toMatch(/^nightly-iris-[0-9a-f]{10}$/);
  });

  it('returns an empty output list when the input prefix held nothing', async () => {
    // Prepare
    const aws = fake();
    aws.models.set('iris-pipeline-model', {});

    // Act
    const run = await runStateMachine('batch-transform', MINIMAL_INPUTS['batch-transform'], aws);

    // Assess
    expect(run.error).toBeUndefined();
    expect(run.output).toMatchObject({ outputKeys: [], outputPath: 's3://smhost-dev-artifacts-123456789012/batch/output' });
  });

  it('fails with the SageMaker error when the model does not exist', async () => {
    // Prepare
    const aws = fake();

    // Act
    const run = await runStateMachine('batch-transform', MINIMAL_INPUTS['batch-transform'], aws);

    // Assess
    expect(run.error?.name).toBe('SageMaker.AmazonSageMakerException');
    expect(run.error?.cause).toMatch(/Could not find model/);
    expect(run.entered).toEqual(['Prepare', 'RunTransformJob', 'ClassifyStartFailure', 'TransformFailed']);
    expect(aws.calls.filter((c) => c.action === 'sagemaker:createTransformJob')).toHaveLength(1);
  });

  it('retries a throttled start with pauses drawn below growing caps, then fails with SageMaker\'s error once they are spent', async () => {
    // Prepare
    const aws = fake();
    aws.models.set('iris-pipeline-model', {});
    aws.throttle.set('createTransformJob', 10);

    // Act
    const run = await runStateMachine('batch-transform', MINIMAL_INPUTS['batch-transform'], aws);

    // Assess
    expect(run.error?.name).toBe('SageMaker.AmazonSageMakerException');
    expect(run.error?.cause).toMatch(/Error Code: ThrottlingException;/);
    expect(aws.calls.filter((c) => c.action === 'sagemaker:createTransformJob')).toHaveLength(5);
    const pauses = run.waitInputs.filter((w) => w.state === 'WaitBeforeStartRetry').map((w) => w.input.startRetry);
    const caps = startRetryCaps(TRANSFORM_JOB_START_RETRY);
    expect(pauses.map((p) => p.index)).toEqual([1, 2, 3, 4]);
    pauses.forEach((p, i) => {
      expect(Number.isInteger(p.seconds)).toBe(true);
      expect(p.seconds).toBeGreaterThanOrEqual(0);
      expect(p.seconds).toBeLessThanOrEqual(caps[i]!);
    });
  });

  it('succeeds after a throttled start once SageMaker takes the job', async () => {
    // Prepare
    const aws = fake();
    aws.models.set('iris-pipeline-model', {});
    aws.throttle.set('createTransformJob', 2);

    // Act
    const run = await runStateMachine('batch-transform', MINIMAL_INPUTS['batch-transform'], aws);

    // Assess
    expect(run.error).toBeUndefined();
    expect(run.output!.transformJob).toMatchObject({ TransformJobStatus: 'Completed' });
    expect(run.entered.filter((s) => s === 'ScheduleStartRetry')).toHaveLength(2);
  });

  it('follows the job a lost start answer left running, polling on the growing schedule, to the .sync output', async () => {
    // Prepare
    const aws = fake();
    aws.models.set('iris-pipeline-model', {});
    aws.loseAnswer.set('createTransformJob', 1);
    aws.transformScript = { outcome: 'InProgress' };
    let polls = 0;
    const original = aws.sagemaker.bind(aws);
    aws.sagemaker = (action, request) => {
      const answer = original(action, request);
      if (action === 'describeTransformJob' && (polls += 1) === 3) {
        Object.assign(aws.transformJobs.get(request.TransformJobName)!, { TransformJobStatus: 'Completed' });
        return { ...answer, TransformJobStatus: 'Completed' };
      }
      return answer;
    };

    // Act
    const run = await runStateMachine('batch-transform', MINIMAL_INPUTS['batch-transform'], aws);

    // Assess
    expect(run.error).toBeUndefined();
    expect(aws.shapeErrors).toEqual([]);
    expect(run.output).toMatchObject({ transformJobName: expect.stringMatching(/^iris-pipeline-model-/), transformJob: { TransformJobStatus: 'Completed' }, outputKeys: [] });
    expect(run.waitInputs.filter((w) => w.state === 'WaitForTransformJob').map((w) => w.input.jobPoll.seconds)).toEqual(
      transformJobSchedules().jobWait.intervals.slice(0, 2),
    );
    expect(aws.transformJobs.size).toBe(1);
  });

  it('fails with TransformJobFailedError and SageMaker\'s reason when a job fails, followed or not', async () => {
    // Prepare
    const runs = [];
    for (const lose of [0, 1]) {
      const aws = fake();
      aws.models.set('iris-pipeline-model', {});
      aws.transformScript = { outcome: 'Failed', failureReason: 'ClientError: no input objects under the prefix' };
      if (lose) aws.loseAnswer.set('createTransformJob', 1);

      // Act
      runs.push(await runStateMachine('batch-transform', MINIMAL_INPUTS['batch-transform'], aws));
    }

    // Assess
    for (const run of runs) {
      expect(run.error?.name).toBe('TransformJobFailedError');
      expect(run.error?.cause).toMatch(/^Transform job iris-pipeline-model-[0-9a-f]{10} ended Failed: ClientError: no input objects under the prefix$/);
    }
  });

  it('fails with TransformJobWaitTimeoutError when a followed job outlasts the timeout, leaving it running', async () => {
    // Prepare
    const aws = fake();
    aws.models.set('iris-pipeline-model', {});
    aws.loseAnswer.set('createTransformJob', 1);
    aws.transformScript = { outcome: 'InProgress' };

    // Act
    const run = await runStateMachine('batch-transform', MINIMAL_INPUTS['batch-transform'], aws);

    // Assess
    expect(run.error?.name).toBe('TransformJobWaitTimeoutError');
    expect(run.error?.cause).toMatch(/^Transform job iris-pipeline-model-[0-9a-f]{10} was still InProgress after 86400 seconds of following it; it was left running$/);
    expect(run.entered.filter((s) => s === 'WaitForTransformJob')).toHaveLength(transformJobSchedules().jobWait.count);
  });
});
