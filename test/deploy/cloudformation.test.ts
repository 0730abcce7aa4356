import { spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveLimitsFromEnv, DEFAULT_ARCHIVE_LIMITS } from '../../src/artifacts/limits';
import { stackNames } from '../../src/aws/stack-names';
import {
  cfnSchemasDir,
  checkTemplate,
  type CheckTemplateOptions,
  formatFinding,
  loadTemplateCheckData,
  type PackagedService,
  PackageFailedError,
  packageService,
  readZipEntries,
  type TemplateCheckData,
} from '../../src/deploy';
import { type ResolvedResource, TemplateEvaluator } from '../../src/cloudformation';

const ACCOUNT = '123456789012';
const KMS_KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9`;
const TOPIC = `arn:aws:sns:us-east-1:${ACCOUNT}:smhost-alarms`;
const OPTIONS: CheckTemplateOptions = {
  accountId: ACCOUNT,
  stackName: 'smhost-dev',
  parameterSamples: { ArtifactsKmsKeyArn: [KMS_KEY], AlarmTopicArn: [TOPIC], RetainVersions: ['3'] },
};

let workDir: string;
let packaged: PackagedService;
let data: TemplateCheckData;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'smhost-package-'));
  data = loadTemplateCheckData(cfnSchemasDir());
  packaged = await packageService({ outDir: join(workDir, 'package') });
}, 240_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function resolvedWith(parameters: Record<string, string> = {}): Map<string, ResolvedResource> {
  const evaluator = new TemplateEvaluator(packaged.template, {
    accountId: ACCOUNT,
    region: 'us-east-1',
    partition: 'aws',
    stackName: 'smhost-dev',
    parameters,
  });
  const { resolved, errors } = evaluator.resources();
  expect(errors.map((e) => e.message)).toEqual([]);
  return new Map(resolved.map((r) => [r.logicalId, r]));
}

function props(resources: Map<string, ResolvedResource>, logicalId: string): Record<string, any> {
  const resource = resources.get(logicalId);
  if (!resource) throw new Error(`no resource ${logicalId} in the packaged template`);
  return resource.properties;
}

function roleStatements(resources: Map<string, ResolvedResource>): Record<string, any>[] {
  return props(resources, 'RegisterArtifactsRole').Policies.flatMap((p: any) => p.PolicyDocument.Statement);
}

describe('Function: packageService', () => {
  it('packages serverless.yml offline, with no AWS credentials, into the given directory', () => {
    // Assess
    expect(packaged.templatePath).toBe(join(workDir, 'package', 'cloudformation-template-update-stack.json'));
    expect(Object.keys(packaged.functionZips).sort()).toEqual(['prepareWorkflow', 'registerArtifacts']);
    expect(packaged.template.Resources.RegisterArtifactsLambdaFunction?.Type).toBe('AWS::Lambda::Function');
  });

  it('bundles each function into one minified ES module with the AWS SDK inside', () => {
    // Prepare
    const entries = readZipEntries(packaged.functionZips.registerArtifacts!);

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
    expect(packaged.template.Resources.RegisterArtifactsLambdaFunction?.Properties?.Handler).toBe(
      'functions/register-artifacts.handler',
    );
  });

  it.each([
    ['registerArtifacts', 'RegisterArtifactsLambdaFunction'],
    ['prepareWorkflow', 'PrepareWorkflowLambdaFunction'],
  ])('produces a %s bundle that loads on Node 22 and exports the handler', (name, logicalId) => {
    // Prepare
    const entry = readZipEntries(packaged.functionZips[name]!)[0]!;
    const file = join(workDir, 'unzipped', entry.name);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, entry.read());
    const variables = props(resolvedWith(), logicalId).Environment.Variables;

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
    const serviceDir = join(workDir, 'needs-credentials');
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
    const findings = checkTemplate(packaged.template, data, OPTIONS);

    // Assess
    expect(findings.map(formatFinding)).toEqual([]);
  });

  it('names the resources exactly as src/aws/stack-names.ts derives them', () => {
    // Prepare
    const expected = stackNames({ service: 'smhost', stage: 'dev', accountId: ACCOUNT, env: {} });

    // Act
    const resources = resolvedWith();

    // Assess
    expect(props(resources, 'ArtifactsBucket').BucketName).toBe(expected.bucket);
    expect(props(resources, 'RegistryTable').TableName).toBe(expected.registryTable);
    expect(props(resources, 'ArtifactEventsQueue').QueueName).toBe(expected.queue);
    expect(props(resources, 'ArtifactEventsDeadLetterQueue').QueueName).toBe(expected.deadLetterQueue);
  });

  it('gives registerArtifacts exactly the environment its handler reads, archive limits equal to the defaults', () => {
    // Act
    const variables = props(resolvedWith(), 'RegisterArtifactsLambdaFunction').Environment.Variables;

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
      ARTIFACTS_BUCKET: `smhost-dev-artifacts-${ACCOUNT}`,
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
    const resources = resolvedWith();
    const fn = props(resources, 'RegisterArtifactsLambdaFunction');
    const mapping = [...resources.values()].find((r) => r.type === 'AWS::Lambda::EventSourceMapping')!.properties;
    const queue = props(resources, 'ArtifactEventsQueue');

    // Assess
    expect(fn).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], FunctionName: 'smhost-dev-registerArtifacts' });
    expect(mapping).toMatchObject({
      EventSourceArn: `arn:aws:sqs:us-east-1:${ACCOUNT}:smhost-dev-artifact-events`,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: expect.any(Number) },
    });
    expect(mapping.BatchSize).toBeGreaterThan(1);
    expect(mapping.MaximumBatchingWindowInSeconds).toBeGreaterThan(0);
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Timeout);
    expect(queue.RedrivePolicy).toEqual({
      deadLetterTargetArn: `arn:aws:sqs:us-east-1:${ACCOUNT}:smhost-dev-artifact-events-dlq`,
      maxReceiveCount: expect.any(Number),
    });
  });

  it('notifies the queue of .tar.gz created under incoming/ and of removals under models/', () => {
    // Act
    const bucket = props(resolvedWith(), 'ArtifactsBucket');

    // Assess
    const queueArn = `arn:aws:sqs:us-east-1:${ACCOUNT}:smhost-dev-artifact-events`;
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
    expect(packaged.template.Resources.ArtifactsBucket?.DependsOn).toContain('ArtifactEventsQueuePolicy');
  });

  it('encrypts the bucket with SSE-S3 by default, and with the KMS key (usable by the role) when one is given', () => {
    // Act
    const byDefault = resolvedWith();
    const withKey = resolvedWith({ ArtifactsKmsKeyArn: KMS_KEY });

    // Assess
    const rule = (r: Map<string, ResolvedResource>) =>
      props(r, 'ArtifactsBucket').BucketEncryption.ServerSideEncryptionConfiguration[0];
    expect(rule(byDefault).ServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: 'AES256' });
    expect(rule(withKey).ServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KMS_KEY });
    expect(roleStatements(byDefault).some((s) => String(s.Action).includes('kms:'))).toBe(false);
    expect(roleStatements(withKey)).toContainEqual(
      expect.objectContaining({ Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: KMS_KEY }),
    );
  });

  it('keeps the registry on demand, recoverable and encrypted, keyed by pk and sk with no index', () => {
    // Act
    const table = props(resolvedWith(), 'RegistryTable');

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
    const byDefault = props(resolvedWith(), 'ArtifactEventsDeadLetterAlarm');
    const withTopic = props(resolvedWith({ AlarmTopicArn: TOPIC }), 'ArtifactEventsDeadLetterAlarm');

    // Assess
    expect(byDefault).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: 'smhost-dev-artifact-events-dlq' }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(byDefault.AlarmActions).toBeUndefined();
    expect(withTopic.AlarmActions).toEqual([TOPIC]);
  });

  it('grants registerArtifacts only what registration needs, each on its own prefix or resource', () => {
    // Act
    const grants = Object.fromEntries(roleStatements(resolvedWith()).map((s) => [s.Sid, s]));

    // Assess
    const bucketArn = `arn:aws:s3:::smhost-dev-artifacts-${ACCOUNT}`;
    expect(grants.ReadAndTagDroppedArtifacts).toMatchObject({ Resource: `${bucketArn}/incoming/*` });
    expect(grants.WriteLiveModels).toMatchObject({ Resource: `${bucketArn}/models/*` });
    expect(grants.ListArtifacts).toMatchObject({ Action: ['s3:ListBucket'], Resource: bucketArn });
    expect(grants.WarmUpEndpoints).toMatchObject({
      Action: ['sagemaker:DescribeEndpoint', 'sagemaker:InvokeEndpoint'],
      Resource: `arn:aws:sagemaker:us-east-1:${ACCOUNT}:endpoint/*`,
    });
    expect(grants.UseRegistry.Resource).toBe(`arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/smhost-dev-registry`);
    expect(grants.WriteOwnLogs.Resource).toBe(
      `arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/aws/lambda/smhost-dev-registerArtifacts:*`,
    );
  });
});
