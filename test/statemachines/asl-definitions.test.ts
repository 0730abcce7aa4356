import { describe, expect, it } from 'vitest';
import aslValidator from 'asl-validator';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoDocumentClient } from '../../src/aws/clients';
import { DynamoRegistry } from '../../src/multimodel/registry';
import { WORKFLOW_NAMES } from '../../src/workflows/workflow-schemas';
import { TRANSFORM_JOB_FOLLOW, TRANSFORM_JOB_TIMEOUT_SECONDS } from '../../src/workflows/transform-job-follow';
import { operationInputSchema, shapeProblems, templateNameProblems } from './sdk-request-shapes';
import { allStates, loadDefinition } from './run-state-machine';

const definitions = WORKFLOW_NAMES.map((workflow) => [workflow, loadDefinition(workflow)] as const);

function tasks(definition: Record<string, any>) {
  return allStates(definition).filter(([, state]) => state.Type === 'Task');
}

describe('State machine definitions', () => {
  it.each(definitions)('%s passes asl-validator', (_workflow, definition) => {
    // Act (asl-validator fills in defaults such as QueryLanguage, so it gets a copy)
    const result = aslValidator(structuredClone(definition));

    // Assess
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it.each(definitions)('%s stays within the JSONPath subset the local engine runs', (_workflow, definition) => {
    // Act
    const text = JSON.stringify(definition);

    // Assess
    expect(text.match(/"QueryLanguage"|"Assign"|"Arguments"|"Output"|waitForTaskToken|\{%/g)).toBeNull();
    // aws-local-stepfunctions answers false to every `IsPresent: false`, so only `Not` + `IsPresent: true` is used.
    expect(text.match(/"IsPresent":false/g)).toBeNull();
  });

  it.each(definitions)('%s starts by preparing the input with the workflow name', (workflow, definition) => {
    // Act
    const first = definition.States[definition.StartAt];

    // Assess
    expect(first.Resource).toBe('arn:aws:states:::lambda:invoke');
    expect(first.Parameters.Payload).toEqual({
      workflow,
      'input.$': '$',
      execution: { 'name.$': '$$.Execution.Name', 'startTime.$': '$$.Execution.StartTime' },
    });
  });

  it.each(definitions)('%s retries every task on throttling with a capped, fully jittered backoff', (_workflow, definition) => {
    // Act: the optimized SageMaker integration names every error alike, so its retries are a loop of their own (below).
    const retriers = tasks(definition)
      .filter(([, state]) => !(state.Resource as string).startsWith('arn:aws:states:::sagemaker:'))
      .map(([name, state]) => [name, state.Retry?.[0]] as const);

    // Assess
    for (const [name, retrier] of retriers) {
      expect(retrier, name).toBeDefined();
      expect(retrier.JitterStrategy, name).toBe('FULL');
      expect(retrier.MaxDelaySeconds, name).toBeGreaterThan(0);
      expect(retrier.BackoffRate, name).toBeGreaterThan(1);
    }
    const sageMakerRetried = tasks(definition)
      .filter(([, s]) => (s.Resource as string).startsWith('arn:aws:states:::aws-sdk:sagemaker:'))
      .every(([, s]) => s.Retry[0].ErrorEquals.includes('SageMaker.ThrottlingException'));
    expect(sageMakerRetried).toBe(true);
  });

  it('gives the .sync transform task an explicit timeout, the one a followed job is waited for', () => {
    // Act
    const sync = definitions.flatMap(([, d]) => tasks(d)).filter(([, s]) => (s.Resource as string).endsWith('.sync'));

    // Assess
    expect(sync.length).toBeGreaterThan(0);
    for (const [name, state] of sync) expect(state.TimeoutSeconds, name).toBe(TRANSFORM_JOB_TIMEOUT_SECONDS);
    expect(TRANSFORM_JOB_FOLLOW.timeoutSeconds).toBe(TRANSFORM_JOB_TIMEOUT_SECONDS);
  });

  it.each(['deploy-pipeline-model', 'deploy-multi-model-endpoint'])(
    '%s confirms a create refused as a duplicate by describing the derived name before it cleans anything up',
    (workflow) => {
      // Prepare
      const states = loadDefinition(workflow).States;

      // Act
      const firstCatch = (state: string) => [states[state].Catch[0].ErrorEquals, states[state].Catch[0].Next];
      const confirm = (state: string) => [states[state].Resource, states[state].Parameters, states[state].Catch[0].Next];

      // Assess
      expect(firstCatch('CreateModel')).toEqual([['SageMaker.ValidationException'], 'ConfirmModel']);
      expect(firstCatch('CreateEndpointConfig')).toEqual([['SageMaker.ValidationException'], 'ConfirmEndpointConfig']);
      expect(firstCatch('CreateEndpoint')).toEqual([['SageMaker.ValidationException'], 'ConfirmEndpointDeployment']);
      expect(firstCatch('UpdateEndpoint')).toEqual([['SageMaker.ValidationException'], 'ConfirmEndpointDeployment']);
      expect(confirm('ConfirmModel')).toEqual(['arn:aws:states:::aws-sdk:sagemaker:describeModel', { 'ModelName.$': '$.names.model' }, 'DeleteModel']);
      expect(confirm('ConfirmEndpointConfig')).toEqual([
        'arn:aws:states:::aws-sdk:sagemaker:describeEndpointConfig',
        { 'EndpointConfigName.$': '$.names.endpointConfig' },
        'DeleteEndpointConfig',
      ]);
      expect(states.ConfirmModel.Next).toBe('CreateEndpointConfig');
      expect(states.ConfirmEndpointConfig.Next).toBe('CreateOrUpdateEndpoint');
      expect(states.ConfirmEndpointDeployment.Next).toBe('CheckEndpointDeployment');
      expect(states.CheckEndpointDeployment.Default).toBe('DeleteEndpointConfig');
    },
  );

  it('retries a transform start only for the transient codes in the cause, with jittered pauses, and follows a job that already has its name', () => {
    // Prepare
    const states = loadDefinition('batch-transform').States;
    const classify = states.ClassifyStartFailure;

    // Act
    const patterns = JSON.stringify(classify.Choices[1]);

    // Assess
    expect(states.RunTransformJob.Retry).toBeUndefined();
    expect(states.RunTransformJob.Catch.map((c: { ErrorEquals: string[]; Next: string }) => [c.ErrorEquals, c.Next])).toEqual([
      [['SageMaker.AmazonSageMakerException'], 'ClassifyStartFailure'],
      [['States.TaskFailed'], 'DescribeTransformJob'],
    ]);
    expect(classify.Choices[0]).toEqual({ Variable: '$.failure.Cause', StringMatches: '*Error Code: ResourceInUse;*', Next: 'DescribeTransformJob' });
    for (const code of ['ThrottlingException', 'InternalFailure', 'ServiceUnavailable']) expect(patterns).toContain(`*Error Code: ${code};*`);
    expect(classify.Choices[1].Next).toBe('ScheduleStartRetry');
    expect(classify.Default).toBe('TransformFailed');
    expect(states.ScheduleStartRetry.Parameters['seconds.$']).toMatch(/^States\.MathRandom\(0, /);
    expect(states.WaitBeforeStartRetry.Next).toBe('RunTransformJob');
  });

  it.each(definitions)('%s names only request members the service model has', (_workflow, definition) => {
    // Prepare
    const checked = tasks(definition).filter(([, s]) => s.Parameters && !(s.Resource as string).includes(':lambda:'));

    // Act
    const problems = checked.flatMap(([name, state]) => {
      const match = /^arn:aws:states:::(?:aws-sdk:)?(sagemaker|s3|dynamodb):(\w+)/.exec(state.Resource as string);
      if (!match) return [`${name}: unexpected resource ${state.Resource}`];
      return templateNameProblems(state.Parameters, operationInputSchema(match[1]!, match[2]!)).map((p) => `${name}: ${p}`);
    });

    // Assess
    expect(problems).toEqual([]);
  });

  it('catches a wrong member name (the check itself works)', () => {
    // Act
    const problems = shapeProblems({ ModelNmae: 'x', ExecutionRoleArn: 3 }, operationInputSchema('sagemaker', 'createModel'));
    const template = templateNameProblems({ 'EndpointNmae.$': '$.x' }, operationInputSchema('sagemaker', 'describeEndpoint'));

    // Assess
    expect(problems).toEqual([
      '(request).ModelNmae: not a member of CreateModelInput',
      '(request).ExecutionRoleArn: expected a string',
      '(request).ModelName: required by CreateModelInput',
    ]);
    expect(template).toEqual([
      '(Parameters).EndpointNmae: not a member of DescribeEndpointInput',
      '(Parameters).EndpointName: required by DescribeEndpointInput',
    ]);
  });

  it('writes the same registry item as DynamoRegistry.ensureEndpoint', async () => {
    // Prepare
    const dynamo = mockClient(DynamoDBDocumentClient);
    dynamo.on(PutCommand).resolves({});
    const registry = new DynamoRegistry(createDynamoDocumentClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }), 'smhost-dev-registry');
    const record = tasks(loadDefinition('deploy-multi-model-endpoint')).find(([name]) => name === 'RecordEndpoint')![1];

    // Act
    await registry.ensureEndpoint('iris-mme', new Date('2024-05-01T09:30:00Z'));
    const written = dynamo.commandCalls(PutCommand)[0]!.args[0].input;
    dynamo.restore();

    // Assess
    const aslItem = Object.fromEntries(
      Object.entries(record.Parameters.Item as Record<string, Record<string, string>>).map(([key, value]) => [
        key,
        value['S'] ?? (value['S.$'] === '$.endpointName' ? 'iris-mme' : value['S.$'] === '$$.Execution.StartTime' ? '2024-05-01T09:30:00.000Z' : value['S.$']),
      ]),
    );
    expect(aslItem).toEqual(written.Item);
    expect(record.Parameters.ConditionExpression).toBe(written.ConditionExpression);
  });
});
