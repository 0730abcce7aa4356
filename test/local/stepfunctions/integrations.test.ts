import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateStateMachineCommand, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { CreateModelCommand, DescribeTransformJobCommand } from '@aws-sdk/client-sagemaker';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { TransformRunner } from '../../../src/local/sagemaker';
import { startLocalAws, type LocalAws } from '../../support/local-aws';
import { CREDENTIALS, ONNX_IMAGE, ROLE, startStack, uploadIris, type TestStack } from '../sagemaker/support';
import { asl, history, ROLE_ARN, runToEnd, startSfn, type SfnHarness } from './support';

let sagemaker: TestStack;
let aws: LocalAws;
let harness: SfnHarness;
let scalerUrl: string;

/**
 * Stands in for the emulator's job runner: a job of model `fails-*` fails, of `never-*` runs until it is
 * stopped, any other completes after a few updates.
 */
const transformRunner: TransformRunner = async (job, signal, update) => {
  const model = String(job.ModelName);
  if (model.startsWith('never')) {
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    update({ TransformJobStatus: 'Stopped', TransformEndTime: Date.now() / 1000 });
    return;
  }
  await new Promise((resolve) => setTimeout(resolve, 30));
  if (model.startsWith('fails')) update({ TransformJobStatus: 'Failed', FailureReason: 'ClientError: the input is not CSV', TransformEndTime: Date.now() / 1000 });
  else update({ TransformJobStatus: 'Completed', TransformEndTime: Date.now() / 1000 });
};

async function machine(name: string, definition: unknown): Promise<string> {
  const created = await harness.sfn.send(new CreateStateMachineCommand({ name, definition: asl(definition), roleArn: ROLE_ARN }));
  return created.stateMachineArn!;
}

function transformParameters(jobName: string, modelName: string) {
  return { TransformJobName: jobName, ModelName: modelName, ...jobSettings() };
}

function jobSettings() {
  return {
    TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://models/input/' } }, ContentType: 'text/csv' },
    TransformOutput: { S3OutputPath: 's3://models/output/' },
    TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1 },
  };
}

beforeAll(async () => {
  sagemaker = await startStack({ transformRunner });
  scalerUrl = (await uploadIris(sagemaker)).scaler;
  aws = await startLocalAws();
  harness = await startSfn({
    clientOptions: { credentials: CREDENTIALS, region: 'us-east-1' },
    endpoints: { sagemaker: sagemaker.server.url, dynamodb: aws.dynamoEndpoint, s3: aws.s3Endpoint },
    syncPollSeconds: 2,
  });
  for (const name of ['transform-model', 'fails-model', 'never-model']) {
    await sagemaker.sagemaker.send(new CreateModelCommand({ ModelName: name, ExecutionRoleArn: ROLE, PrimaryContainer: { Image: ONNX_IMAGE, ModelDataUrl: scalerUrl } }));
  }
});

afterAll(async () => {
  await harness?.close();
  await aws?.stop();
  await sagemaker?.stop();
});

