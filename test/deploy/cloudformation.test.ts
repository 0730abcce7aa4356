import { spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { archiveLimitsFromEnv, DEFAULT_ARCHIVE_LIMITS } from '../../src/artifacts/limits';
import { stackNames } from '../../src/aws/stack-names';
import {
  cfnSchemasDir,
  checkTemplate,
  formatFinding,
  loadTemplateCheckData,
  PackageFailedError,
  packageService,
  readZipEntries,
  type TemplateCheckData,
} from '../../src/deploy';
import type { ResolvedResource } from '../../src/cloudformation';
import { propertiesOf, roleStatements, SAMPLE_ALARM_TOPIC, SAMPLE_CHECK_OPTIONS, SAMPLE_KMS_KEY, TEST_ACCOUNT, usePackagedService } from '../support/packaged-template';

const service = usePackagedService('smhost-package-');
let data: TemplateCheckData;

beforeAll(() => {
  data = loadTemplateCheckData(cfnSchemasDir());
});

describe('Function: packageService', () => {
  it('packages serverless.yml offline, with no AWS credentials, into the given directory', () => {
    // Assess
    expect(service.packaged.templatePath).toBe(join(service.workDir, 'package', 'cloudformation-template-update-stack.json'));
    expect(Object.keys(service.packaged.functionZips).sort()).toEqual(['prepareWorkflow', 'registerArtifacts']);
    expect(service.packaged.template.Resources.RegisterArtifactsLambdaFunction?.Type).toBe('AWS::Lambda::Function');
  });

  it('bundles each function into one minified ES module with the AWS SDK inside', () => {
    // Prepare
    const entries = readZipEntries(service.packaged.functionZips.registerArtifacts!);

    // Act
    const code = entries[0]!.read().toString('utf8');
    // esbuild writes imports without spaces (`from"x"`, `import("x")`); prose in error strings has them.
    const specifiers = [...code.matchAll(/(?:\bfrom|\bimport\()"([^"\s$]+)"/g)].map((match) => match[1]!);
    const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
    const external = specifiers.filter((s) => !builtins.has(s));

    // Assess
    expect(entries.map((e) => e.name)).toEqual(['functions/register-artifacts.mjs']);
    expect(external).toEqual([]);
    expect(code).toContain('GetObjectCommand');
    expect(code).not.toContain('sourceMappingURL');
    // Minified: long lines, few of them.
    expect(code.length / code.split('\n').length).toBeGreaterThan(2_000);
    expect(service.packaged.template.Resources.RegisterArtifactsLambdaFunction?.Properties?.Handler).toBe(
      'functions/register-artifacts.handler',
    );
  });

  it.each([
    ['registerArtifacts', 'RegisterArtifactsLambdaFunction'],
    ['prepareWorkflow', 'PrepareWorkflowLambdaFunction'],
  ])('produces a %s bundle that loads on Node 22 and exports the handler', (name, logicalId) => {
    // Prepare
    const entry = readZipEntries(service.packaged.functionZips[name]!)[0]!;
    const file = join(service.workDir, 'unzipped', entry.name);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, entry.read());
    const variables = propertiesOf(service.resolvedWith(), logicalId).Environment.Variables;

    // Act
    const run = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', 'const m = await import(process.argv[1]); console.log(typeof m.handler);', file],
      { env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1', ...variables }, encoding: 'utf8', timeout: 30_000 },
    );

    // Assess
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe('function');
  });
});

describe('Function: packageService (failure)', () => {
  it('fails with osls\'s own reason when a configuration needs AWS credentials, since it runs without any', async () => {
    // Prepare
    const serviceDir = join(service.workDir, 'needs-credentials');
    mkdirSync(serviceDir, { recursive: true });
    writeFileSync(
      join(serviceDir, 'serverless.yml'),
      ['service: needs-credentials', 'provider:', '  name: aws', '  runtime: nodejs22.x', 'custom:', '  account: ${aws:accountId}', ''].join('\n'),
    );

    // Act
    const failure = await packageService({ serviceDir, outDir: join(serviceDir, 'out') }).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(PackageFailedError);
    expect((failure as PackageFailedError).exitCode).toBe(1);
    expect((failure as PackageFailedError).message).toMatch(/serverless package failed \(exit 1\)[\s\S]*credentials not found/);
  });
});

describe('Function: checkTemplate (the packaged template)', () => {
  it('finds nothing wrong, for every combination of parameter values', () => {
    // Act
    const findings = checkTemplate(service.packaged.template, data, SAMPLE_CHECK_OPTIONS);

    // Assess
    expect(findings.map(formatFinding)).toEqual([]);
  });

  it('names the resources exactly as src/aws/stack-names.ts derives them', () => {
    // Prepare
    const expected = stackNames({ service: 'smhost', stage: 'dev', accountId: TEST_ACCOUNT, env: {} });

    // Act
    const resources = service.resolvedWith();

    // Assess
    expect(propertiesOf(resources, 'ArtifactsBucket').BucketName).toBe(expected.bucket);
    expect(propertiesOf(resources, 'RegistryTable').TableName).toBe(expected.registryTable);
    expect(propertiesOf(resources, 'ArtifactEventsQueue').QueueName).toBe(expected.queue);
    expect(propertiesOf(resources, 'ArtifactEventsDeadLetterQueue').QueueName).toBe(expected.deadLetterQueue);
  });

  it('gives registerArtifacts exactly the environment its handler reads, archive limits equal to the defaults', () => {
    // Act
    const variables = propertiesOf(service.resolvedWith(), 'RegisterArtifactsLambdaFunction').Environment.Variables;

    // Assess
    expect(Object.keys(variables).sort()).toEqual(
      [
        'ARTIFACTS_BUCKET',
        'REGISTRY_TABLE',
        'INCOMING_PREFIX',
        'MODELS_PREFIX',
        'POWERTOOLS_SERVICE_NAME',
        'LOG_LEVEL',
        'ARCHIVE_MAX_COMPRESSED_BYTES',
        'ARCHIVE_MAX_UNCOMPRESSED_BYTES',
        'ARCHIVE_MAX_FILE_BYTES',
        'ARCHIVE_MAX_ENTRIES',
        'ARCHIVE_MAX_DEPTH',
        'ARCHIVE_MAX_EXPANSION_RATIO',
        'RETAIN_VERSIONS',
      ].sort(),
    );
    expect(variables).toMatchObject({
      ARTIFACTS_BUCKET: `smhost-dev-artifacts-${TEST_ACCOUNT}`,
      REGISTRY_TABLE: 'smhost-dev-registry',
      INCOMING_PREFIX: 'incoming/',
      MODELS_PREFIX: 'models/',
      POWERTOOLS_SERVICE_NAME: 'smhost',
      LOG_LEVEL: 'INFO',
      RETAIN_VERSIONS: '',
    });
    expect(archiveLimitsFromEnv(variables)).toEqual(DEFAULT_ARCHIVE_LIMITS);
  });

  it('runs registerArtifacts on Node 22, arm64, fed by the queue in batches with partial failures', () => {
    // Act
    const resources = service.resolvedWith();
    const fn = propertiesOf(resources, 'RegisterArtifactsLambdaFunction');
    const mapping = [...resources.values()].find((r) => r.type === 'AWS::Lambda::EventSourceMapping')!.properties;
    const queue = propertiesOf(resources, 'ArtifactEventsQueue');

    // Assess
    expect(fn).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], FunctionName: 'smhost-dev-registerArtifacts' });
    expect(mapping).toMatchObject({
      EventSourceArn: `arn:aws:sqs:us-east-1:${TEST_ACCOUNT}:smhost-dev-artifact-events`,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: expect.any(Number) },
    });
    expect(mapping.BatchSize).toBeGreaterThan(1);
    expect(mapping.MaximumBatchingWindowInSeconds).toBeGreaterThan(0);
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Timeout);
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: `arn:aws:sqs:us-east-1:${TEST_ACCOUNT}:smhost-dev-artifact-events-dlq`,
      maxReceiveCount: expect.any(Number),
    });
  });

  it('notifies the queue of .tar.gz created under incoming/ and of removals under models/', () => {
    // Act
    const bucket = propertiesOf(service.resolvedWith(), 'ArtifactsBucket');

    // Assess
    const queueArn = `arn:aws:sqs:us-east-1:${TEST_ACCOUNT}:smhost-dev-artifact-events`;
    expect(bucket.NotificationConfiguration).toEqual({
      QueueConfigurations: [
        {
          Event: 's3:ObjectCreated:*',
          Queue: queueArn,
          Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'incoming/' }, { Name: 'suffix', Value: '.tar.gz' }] } },
        },
        {
          Event: 's3:ObjectRemoved:*',
          Queue: queueArn,
          Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'models/' }] } },
        },
      ],
    });
    expect(service.packaged.template.Resources.ArtifactsBucket?.DependsOn).toContain('ArtifactEventsQueuePolicy');
  });

  it('encrypts the bucket with SSE-S3 by default, and with the KMS key (usable by the role) when one is given', () => {
    // Act
    const byDefault = service.resolvedWith();
    const withKey = service.resolvedWith({ ArtifactsKmsKeyArn: SAMPLE_KMS_KEY });

    // Assess
    const rule = (r: Map<string, ResolvedResource>) =>
      propertiesOf(r, 'ArtifactsBucket').BucketEncryption.ServerSideEncryptionConfiguration[0];
    expect(rule(byDefault).ServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: 'AES256' });
    expect(rule(withKey).ServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: 'aws:kms', KMSMasterKeyID: SAMPLE_KMS_KEY });
    expect(roleStatements(byDefault, 'RegisterArtifactsRole').some((s) => String(s.Action).includes('kms:'))).toBe(false);
    expect(roleStatements(withKey, 'RegisterArtifactsRole')).toContainEqual(
      expect.objectContaining({ Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: SAMPLE_KMS_KEY }),
    );
  });

  it('keeps the registry on demand, recoverable and encrypted, keyed by pk and sk with no index', () => {
    // Act
    const table = propertiesOf(service.resolvedWith(), 'RegistryTable');

    // Assess
    expect(table).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    expect(table.GlobalSecondaryIndexes).toBeUndefined();
    expect(table.LocalSecondaryIndexes).toBeUndefined();
  });

  it('alarms when the DLQ holds a message, notifying the topic when one is given', () => {
    // Act
    const byDefault = propertiesOf(service.resolvedWith(), 'ArtifactEventsDeadLetterAlarm');
    const withTopic = propertiesOf(service.resolvedWith({ AlarmTopicArn: SAMPLE_ALARM_TOPIC }), 'ArtifactEventsDeadLetterAlarm');

    // Assess
    expect(byDefault).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: 'smhost-dev-artifact-events-dlq' }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(byDefault.AlarmActions).toBeUndefined();
    expect(withTopic.AlarmActions).toEqual([SAMPLE_ALARM_TOPIC]);
  });

  it('grants registerArtifacts only what registration needs, each on its own prefix or resource', () => {
    // Act
    const grants = Object.fromEntries(roleStatements(service.resolvedWith(), 'RegisterArtifactsRole').map((s) => [s.Sid, s]));

    // Assess
    const bucketArn = `arn:aws:s3:::smhost-dev-artifacts-${TEST_ACCOUNT}`;
    expect(grants.ReadAndTagDroppedArtifacts).toMatchObject({ Resource: `${bucketArn}/incoming/*` });
    expect(grants.WriteLiveModels).toMatchObject({ Resource: `${bucketArn}/models/*` });
    expect(grants.ListArtifacts).toMatchObject({ Action: ['s3:ListBucket'], Resource: bucketArn });
    expect(grants.WarmUpEndpoints).toMatchObject({
      Action: ['sagemaker:DescribeEndpoint', 'sagemaker:InvokeEndpoint'],
      Resource: `arn:aws:sagemaker:us-east-1:${TEST_ACCOUNT}:endpoint/*`,
    });
    expect(grants.UseRegistry.Resource).toBe(`arn:aws:dynamodb:us-east-1:${TEST_ACCOUNT}:table/smhost-dev-registry`);
    expect(grants.WriteOwnLogs.Resource).toBe(
      `arn:aws:logs:us-east-1:${TEST_ACCOUNT}:log-group:/aws/lambda/smhost-dev-registerArtifacts:*`,
    );
  });
});
