import { describe, expect, it } from 'vitest';
import { type CfnParameter, type CfnTemplate, TemplateEvaluationError, TemplateEvaluator } from '../../src/cloudformation';

const CONTEXT = { accountId: '123456789012', region: 'eu-west-1', partition: 'aws', stackName: 'demo-dev', parameters: {} };

function evaluator(template: Partial<CfnTemplate>, parameters: Record<string, string> = {}): TemplateEvaluator {
  return new TemplateEvaluator({ Resources: {}, ...template }, { ...CONTEXT, parameters });
}

function failure(fn: () => unknown): TemplateEvaluationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof TemplateEvaluationError) return error;
    throw error;
  }
  throw new Error('expected a TemplateEvaluationError');
}

describe('Function: TemplateEvaluator.resolve', () => {
  it('answers Ref and Fn::GetAtt with values shaped as CloudFormation returns them', () => {
    // Prepare
    const e = evaluator({
      Resources: {
        Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'events' } },
        Table: { Type: 'AWS::DynamoDB::Table', Properties: {} },
        Bucket: { Type: 'AWS::S3::Bucket', Properties: {} },
        Role: { Type: 'AWS::IAM::Role', Properties: { Path: '/service/' } },
      },
    });

    // Act
    const value = e.resolve(
      {
        url: { Ref: 'Queue' },
        arn: { 'Fn::GetAtt': ['Queue', 'Arn'] },
        table: { 'Fn::GetAtt': 'Table.Arn' },
        bucket: { Ref: 'Bucket' },
        role: { 'Fn::GetAtt': ['Role', 'Arn'] },
      },
      'test',
    );

    // Assess
    expect(value).toEqual({
      url: 'https://sqs.eu-west-1.amazonaws.com/123456789012/events',
      arn: 'arn:aws:sqs:eu-west-1:123456789012:events',
      table: 'arn:aws:dynamodb:eu-west-1:123456789012:table/demo-dev-Table-A1B2C3D4E5F6',
      bucket: 'demo-dev-bucket-a1b2c3d4e5f6',
      role: 'arn:aws:iam::123456789012:role/service/demo-dev-Role-A1B2C3D4E5F6',
    });
  });

  it('substitutes Fn::Sub variables, pseudo parameters, attributes and the ${!literal} escape', () => {
    // Prepare
    const e = evaluator({ Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'q' } } } });

    // Act
    const plain = e.resolve({ 'Fn::Sub': '${AWS::Partition}:${AWS::Region}:${Queue.QueueName}:${!Keep}' }, 'test');
    const withMap = e.resolve({ 'Fn::Sub': ['${Name}-${AWS::AccountId}', { Name: { Ref: 'AWS::StackName' } }] }, 'test');

    // Assess
    expect(plain).toBe('aws:eu-west-1:q:${Keep}');
    expect(withMap).toBe('demo-dev-123456789012');
  });

  it('evaluates Join, Select, Split, FindInMap, Base64 and GetAZs', () => {
    // Prepare
    const e = evaluator({ Mappings: { Sizes: { dev: { memory: 512 } } } });

    // Act
    const value = e.resolve(
      {
        joined: { 'Fn::Join': ['/', ['a', { 'Fn::Select': [1, { 'Fn::Split': [',', 'x,y,z'] }] }]] },
        memory: { 'Fn::FindInMap': ['Sizes', 'dev', 'memory'] },
        encoded: { 'Fn::Base64': 'hi' },
        zones: { 'Fn::GetAZs': '' },
      },
      'test',
    );

    // Assess
    expect(value).toEqual({ joined: 'a/y', memory: 512, encoded: 'aGk=', zones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'] });
  });

  it('takes Fn::If branches from conditions on parameter values and drops AWS::NoValue', () => {
    // Prepare
    const template: Partial<CfnTemplate> = {
      Parameters: { Key: { Type: 'String', Default: '' }, Mode: { Type: 'String', Default: 'a' } },
      Conditions: {
        HasKey: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'Key' }, ''] }] },
        Both: { 'Fn::And': [{ Condition: 'HasKey' }, { 'Fn::Or': [{ 'Fn::Equals': [{ Ref: 'Mode' }, 'b'] }, { 'Fn::Equals': [{ Ref: 'Mode' }, 'c'] }] }] },
      },
    };
    const value = {
      list: ['first', { 'Fn::If': ['HasKey', { Ref: 'Key' }, { Ref: 'AWS::NoValue' }] }],
      field: { 'Fn::If': ['Both', 'yes', { Ref: 'AWS::NoValue' }] },
    };

    // Act
    const withoutKey = evaluator(template).resolve(value, 'test');
    const withKey = evaluator(template, { Key: 'k1', Mode: 'b' }).resolve(value, 'test');

    // Assess
    expect(withoutKey).toEqual({ list: ['first'] });
    expect(withKey).toEqual({ list: ['first', 'k1'], field: 'yes' });
  });

  it('leaves out resources whose condition is false, and refuses references to them', () => {
    // Prepare
    const e = evaluator({
      Parameters: { On: { Type: 'String', Default: 'no' } },
      Conditions: { IsOn: { 'Fn::Equals': [{ Ref: 'On' }, 'yes'] } },
      Resources: {
        Topic: { Type: 'AWS::SNS::Topic', Condition: 'IsOn', Properties: {} },
        Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { 'Fn::GetAtt': ['Topic', 'TopicName'] } } },
      },
    });

    // Act
    const { resolved, errors } = e.resources();

    // Assess
    expect(resolved.map((r) => r.logicalId)).toEqual([]);
    expect(errors.map((error) => error.message)).toEqual([
      'Resources.Queue.Properties.QueueName.Fn::GetAtt: refers to "Topic", whose condition is false here',
    ]);
  });

  it('refuses unknown references, unknown conditions, malformed intrinsics and self-references, naming the path', () => {
    // Prepare
    const e = evaluator({
      Conditions: { Loop: { Condition: 'Loop' } },
      Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { 'Fn::GetAtt': ['Queue', 'QueueName'] } } } },
    });

    // Act / Assess
    expect(failure(() => e.resolve({ Ref: 'Ghost' }, 'X')).message).toBe(
      'X.Ref: Ref to "Ghost", which is no parameter, pseudo parameter or resource',
    );
    expect(failure(() => e.resolve({ 'Fn::If': ['Nope', 1, 2] }, 'X')).message).toBe('X.Fn::If: condition "Nope" is not defined');
    expect(failure(() => e.resolve({ 'Fn::Join': ['-'] }, 'X')).message).toBe('X.Fn::Join: Fn::Join takes [delimiter, list]');
    expect(failure(() => e.resolve({ 'Fn::Cidr': ['10.0.0.0/16', 2, 8] }, 'X')).message).toBe(
      'X.Fn::Cidr: Fn::Cidr cannot be evaluated offline',
    );
    expect(failure(() => e.condition('Loop')).message).toContain('condition "Loop" refers to itself');
    expect(failure(() => e.resolve({ Ref: 'Queue' }, 'X')).message).toContain('the name of "Queue" refers to itself');
  });
});

