import { describe, expect, it } from 'vitest';
import { MalformedNotificationError, parseS3Notification } from '../../src/multimodel/s3-notifications';
import { s3EventRecord, s3NotificationBody, s3TestEventBody } from '../support/s3-events';

describe('Function: parseS3Notification', () => {
  it('reads created and removed records with key, size, eTag and sequencer', () => {
    // Prepare
    const body = s3NotificationBody(
      s3EventRecord({ bucket: 'b', key: 'incoming/ep/my model.tar.gz', size: 10, eTag: '"abc"', sequencer: '0A' }),
      s3EventRecord({ bucket: 'b', key: 'models/ep/m/0123456789abcdef.tar.gz', eventName: 'ObjectRemoved:Delete', sequencer: '0B' }),
    );

    // Act
    const parsed = parseS3Notification(body);

    // Assess
    expect(parsed).toMatchObject({
      kind: 'records',
      records: [
        { kind: 'created', eventName: 'ObjectCreated:Put', bucket: 'b', encodedKey: 'incoming/ep/my+model.tar.gz', size: 10, eTag: 'abc', sequencer: '0A' },
        { kind: 'removed', eventName: 'ObjectRemoved:Delete', encodedKey: 'models/ep/m/0123456789abcdef.tar.gz', sequencer: '0B' },
      ],
    });
  });

  it('recognises s3:TestEvent', () => {
    expect(parseS3Notification(s3TestEventBody('b'))).toEqual({ kind: 'test-event', bucket: 'b' });
  });

  it('classifies other event types as other', () => {
    const body = s3NotificationBody(s3EventRecord({ bucket: 'b', key: 'k', eventName: 'ObjectTagging:Put' }));
    expect(parseS3Notification(body)).toMatchObject({ records: [{ kind: 'other' }] });
  });

  it.each([
    ['not json', /not JSON/],
    ['[1]', /not a JSON object/],
    ['{"Foo":1}', /no "Records" array/],
    ['{"Records":[1]}', /Records\[0\] is not an object/],
    ['{"Records":[{"s3":{}}]}', /Records\[0\].eventName is missing/],
    ['{"Records":[{"eventName":"ObjectCreated:Put","s3":{}}]}', /Records\[0\].s3.bucket or Records\[0\].s3.object is missing/],
    ['{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{},"object":{"key":"k"}}}]}', /s3.bucket.name is missing/],
    ['{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{}}}]}', /s3.object.key is missing/],
  ])('refuses %j naming what is wrong', (body, message) => {
    expect(() => parseS3Notification(body)).toThrow(MalformedNotificationError);
    expect(() => parseS3Notification(body)).toThrow(message);
  });
});
