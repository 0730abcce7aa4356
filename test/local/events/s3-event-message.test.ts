import { describe, expect, it } from 'vitest';
import { ruleMatches } from '../../../src/local/events/notification-configuration';
import { buildEventRecord, buildTestEvent, encodeEventKey, Sequencer } from '../../../src/local/events/s3-event-message';

/** The event message structure AWS documents (S3 user guide, "Event message structure"), version 2.1. */
const AWS_DOCUMENTED_RECORD = {
  eventVersion: '2.1',
  eventSource: 'aws:s3',
  awsRegion: 'us-west-2',
  eventTime: '1970-01-01T00:00:00.000Z',
  eventName: 'ObjectCreated:Put',
  userIdentity: { principalId: 'AIDAJDPLRKLG7UEXAMPLE' },
  requestParameters: { sourceIPAddress: '127.0.0.1' },
  responseElements: { 'x-amz-request-id': 'C3D13FE58DE4C810', 'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD' },
  s3: {
    s3SchemaVersion: '1.0',
    configurationId: 'testConfigRule',
    bucket: { name: 'amzn-s3-demo-bucket', ownerIdentity: { principalId: 'A3NL1KOZZKExample' }, arn: 'arn:aws:s3:::amzn-s3-demo-bucket' },
    object: { key: 'HappyFace.jpg', size: 1024, eTag: 'd41d8cd98f00b204e9800998ecf8427e', sequencer: '0055AED6DCD90281E5' },
  },
};

function shape(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return typeof value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, shape(item)]).sort(([a], [b]) => String(a).localeCompare(String(b))));
}

describe('Function: encodeEventKey', () => {
  it('encodes keys as S3 events carry them: spaces as +, reserved characters as UTF-8 %XX, slashes kept', () => {
    expect(encodeEventKey('incoming/ep 1/m+1 (v2) ü.tar.gz')).toBe('incoming/ep+1/m%2B1+%28v2%29+%C3%BC.tar.gz');
    expect(decodeURIComponent(encodeEventKey('a b+c/ü~!.x').replace(/\+/g, ' '))).toBe('a b+c/ü~!.x');
  });
});

describe('Function: Sequencer.next', () => {
  it('issues hex values that increase even within one millisecond', () => {
    const sequencer = new Sequencer();
    const values = [sequencer.next(1000), sequencer.next(1000), sequencer.next(1000), sequencer.next(999), sequencer.next(5000)];
    for (const value of values) expect(value).toMatch(/^[0-9A-F]{18}$/);
    for (let i = 1; i < values.length; i += 1) expect(BigInt(`0x${values[i]}`) > BigInt(`0x${values[i - 1]}`)).toBe(true);
  });
});

describe('Function: buildEventRecord', () => {
  it('builds records with exactly the structure of the AWS documented example', () => {
    const record = buildEventRecord({
      region: 'us-east-1',
      eventName: 'ObjectCreated:Put',
      eventTime: new Date(0),
      principalId: 'AWS:AKID',
      sourceIp: '127.0.0.1',
      requestId: 'C3D13FE58DE4C810',
      hostId: 'host',
      configurationId: 'rule',
      bucket: 'b',
      key: 'a b.tar.gz',
      size: 1024,
      eTag: 'd41d8cd98f00b204e9800998ecf8427e',
      sequencer: '0055AED6DCD90281E5',
    });
    expect(shape(record)).toEqual(shape(AWS_DOCUMENTED_RECORD));
    expect(record.s3.object.key).toBe('a+b.tar.gz');
    expect(record.eventTime).toBe('1970-01-01T00:00:00.000Z');
  });

  it('leaves size and eTag out of removal records', () => {
    const record = buildEventRecord({ region: 'r', eventName: 'ObjectRemoved:Delete', eventTime: new Date(), principalId: 'p', sourceIp: 'i', requestId: 'q', hostId: 'h', configurationId: 'c', bucket: 'b', key: 'k', sequencer: '01' });
    expect(Object.keys(record.s3.object).sort()).toEqual(['key', 'sequencer']);
  });

  it('builds the s3:TestEvent message S3 sends when a configuration is applied', () => {
    expect(Object.keys(buildTestEvent('b')).sort()).toEqual(['Bucket', 'Event', 'HostId', 'RequestId', 'Service', 'Time']);
    expect(buildTestEvent('b')).toMatchObject({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'b' });
  });
});

describe('Function: ruleMatches', () => {
  const rule = { id: 'r', events: ['s3:ObjectCreated:*'], queueArn: 'arn', queueName: 'q', prefix: 'incoming/', suffix: '.tar.gz' };

  it('matches event patterns with * and the prefix and suffix of the raw key', () => {
    expect(ruleMatches(rule, 'ObjectCreated:Put', 'incoming/ep/m 1.tar.gz')).toBe(true);
    expect(ruleMatches(rule, 'ObjectCreated:CompleteMultipartUpload', 'incoming/x.tar.gz')).toBe(true);
    expect(ruleMatches(rule, 'ObjectRemoved:Delete', 'incoming/x.tar.gz')).toBe(false);
    expect(ruleMatches(rule, 'ObjectCreated:Put', 'models/x.tar.gz')).toBe(false);
    expect(ruleMatches(rule, 'ObjectCreated:Put', 'incoming/x.zip')).toBe(false);
    expect(ruleMatches({ ...rule, events: ['s3:ObjectRemoved:Delete'] }, 'ObjectRemoved:Delete', 'incoming/a.tar.gz')).toBe(true);
  });
});