describe('Function: TemplateEvaluator, the caller-specific context', () => {
  it('answers queue URLs on the given endpoint and generates names with the given suffix, trimmed to the type limit', () => {
    // Prepare
    const e = new TemplateEvaluator(
      {
        Resources: {
          Queue: { Type: 'AWS::SQS::Queue' },
          Bucket: { Type: 'AWS::S3::Bucket', Properties: { BucketName: { Ref: 'AWS::NoValue' } } },
          [`Long${'X'.repeat(60)}`]: { Type: 'AWS::S3::Bucket' },
        },
      },
      { ...CONTEXT, endpointUrl: () => 'http://127.0.0.1:4566', generatedNameSuffix: (logicalId) => `${logicalId.length}`.padStart(12, '0') },
    );

    // Act
    const value = e.resolve({ url: { Ref: 'Queue' }, bucket: { Ref: 'Bucket' }, long: { Ref: `Long${'X'.repeat(60)}` } }, 'test');

    // Assess
    expect(value).toEqual({
      url: 'http://127.0.0.1:4566/123456789012/demo-dev-Queue-000000000005',
      bucket: 'demo-dev-bucket-000000000006',
      long: `demo-dev-long${'x'.repeat(37)}-000000000064`,
    });
  });

  it('answers types without a known shape from the given shape, and refuses their attributes without one', () => {
    // Prepare
    const template: CfnTemplate = { Resources: { Repo: { Type: 'AWS::ECR::Repository' } } };
    const lenient = new TemplateEvaluator(template, {
      ...CONTEXT,
      unknownTypeShape: { ref: (r) => r.name, attributes: { Arn: (r) => `arn:aws:local:${r.region}:${r.account}:${r.name}` } },
    });
    const strict = new TemplateEvaluator(template, CONTEXT);

    // Act
    const answered = lenient.resolve({ ref: { Ref: 'Repo' }, arn: { 'Fn::GetAtt': ['Repo', 'Arn'] } }, 'test');
    const refused = failure(() => strict.resolve({ 'Fn::GetAtt': ['Repo', 'Arn'] }, 'test'));

    // Assess
    expect(answered).toEqual({ ref: 'demo-dev-Repo-A1B2C3D4E5F6', arn: 'arn:aws:local:eu-west-1:123456789012:demo-dev-Repo-A1B2C3D4E5F6' });
    expect(strict.resolve({ Ref: 'Repo' }, 'test')).toBe('Repo-A1B2C3D4E5F6');
    expect(refused.message).toContain('no offline value for Fn::GetAtt Repo.Arn (type AWS::ECR::Repository)');
  });

  it('puts the template path before the paths of template locations in its errors', () => {
    // Prepare
    const e = new TemplateEvaluator(
      {
        Conditions: { Broken: { 'Fn::Equals': ['a'] } },
        Resources: { Queue: { Type: 'AWS::SQS::Queue', Condition: 'Missing', Properties: { QueueName: { 'Fn::GetAtt': ['Ghost', 'Arn'] } } } },
      },
      { ...CONTEXT, templatePath: 'resources' },
    );

    // Act
    const condition = failure(() => e.condition('Broken'));
    const { errors } = e.resources();

    // Assess
    expect(condition.message).toBe('resources.Conditions.Broken: Fn::Equals takes exactly two values');
    expect(errors.map((error) => error.message)).toEqual(['resources.Resources.Queue.Condition: condition "Missing" is not defined']);
  });

  it('reads a parameter declared without a Type as a String, and a list type as a list', () => {
    // Prepare
    const e = evaluator({ Parameters: { Plain: { Default: 'a,b' } as unknown as CfnParameter, Listed: { Type: 'CommaDelimitedList', Default: 'a,b' } } });

    // Act
    const value = e.resolve({ plain: { Ref: 'Plain' }, listed: { Ref: 'Listed' } }, 'test');

    // Assess
    expect(value).toEqual({ plain: 'a,b', listed: ['a', 'b'] });
  });
});