describe('Function: TaskDispatcher (SageMaker)', () => {
  it('deploys an endpoint with optimized tasks and a describeEndpoint wait loop against the emulator', async () => {
    // Prepare
    const arn = await machine('deploy', {
      StartAt: 'CreateModel',
      States: {
        CreateModel: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sagemaker:createModel',
          Parameters: { 'ModelName.$': '$.name', ExecutionRoleArn: ROLE, PrimaryContainer: { Image: ONNX_IMAGE, 'ModelDataUrl.$': '$.modelData' } },
          ResultPath: '$.model',
          Next: 'CreateConfig',
        },
        CreateConfig: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sagemaker:createEndpointConfig',
          Parameters: {
            'EndpointConfigName.$': '$.name',
            ProductionVariants: [{ VariantName: 'main', 'ModelName.$': '$.name', InitialInstanceCount: 1, InstanceType: 'ml.m5.large' }],
          },
          ResultPath: '$.config',
          Next: 'CreateEndpoint',
        },
        CreateEndpoint: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sagemaker:createEndpoint',
          Parameters: { 'EndpointName.$': '$.name', 'EndpointConfigName.$': '$.name' },
          ResultPath: '$.endpoint',
          Next: 'Describe',
        },
        Describe: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:sagemaker:describeEndpoint',
          Parameters: { 'EndpointName.$': '$.name' },
          ResultSelector: { 'status.$': '$.EndpointStatus', 'creationTime.$': '$.CreationTime' },
          ResultPath: '$.described',
          Next: 'InService?',
        },
        'InService?': {
          Type: 'Choice',
          Choices: [
            { Variable: '$.described.status', StringEquals: 'InService', Next: 'Deployed' },
            { Variable: '$.described.status', StringEquals: 'Failed', Next: 'DeployFailed' },
          ],
          Default: 'Pause',
        },
        Pause: { Type: 'Wait', Seconds: 5, Next: 'Describe' },
        DeployFailed: { Type: 'Fail', Error: 'EndpointFailed' },
        Deployed: { Type: 'Succeed' },
      },
    });

    // Act
    const described = await runToEnd(harness, arn, { name: 'sfn-deployed', modelData: scalerUrl });
    const events = await history(harness.sfn, described.executionArn!);

    // Assess
    expect(described.status).toBe('SUCCEEDED');
    const output = JSON.parse(described.output!);
    expect(output.model).toEqual({ ModelArn: 'arn:aws:sagemaker:us-east-1:000000000000:model/sfn-deployed' });
    expect(output.endpoint).toEqual({ EndpointArn: 'arn:aws:sagemaker:us-east-1:000000000000:endpoint/sfn-deployed' });
    expect(output.described.status).toBe('InService');
    expect(output.described.creationTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    const scheduled = events.find((e) => e.type === 'TaskScheduled')!.taskScheduledEventDetails!;
    expect(scheduled).toMatchObject({ resourceType: 'sagemaker', resource: 'createModel', region: 'us-east-1' });
    expect(JSON.parse(scheduled.parameters!)).toMatchObject({ ModelName: 'sfn-deployed' });
    const describeEvents = events.filter((e) => e.taskScheduledEventDetails?.resource === 'describeEndpoint');
    expect(describeEvents[0]!.taskScheduledEventDetails!.resourceType).toBe('aws-sdk:sagemaker');
    const types = events.map((e) => e.type);
    expect(types.slice(1, 7)).toEqual(['TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskSucceeded', 'TaskStateExited', 'TaskStateEntered']);
    expect(types).toContain('WaitStateEntered');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
  });

  it('raises SageMaker.AmazonSageMakerException from an optimized task and SageMaker.<Name>Exception from an AWS SDK task', async () => {
    // Prepare
    const optimized = await machine('optimized-failure', {
      StartAt: 'CreateModel',
      States: {
        CreateModel: { Type: 'Task', Resource: 'arn:aws:states:::sagemaker:createModel', Parameters: { ModelName: 'not a valid name', ExecutionRoleArn: ROLE, PrimaryContainer: { Image: ONNX_IMAGE } }, End: true },
      },
    });
    const sdk = await machine('sdk-failure', {
      StartAt: 'CreateJob',
      States: {
        CreateJob: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:sagemaker:createTransformJob',
          Parameters: transformParameters('job-without-model', 'absent-model'),
          Catch: [{ ErrorEquals: ['SageMaker.ResourceNotFoundException'], ResultPath: '$.caught', Next: 'Caught' }],
          End: true,
        },
        Caught: { Type: 'Pass', End: true },
      },
    });

    // Act
    const optimizedRun = await runToEnd(harness, optimized, {});
    const sdkRun = await runToEnd(harness, sdk, {});
    const failedTask = (await history(harness.sfn, optimizedRun.executionArn!)).find((e) => e.type === 'TaskFailed');

    // Assess
    expect(optimizedRun).toMatchObject({ status: 'FAILED', error: 'SageMaker.AmazonSageMakerException' });
    expect(optimizedRun.cause).toMatch(/\(Service: AmazonSageMaker; Status Code: 400; Error Code: ValidationException; Request ID: .+; Proxy: null\)$/);
    expect(failedTask!.taskFailedEventDetails).toMatchObject({ resourceType: 'sagemaker', resource: 'createModel', error: 'SageMaker.AmazonSageMakerException' });
    expect(sdkRun.status).toBe('SUCCEEDED');
    expect(JSON.parse(sdkRun.output!).caught).toMatchObject({ Error: 'SageMaker.ResourceNotFoundException', Cause: expect.stringContaining('absent-model') });
  });

  it('runs createTransformJob.sync until Completed and returns the job description', async () => {
    // Prepare
    const arn = await machine('transform', {
      StartAt: 'Transform',
      States: {
        Transform: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sagemaker:createTransformJob.sync',
          Parameters: { ...jobSettings(), 'TransformJobName.$': '$.job', 'ModelName.$': '$.model' },
          TimeoutSeconds: 600,
          End: true,
        },
      },
    });

    // Act
    const described = await runToEnd(harness, arn, { job: 'sync-ok', model: 'transform-model' });
    const types = (await history(harness.sfn, described.executionArn!)).map((e) => e.type);

    // Assess
    expect(described.status).toBe('SUCCEEDED');
    expect(JSON.parse(described.output!)).toMatchObject({ TransformJobName: 'sync-ok', TransformJobStatus: 'Completed', ModelName: 'transform-model' });
    expect(types).toEqual(['ExecutionStarted', 'TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskSubmitted', 'TaskSucceeded', 'TaskStateExited', 'ExecutionSucceeded']);
  });

  it('fails a .sync task whose job failed with States.TaskFailed and the description as the cause', async () => {
    // Prepare
    const arn = await machine('transform-fails', {
      StartAt: 'Transform',
      States: { Transform: { Type: 'Task', Resource: 'arn:aws:states:::sagemaker:createTransformJob.sync', Parameters: transformParameters('sync-fails', 'fails-model'), TimeoutSeconds: 600, End: true } },
    });

    // Act
    const described = await runToEnd(harness, arn, {});

    // Assess
    expect(described).toMatchObject({ status: 'FAILED', error: 'States.TaskFailed' });
    expect(JSON.parse(described.cause!)).toMatchObject({ TransformJobStatus: 'Failed', FailureReason: 'ClientError: the input is not CSV' });
  });

  it('stops the transform job when the execution is stopped', async () => {
    // Prepare
    const arn = await machine('transform-stopped', {
      StartAt: 'Transform',
      States: { Transform: { Type: 'Task', Resource: 'arn:aws:states:::sagemaker:createTransformJob.sync', Parameters: transformParameters('sync-stopped', 'never-model'), TimeoutSeconds: 600, End: true } },
    });
    const { executionArn } = await harness.sfn.send(new StartExecutionCommand({ stateMachineArn: arn }));
    const started = Date.now();
    while (Date.now() - started < 5000) {
      const types = (await history(harness.sfn, executionArn!)).map((e) => e.type);
      if (types.includes('TaskSubmitted')) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    // Act
    await harness.sfn.send(new StopExecutionCommand({ executionArn }));
    const ended = await harness.server.service.waitForExecution(executionArn!);
    let status: string | undefined;
    for (let i = 0; i < 100 && status !== 'Stopped'; i += 1) {
      status = (await sagemaker.sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: 'sync-stopped' }))).TransformJobStatus;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    // Assess
    expect(ended.status).toBe('ABORTED');
    expect(status).toBe('Stopped');
  });

  it('fails an operation the optimized integration does not offer with States.TaskFailed naming the AWS SDK alternative', async () => {
    // Prepare
    const arn = await machine('not-optimized', {
      StartAt: 'Describe',
      States: { Describe: { Type: 'Task', Resource: 'arn:aws:states:::sagemaker:describeEndpoint', Parameters: { EndpointName: 'x' }, End: true } },
    });

    // Act
    const described = await runToEnd(harness, arn, {});

    // Assess
    expect(described).toMatchObject({ status: 'FAILED', error: 'States.TaskFailed', cause: expect.stringContaining('arn:aws:states:::aws-sdk:sagemaker:describeEndpoint') });
  });
});

