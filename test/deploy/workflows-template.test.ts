import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registrationConfigFromEnv } from '../../src/multimodel/config';
import { deriveName, NAME_HASH_LENGTH } from '../../src/pipeline/names';
import { prepareEnvironmentFrom, prepareTransform } from '../../src/workflows/prepare-workflow';
import { parseWorkflowInput, WORKFLOW_NAMES } from '../../src/workflows/workflow-schemas';
import type { ResolvedResource } from '../../src/cloudformation';
import { cfnSchemasDir, checkTemplate, loadTemplateCheckData, repositoryRoot } from '../../src/deploy';
import { propertiesOf, roleStatements, SAMPLE_ALARM_TOPIC, SAMPLE_CHECK_OPTIONS, SAMPLE_KMS_KEY, TEST_ACCOUNT, usePackagedService } from '../support/packaged-template';

const BUCKET_ARN = `arn:aws:s3:::smhost-dev-artifacts-${TEST_ACCOUNT}`;
const EXECUTION_ROLE_ARN = `arn:aws:iam::${TEST_ACCOUNT}:role/smhost-dev-SageMakerExecutionRole-A1B2C3D4E5F6`;

/** Logical ids of the state machines and their roles, by workflow (the ASL file name). */
const MACHINES = {
  'deploy-multi-model-endpoint': { id: 'DeployMultiModelEndpointStateMachine', role: 'DeployMultiModelEndpointRole', alarm: 'DeployMultiModelEndpointFailedAlarm' },
  'deploy-pipeline-model': { id: 'DeployPipelineModelStateMachine', role: 'DeployPipelineModelRole', alarm: 'DeployPipelineModelFailedAlarm' },
  'register-model-package': { id: 'RegisterModelPackageStateMachine', role: 'RegisterModelPackageRole', alarm: 'RegisterModelPackageFailedAlarm' },
  'batch-transform': { id: 'BatchTransformStateMachine', role: 'BatchTransformRole', alarm: 'BatchTransformFailedAlarm' },
} as const;

const service = usePackagedService('smhost-workflows-package-');

function list(value: unknown): string[] {
  return (Array.isArray(value) ? value : [value]) as string[];
}

