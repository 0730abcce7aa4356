import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TemplateEvaluationError } from '../../../src/cloudformation';
import { ServerlessConfigError, ServerlessVariableError } from '../../../src/local/serverless/errors';
import { parseStackConfig, readStackConfig } from '../../../src/local/serverless/stack-config';

const PROJECT_YML = fileURLToPath(new URL('../../../serverless.yml', import.meta.url));

const BASE = `
service: svc
provider:
  name: aws
  stage: \${opt:stage, 'dev'}
resources:
  Resources:
    Queue:
      Type: AWS::SQS::Queue
      Properties:
        QueueName: \${self:service}-\${sls:stage}-q
`;

describe('Function: readStackConfig', () => {
  it('reads the project serverless.yml: bucket rules, queues with redrive, table, and the function with its SQS source', () => {
    // Act
    const config = readStackConfig(PROJECT_YML, { queueUrlBase: 'http://127.0.0.1:9999' });

    // Assess
    expect(config.buckets.map((bucket) => bucket.name)).toEqual(['smhost-dev-artifacts-000000000000']);
    expect(config.buckets[0]!.notifications.map((rule) => [rule.events, rule.prefix, rule.suffix])).toEqual([
      [['s3:ObjectCreated:*'], 'incoming/', '.tar.gz'],
      [['s3:ObjectRemoved:*'], 'models/', undefined],
    ]);
    const queue = config.queues.find((item) => item.name === 'smhost-dev-artifact-events')!;
    expect(JSON.parse(queue.attributes.RedrivePolicy!)).toEqual({ deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:smhost-dev-artifact-events-dlq', maxReceiveCount: 5 });
    expect(config.tables.map((table) => table.name)).toEqual(['smhost-dev-registry']);
    const fn = config.functions[0]!;
    expect(fn.environment).toMatchObject({ ARTIFACTS_BUCKET: 'smhost-dev-artifacts-000000000000', REGISTRY_TABLE: 'smhost-dev-registry', INCOMING_PREFIX: 'incoming/' });
    expect(fn.sqsEvents).toEqual([{ queueArn: queue.arn, queueName: queue.name, batchSize: 10, maximumBatchingWindow: 5, reportBatchItemFailures: true, enabled: true, maximumConcurrency: 10 }]);
  });

  it('resolves --stage through opt:, sls:stage and Fn::Sub', () => {
    const config = readStackConfig(PROJECT_YML, { options: { stage: 'prod' } });
    expect(config.stage).toBe('prod');
    expect(config.buckets[0]!.name).toBe('smhost-prod-artifacts-000000000000');
  });
});

describe('Function: parseStackConfig', () => {
  it('resolves nested variables, fallbacks, env and Fn::If conditions', () => {
    const config = parseStackConfig(`
service: svc
provider:
  name: aws
custom:
  name: \${env:QUEUE_NAME, 'fallback'}
  nested: \${self:custom.\${sls:stage}Name, 'x'}
  devName: chosen
resources:
  Conditions:
    IsDev:
      Fn::Equals: ['\${sls:stage}', 'dev']
  Resources:
    Queue:
      Type: AWS::SQS::Queue
      Properties:
        QueueName:
          Fn::If: [IsDev, '\${self:custom.nested}', '\${self:custom.name}']
`, { env: {} });
    expect(config.queues[0]!.name).toBe('chosen');
  });

  it('merges a list of resources sections deeply, as the framework does, so each file keeps its resources', () => {
    // Act
    const config = parseStackConfig(`
service: svc
provider:
  name: aws
resources:
  - Resources:
      First:
        Type: AWS::SQS::Queue
        Properties:
          QueueName: first
          VisibilityTimeout: 30
  -
  - Resources:
      Second:
        Type: AWS::SQS::Queue
        Properties:
          QueueName: second
      First:
        Properties:
          VisibilityTimeout: 90
`);

    // Assess
    expect(config.queues.map((queue) => [queue.name, queue.attributes.VisibilityTimeout])).toEqual([
      ['first', '90'],
      ['second', undefined],
    ]);
  });

  it('refuses a resources list item that is not a mapping, naming it', () => {
    expect(() => parseStackConfig(`${BASE.replace('resources:\n  Resources:', 'resources:\n  - just text\n  - Resources:').replace(/^( {4,})/gm, '  $1')}`)).toThrow(
      new ServerlessConfigError('serverless.yml: resources[0] must be a mapping'),
    );
  });

  it('refuses unsupported variable sources, naming the variable and where it is', () => {
    expect(() => parseStackConfig(`${BASE}\ncustom:\n  x: \${ssm:/param}\n`)).toThrow(ServerlessVariableError);
    expect(() => parseStackConfig(`${BASE}\ncustom:\n  x: \${ssm:/param}\n`)).toThrow(/custom\.x.*ssm:\/param/);
    expect(() => parseStackConfig(`${BASE}\ncustom:\n  x: \${env:SURELY_UNSET_VARIABLE}\n`, { env: {} })).toThrow(/has no value and no fallback/);
  });

  it('refuses intrinsics it cannot resolve, naming the resource', () => {
    const yml = `${BASE}
    Other:
      Type: AWS::SQS::Queue
      Properties:
        QueueName:
          Fn::GetAtt: [Missing, Arn]
`;
    expect(() => parseStackConfig(yml)).toThrow(TemplateEvaluationError);
    expect(() => parseStackConfig(yml)).toThrow(/resources\.Resources\.Other.*Missing/);
  });

  it('refuses bad event source settings, naming the setting and the rule', () => {
    const withFunction = (settings: string) => `${BASE}
functions:
  fn:
    handler: handler.main
    events:
      - sqs:
          arn:
            Fn::GetAtt: [Queue, Arn]
${settings}`;
    expect(() => parseStackConfig(withFunction('          batchSize: 0\n'))).toThrow(/batchSize must be an integer from 1 to 10000/);
    expect(() => parseStackConfig(withFunction('          batchSize: 50\n'))).toThrow(/maximumBatchingWindow of at least 1 second/);
    expect(() => parseStackConfig(withFunction('          functionResponseType: Other\n'))).toThrow(ServerlessConfigError);
    expect(() => parseStackConfig(withFunction('          maximumConcurrency: 1\n'))).toThrow(/maximumConcurrency must be an integer from 2 to 1000/);
    expect(() => parseStackConfig(`${BASE}\nfunctions:\n  fn:\n    handler: nodot\n`)).toThrow(/handler must be "path\/to\/file.exportName"/);
  });

  it('refuses notifications to queues outside the template and FIFO queues', () => {
    const bucket = `${BASE}
    Bucket:
      Type: AWS::S3::Bucket
      Properties:
        NotificationConfiguration:
          QueueConfigurations:
            - Event: s3:ObjectCreated:*
              Queue: arn:aws:sqs:us-east-1:000000000000:elsewhere
`;
    expect(() => parseStackConfig(bucket)).toThrow(/Queue must be the ARN of a queue of this template/);
    expect(() => parseStackConfig(`${BASE}        FifoQueue: true\n`)).toThrow(/FIFO queues are not emulated/);
  });
});
