import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type CfnTemplate,
  createIamCatalog,
  parameterVariants,
  readZipEntries,
  TemplateEvaluationError,
  TemplateEvaluator,
} from '../../src/deploy';

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

describe('Function: parameterVariants', () => {
  it('combines defaults and samples, and falls back to one change at a time past 64 combinations', () => {
    // Prepare
    const small: CfnTemplate = {
      Parameters: { A: { Type: 'String', Default: '' }, B: { Type: 'String', Default: 'x' } },
      Resources: { Q: { Type: 'AWS::SQS::Queue' } },
    };
    const large: CfnTemplate = {
      Parameters: Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`P${i}`, { Type: 'String', Default: 'd' }])),
      Resources: { Q: { Type: 'AWS::SQS::Queue' } },
    };
    const largeSamples = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`P${i}`, ['s']]));

    // Act
    const combined = parameterVariants(small, { A: ['key'], B: ['y'] });
    const oneAtATime = parameterVariants(large, largeSamples);

    // Assess
    expect(combined.variants).toEqual([
      { A: '', B: 'x' },
      { A: '', B: 'y' },
      { A: 'key', B: 'x' },
      { A: 'key', B: 'y' },
    ]);
    expect(oneAtATime.variants).toHaveLength(8);
  });
});

describe('Function: createIamCatalog', () => {
  // Prepare
  const catalog = createIamCatalog({
    s3: {
      Actions: { getobject: { Resources: ['object'] }, listallmybuckets: {} },
      Resources: { object: { ARNFormats: ['arn:${Partition}:s3:::.*'] } },
    },
  });

  it('matches actions case-insensitively and patterns against real actions', () => {
    // Act / Assess
    expect(catalog.actionExists('s3:GetObject')).toBe(true);
    expect(catalog.actionExists('S3:getobject')).toBe(true);
    expect(catalog.actionExists('s3:Get*')).toBe(true);
    expect(catalog.actionExists('s3:Put*')).toBe(false);
    expect(catalog.actionExists('s4:GetObject')).toBe(false);
    expect(catalog.actionExists('GetObject')).toBe(false);
  });

  it('tells scoped actions from unscoped ones and checks ARNs against their formats', () => {
    // Act / Assess
    expect(catalog.resourceTypes('s3:ListAllMyBuckets')).toEqual([]);
    expect(catalog.resourceTypes('s3:Nothing')).toBeUndefined();
    expect(catalog.actionAppliesTo('s3:GetObject', 'arn:aws:s3:::bucket/models/*')).toBe(true);
    expect(catalog.actionAppliesTo('s3:GetObject', 'arn:aws:sqs:us-east-1:123456789012:q')).toBe(false);
  });
});

describe('Function: readZipEntries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smhost-zip-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function zipOf(name: string, body: Buffer): Buffer {
    // A one-entry zip (deflated) laid out as the zip format defines it.
    const data = deflateRawSync(body);
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(body.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(body.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(0, 42);
    const centralOffset = local.length + nameBytes.length + data.length;
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(1, 8);
    end.writeUInt16LE(1, 10);
    end.writeUInt32LE(central.length + nameBytes.length, 12);
    end.writeUInt32LE(centralOffset, 16);
    return Buffer.concat([local, nameBytes, data, central, nameBytes, end]);
  }

  it('lists entries with their sizes and inflates their bytes', () => {
    // Prepare
    const body = Buffer.from('export const handler = 1;\n'.repeat(100));
    const path = join(dir, 'ok.zip');
    writeFileSync(path, zipOf('functions/a.mjs', body));

    // Act
    const entries = readZipEntries(path);

    // Assess
    expect(entries.map((e) => [e.name, e.uncompressedBytes])).toEqual([['functions/a.mjs', body.length]]);
    expect(entries[0]!.read().equals(body)).toBe(true);
  });

  it('refuses a file that is not a zip, naming it', () => {
    // Prepare
    const path = join(dir, 'not.zip');
    writeFileSync(path, 'plain text, no zip records here');

    // Act / Assess
    expect(() => readZipEntries(path)).toThrow(`${path} is not a readable zip: no end of central directory record`);
  });
});