/** An IAM resource pattern (`*` any run, `?` one character) as a regular expression. */
function iamPattern(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

describe('Function: packageService (the state machines in serverless.yml)', () => {
  it('holds the four state machines, named <service>-<stage>-<workflow>, with the ASL files as definitions', () => {
    // Prepare
    const resources = service.resolvedWith();

    // Act
    const machines = Object.entries(MACHINES).map(([workflow, { id }]) => ({ workflow, properties: propertiesOf(resources, id) }));

    // Assess
    expect(Object.keys(MACHINES).sort()).toEqual([...WORKFLOW_NAMES].sort());
    for (const { workflow, properties } of machines) {
      const file = readFileSync(join(repositoryRoot(), 'statemachines', `${workflow}.asl.json`), 'utf8');
      // The framework resolves the variables inside the file: the prepare function's name.
      const expected = JSON.parse(file.replaceAll('${self:service}-${sls:stage}', 'smhost-dev'));
      expect(properties.StateMachineName).toBe(`smhost-dev-${workflow}`);
      expect(JSON.parse(properties.DefinitionString)).toEqual(expected);
    }
  });

  it('passes the offline checks, definitions included, and the ASL check finds a broken packaged definition', () => {
    // Prepare
    const data = loadTemplateCheckData(cfnSchemasDir());
    const broken = structuredClone(service.packaged.template);
    const definition = JSON.parse(String(broken.Resources.BatchTransformStateMachine!.Properties!.DefinitionString));
    definition.States.RunTransformJob.Type = 'Job';
    broken.Resources.BatchTransformStateMachine!.Properties!.DefinitionString = JSON.stringify(definition);

    // Act
    const findings = checkTemplate(service.packaged.template, data, SAMPLE_CHECK_OPTIONS);
    const brokenFindings = checkTemplate(broken, data, SAMPLE_CHECK_OPTIONS).filter((f) => f.check === 'state-machine-definition');

    // Assess
    expect(findings).toEqual([]);
    expect(brokenFindings.length).toBeGreaterThan(0);
    expect(brokenFindings.every((f) => f.resource === 'BatchTransformStateMachine')).toBe(true);
    expect(brokenFindings.map((f) => f.message)).toContainEqual(expect.stringContaining('States.RunTransformJob.Type must be one of'));
  });

  it('runs each state machine under its own role, which only Step Functions for that state machine may assume', () => {
    // Act
    const resources = service.resolvedWith();

    // Assess
    for (const [workflow, { id, role }] of Object.entries(MACHINES)) {
      expect(service.packaged.template.Resources[id]!.Properties!.RoleArn).toEqual({ 'Fn::GetAtt': [role, 'Arn'] });
      const trust = propertiesOf(resources, role).AssumeRolePolicyDocument.Statement;
      expect(trust).toEqual([
        {
          Effect: 'Allow',
          Principal: { Service: 'states.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: {
            StringEquals: { 'aws:SourceAccount': TEST_ACCOUNT },
            ArnLike: { 'aws:SourceArn': `arn:aws:states:us-east-1:${TEST_ACCOUNT}:stateMachine:smhost-dev-${workflow}` },
          },
        },
      ]);
    }
  });

  it('lets only the deploy state machines pass the SageMaker execution role, to SageMaker only', () => {
    // Act
    const resources = service.resolvedWith();
    const passing = [...resources.values()]
      .filter((r) => r.type === 'AWS::IAM::Role' && Array.isArray(r.properties.Policies))
      .flatMap((r) => roleStatements(resources, r.logicalId).map((s) => ({ role: r.logicalId, s })))
      .filter(({ s }) => list(s.Action).some((a) => a.toLowerCase() === 'iam:passrole'));

    // Assess
    expect(passing.map(({ role }) => role).sort()).toEqual(['DeployMultiModelEndpointRole', 'DeployPipelineModelRole']);
    for (const { s } of passing) {
      expect(s).toMatchObject({
        Action: ['iam:PassRole'],
        Resource: EXECUTION_ROLE_ARN,
        Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      });
    }
    expect(propertiesOf(resources, 'SageMakerExecutionRole').AssumeRolePolicyDocument.Statement[0].Principal).toEqual({
      Service: 'sagemaker.amazonaws.com',
    });
  });

  it('lets the state machines create only names derived as src/pipeline/names.ts derives them', () => {
    // Prepare
    const resources = service.resolvedWith();
    const execution = { name: 'ci-1234', startTime: '2024-05-01T09:30:00.000Z' };
    const derived = {
      model: deriveName('iris-pipeline', execution, 'model'),
      'endpoint-config': deriveName('iris-pipeline', execution, 'endpoint-config'),
      'transform-job': deriveName('nightly', execution, 'transform-job'),
    };

    // Act
    const createGrants = ['DeployPipelineModelRole', 'DeployMultiModelEndpointRole', 'BatchTransformRole'].flatMap((role) =>
      roleStatements(resources, role).filter((s) => list(s.Action).some((a) => /^sagemaker:Create(Model|EndpointConfig|TransformJob)$/.test(a))),
    );
    const patterns = createGrants.flatMap((s) => list(s.Resource));

    // Assess
    expect(patterns.length).toBeGreaterThan(0);
    for (const pattern of patterns) {
      const [, kind, name] = /:sagemaker:us-east-1:\d{12}:(model|endpoint-config|transform-job)\/(.*)$/.exec(pattern)!;
      expect(name).toBe(`*-${'?'.repeat(NAME_HASH_LENGTH)}`);
      expect(iamPattern(name!).test(derived[kind as keyof typeof derived])).toBe(true);
      expect(iamPattern(name!).test('iris-pipeline')).toBe(false);
    }
  });

  it('grants the SageMaker execution role the model data, transform and capture prefixes, and the key when one is set', () => {
    // Act
    const byDefault: Record<string, Record<string, any>> = Object.fromEntries(
      roleStatements(service.resolvedWith(), 'SageMakerExecutionRole').map((s) => [s.Sid, s]),
    );
    const withKey = roleStatements(service.resolvedWith({ ArtifactsKmsKeyArn: SAMPLE_KMS_KEY }), 'SageMakerExecutionRole');

    // Assess
    expect(byDefault.ReadModelDataAndInputs!.Resource).toEqual([
      `${BUCKET_ARN}/models/*`,
      `${BUCKET_ARN}/pipelines/*`,
      `${BUCKET_ARN}/batch/input/*`,
    ]);
    expect(byDefault.ListModelDataAndInputs).toMatchObject({
      Resource: BUCKET_ARN,
      Condition: { StringLike: { 's3:prefix': ['models/*', 'pipelines/*', 'batch/input/*'] } },
    });
    expect(byDefault.WriteOutputsAndCapture!.Resource).toEqual([`${BUCKET_ARN}/batch/output/*`, `${BUCKET_ARN}/capture/*`]);
    expect(byDefault.WriteSageMakerLogs!.Resource).toBe(`arn:aws:logs:us-east-1:${TEST_ACCOUNT}:log-group:/aws/sagemaker/*`);
    expect(Object.values(byDefault).some((s) => list(s.Action).some((a) => a.startsWith('kms:')))).toBe(false);
    expect(withKey).toContainEqual(expect.objectContaining({ Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: SAMPLE_KMS_KEY }));
  });

  it('gives the batch-transform role the .sync rule and the output listing, scoped to what the job writes', () => {
    // Act
    const grants: Record<string, Record<string, any>> = Object.fromEntries(
      roleStatements(service.resolvedWith(), 'BatchTransformRole').map((s) => [s.Sid, s]),
    );

    // Assess
    expect(grants.FollowTransformJobEvents).toMatchObject({
      Action: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      Resource: `arn:aws:events:us-east-1:${TEST_ACCOUNT}:rule/StepFunctionsGetEventsForSageMakerTransformJobsRule`,
    });
    expect(grants.ListOutputs).toMatchObject({
      Action: ['s3:ListBucket'],
      Resource: BUCKET_ARN,
      Condition: { StringLike: { 's3:prefix': ['batch/output/*'] } },
    });
  });

  it('alarms on failed or timed-out executions of each state machine, notifying the topic when one is given', () => {
    // Act
    const byDefault = service.resolvedWith();
    const withTopic = service.resolvedWith({ AlarmTopicArn: SAMPLE_ALARM_TOPIC });

    // Assess
    for (const [workflow, { alarm }] of Object.entries(MACHINES)) {
      const properties = propertiesOf(byDefault, alarm);
      const arn = `arn:aws:states:us-east-1:${TEST_ACCOUNT}:stateMachine:smhost-dev-${workflow}`;
      const metrics = properties.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat.Metric);
      expect(metrics).toEqual(
        ['ExecutionsFailed', 'ExecutionsTimedOut'].map((MetricName) => ({
          Namespace: 'AWS/States',
          MetricName,
          Dimensions: [{ Name: 'StateMachineArn', Value: arn }],
        })),
      );
      expect(properties.Metrics.filter((m: any) => m.ReturnData)).toEqual([
        expect.objectContaining({ Expression: 'FILL(failed, 0) + FILL(timedOut, 0)' }),
      ]);
      expect(properties).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
      expect(properties.AlarmActions).toBeUndefined();
      expect(propertiesOf(withTopic, alarm).AlarmActions).toEqual([SAMPLE_ALARM_TOPIC]);
    }
  });

  it('schedules the batch transform, disabled by default, with retries, a DLQ and a role that may only start it', () => {
    // Act
    const resources = service.resolvedWith();
    const schedule = propertiesOf(resources, 'BatchTransformSchedule');
    const scheduler = roleStatements(resources, 'BatchTransformSchedulerRole');

    // Assess
    const machineArn = `arn:aws:states:us-east-1:${TEST_ACCOUNT}:stateMachine:smhost-dev-batch-transform`;
    const dlqArn = `arn:aws:sqs:us-east-1:${TEST_ACCOUNT}:smhost-dev-batch-transform-schedule-dlq`;
    expect(schedule).toMatchObject({
      Name: 'smhost-dev-batch-transform',
      State: 'DISABLED',
      ScheduleExpression: 'cron(0 2 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: machineArn,
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: dlqArn },
      },
    });
    expect(scheduler.map((s) => [s.Action, s.Resource])).toEqual([
      [['states:StartExecution'], machineArn],
      [['sqs:SendMessage'], dlqArn],
    ]);
  });

  it('starts the schedule with an input the batch-transform schema accepts, dated by the scheduled time', () => {
    // Prepare
    const input: string = propertiesOf(service.resolvedWith(), 'BatchTransformSchedule').Target.Input;
    // What Scheduler substitutes for the context attribute when the run is due.
    const delivered = JSON.parse(input.replace('<aws.scheduler.scheduled-time>', '2024-05-01T02:00:00Z'));

    // Act
    const parsed = parseWorkflowInput('batch-transform', delivered);
    const prepared = prepareTransform(parsed, { name: 'scheduled-run', startTime: '2024-05-01T02:00:07.000Z' });

    // Assess
    expect(input).toContain('"scheduledTime":"<aws.scheduler.scheduled-time>"');
    expect(parsed).toMatchObject({
      modelName: 'batch-transform-model',
      data: `s3://smhost-dev-artifacts-${TEST_ACCOUNT}/batch/input/`,
      instanceType: 'ml.m5.large',
    });
    expect(prepared.output.s3OutputPath).toBe(`s3://smhost-dev-artifacts-${TEST_ACCOUNT}/batch/output/2024-05-01T02-00-00Z/`);
  });

  it('gives prepareWorkflow the execution role, bucket and registry it reads, and a role that only logs', () => {
    // Act
    const resources = service.resolvedWith();
    const variables = propertiesOf(resources, 'PrepareWorkflowLambdaFunction').Environment.Variables;
    const statements = roleStatements(resources, 'PrepareWorkflowRole');

    // Assess
    expect(prepareEnvironmentFrom(variables)).toEqual({
      executionRoleArn: EXECUTION_ROLE_ARN,
      artifactsBucket: `smhost-dev-artifacts-${TEST_ACCOUNT}`,
      modelsPrefix: 'models/',
      registryTable: 'smhost-dev-registry',
    });
    expect(statements).toEqual([
      {
        Sid: 'WriteOwnLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: `arn:aws:logs:us-east-1:${TEST_ACCOUNT}:log-group:/aws/lambda/smhost-dev-prepareWorkflow:*`,
      },
    ]);
  });

  it('lets registerArtifacts delete live copies only when a retention (RETAIN_VERSIONS) is set', () => {
    // Act
    const byDefault = service.resolvedWith();
    const retaining = service.resolvedWith({ RetainVersions: '3' });
    const deletes = (resources: Map<string, ResolvedResource>) =>
      roleStatements(resources, 'RegisterArtifactsRole').filter((s) => list(s.Action).includes('s3:DeleteObject'));

    // Assess
    expect(deletes(byDefault)).toEqual([]);
    expect(registrationConfigFromEnv({ ...propertiesOf(byDefault, 'RegisterArtifactsLambdaFunction').Environment.Variables }).retainVersions).toBeUndefined();
    expect(deletes(retaining)).toEqual([expect.objectContaining({ Resource: `${BUCKET_ARN}/models/*` })]);
    const variables = propertiesOf(retaining, 'RegisterArtifactsLambdaFunction').Environment.Variables;
    expect(registrationConfigFromEnv(variables).retainVersions).toBe(3);
  });
});