describe('Function: TaskDispatcher (DynamoDB)', () => {
  it('writes and reads items with the optimized integration and names a failed condition DynamoDB.ConditionalCheckFailedException', async () => {
    // Prepare
    const item = { pk: { S: 'ENDPOINTS' }, sk: { S: 'sfn-endpoint' }, kind: { S: 'endpoint' } };
    const arn = await machine('dynamo', {
      StartAt: 'Put',
      States: {
        Put: { Type: 'Task', Resource: 'arn:aws:states:::dynamodb:putItem', Parameters: { TableName: aws.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }, ResultPath: '$.put', Next: 'Get' },
        Get: { Type: 'Task', Resource: 'arn:aws:states:::dynamodb:getItem', Parameters: { TableName: aws.table, Key: { pk: item.pk, sk: item.sk } }, ResultPath: '$.got', Next: 'PutAgain' },
        PutAgain: {
          Type: 'Task',
          Resource: 'arn:aws:states:::dynamodb:putItem',
          Parameters: { TableName: aws.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' },
          Catch: [{ ErrorEquals: ['DynamoDB.ConditionalCheckFailedException'], ResultPath: '$.optimizedConflict', Next: 'SdkPut' }],
          Next: 'SdkPut',
        },
        SdkPut: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:dynamodb:putItem',
          Parameters: { TableName: aws.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' },
          Catch: [{ ErrorEquals: ['DynamoDb.ConditionalCheckFailedException'], ResultPath: '$.sdkConflict', Next: 'Done' }],
          Next: 'Done',
        },
        Done: { Type: 'Succeed' },
      },
    });

    // Act
    const described = await runToEnd(harness, arn, {});
    const stored = await aws.dynamo.send(new GetCommand({ TableName: aws.table, Key: { pk: 'ENDPOINTS', sk: 'sfn-endpoint' } }));

    // Assess
    expect(described.status).toBe('SUCCEEDED');
    const output = JSON.parse(described.output!);
    expect(output.put.SdkHttpMetadata.HttpStatusCode).toBe(200);
    expect(output.got.Item).toEqual(item);
    expect(output.optimizedConflict.Error).toBe('DynamoDB.ConditionalCheckFailedException');
    expect(output.sdkConflict.Error).toBe('DynamoDb.ConditionalCheckFailedException');
    expect(stored.Item).toEqual({ pk: 'ENDPOINTS', sk: 'sfn-endpoint', kind: 'endpoint' });
  });
});

describe('Function: TaskDispatcher (Lambda and others)', () => {
  it('runs the real handler for lambda:invoke (Payload result) and for a plain function ARN (bare result)', async () => {
    // Prepare
    const arn = await machine('lambdas', {
      StartAt: 'Invoke',
      States: {
        Invoke: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'fixture-add', 'Payload.$': '$' }, ResultPath: '$.invoked', Next: 'Direct' },
        Direct: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:000000000000:function:fixture-add', Parameters: { a: 10, b: 20 }, ResultPath: '$.direct', End: true },
      },
    });

    // Act
    const described = await runToEnd(harness, arn, { a: 1, b: 2 });
    const types = (await history(harness.sfn, described.executionArn!)).map((e) => e.type);

    // Assess
    const output = JSON.parse(described.output!);
    expect(output.invoked).toMatchObject({ StatusCode: 200, ExecutedVersion: '$LATEST', Payload: { sum: 3 } });
    expect(output.invoked.SdkResponseMetadata.RequestId).toEqual(expect.any(String));
    expect(output.direct).toEqual({ sum: 30 });
    expect(types).toContain('LambdaFunctionScheduled');
    expect(types).toContain('LambdaFunctionSucceeded');
  });

  it("fails with the handler's errorType and a Lambda-shaped cause, and with Lambda.ResourceNotFoundException for an unknown function", async () => {
    // Prepare
    const arn = await machine('lambda-failures', {
      StartAt: 'Refuse',
      States: {
        Refuse: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:fixture-refuse:$LATEST', Payload: { value: 7 } },
          Catch: [{ ErrorEquals: ['BadInputError'], ResultPath: '$.refused', Next: 'Missing' }],
          End: true,
        },
        Missing: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'no-such-function' }, End: true },
      },
    });

    // Act
    const described = await runToEnd(harness, arn, {});
    const refused = (await history(harness.sfn, described.executionArn!)).find((e) => e.type === 'TaskFailed');

    // Assess
    expect(described).toMatchObject({ status: 'FAILED', error: 'Lambda.ResourceNotFoundException', cause: expect.stringContaining('no-such-function') });
    const cause = JSON.parse(refused!.taskFailedEventDetails!.cause!);
    expect(refused!.taskFailedEventDetails!.error).toBe('BadInputError');
    expect(cause).toMatchObject({ errorType: 'BadInputError', errorMessage: 'refused {"value":7}' });
    expect(cause.trace.length).toBeGreaterThan(0);
  });

  it('retries a failing task with the retrier on the time scale, recording each attempt', async () => {
    // Prepare
    const arn = await machine('retries', {
      StartAt: 'Flaky',
      States: {
        Flaky: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: 'fixture-flaky', Payload: { key: 'retries-test', failures: 2 } },
          OutputPath: '$.Payload',
          Retry: [{ ErrorEquals: ['FlakyError'], IntervalSeconds: 10, BackoffRate: 2, MaxAttempts: 3 }],
          End: true,
        },
      },
    });
    const started = Date.now();

    // Act
    const described = await runToEnd(harness, arn, {});
    const elapsed = Date.now() - started;
    const types = (await history(harness.sfn, described.executionArn!)).map((e) => e.type);

    // Assess: 10 s then 20 s of AWS time are 100 ms and 200 ms at 0.01.
    expect(described).toMatchObject({ status: 'SUCCEEDED', output: '{"attempts":3}' });
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(5000);
    expect(types.filter((t) => t === 'TaskFailed')).toHaveLength(2);
    expect(types.filter((t) => t === 'TaskScheduled')).toHaveLength(3);
    expect(types.filter((t) => t === 'TaskStateEntered')).toHaveLength(1);
  });

  it('times a task out at its TimeoutSeconds with States.Timeout and a TaskTimedOut event', async () => {
    // Prepare
    const arn = await machine('timeout', {
      StartAt: 'Slow',
      States: { Slow: { Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: { FunctionName: 'fixture-slow', Payload: { ms: 3000 } }, TimeoutSeconds: 1, End: true } },
    });

    // Act
    const described = await runToEnd(harness, arn, {});
    const events = await history(harness.sfn, described.executionArn!);

    // Assess
    expect(described).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
    expect(events.map((e) => e.type)).toEqual(['ExecutionStarted', 'TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskTimedOut', 'ExecutionFailed']);
    expect(events[2]!.taskScheduledEventDetails!.timeoutInSeconds).toBe(1);
  });

  it('fails an unknown resource with States.TaskFailed naming it', async () => {
    // Prepare
    const arn = await machine('unknown-resource', {
      StartAt: 'Publish',
      States: { Publish: { Type: 'Task', Resource: 'arn:aws:states:::sns:publish', Parameters: { Message: 'hi' }, End: true } },
    });

    // Act
    const described = await runToEnd(harness, arn, {});

    // Assess
    expect(described).toMatchObject({ status: 'FAILED', error: 'States.TaskFailed', cause: expect.stringContaining('arn:aws:states:::sns:publish is not supported') });
  });
});
