/**
 * AWS-shaped events for tests: SQS records whose body is an S3 event notification, as S3 delivers
 * them to a queue (keys URL-encoded with `+` for spaces, quoteless ETag, size, sequencer), and the
 * `s3:TestEvent` S3 sends when a notification configuration is saved.
 */
import { randomUUID } from 'node:crypto';
import type { S3EventRecord, SQSEvent, SQSRecord } from 'aws-lambda';

export interface ObjectEventSpec {
  bucket: string;
  /** The key as stored (not encoded): it is encoded here the way S3 does. */
  key: string;
  eventName?: string;
  size?: number;
  /** With or without quotes; S3 sends it without. Omit to model an event without one. */
  eTag?: string;
  sequencer?: string;
  eventTime?: string;
}

/**
 * Encodes a key the way S3 writes it into notifications: form-style URL encoding per path segment,
 * so `/` stays, a space becomes `+` and a literal `+` becomes `%2B`.
 */
export function encodeEventKey(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%20/g, '+'))
    .join('/');
}

let sequence = 0x0055aed6dcd90281e5n;

/** A fresh sequencer, greater than every one handed out before (18 upper-case hex digits, like S3's). */
export function nextSequencer(): string {
  sequence += 1n;
  return sequence.toString(16).toUpperCase().padStart(18, '0');
}

/** One S3 notification record. */
export function s3EventRecord(spec: ObjectEventSpec): S3EventRecord {
  const eventName = spec.eventName ?? 'ObjectCreated:Put';
  const object: Record<string, unknown> = { key: encodeEventKey(spec.key), sequencer: spec.sequencer ?? nextSequencer() };
  if (spec.size !== undefined) object.size = spec.size;
  if (spec.eTag !== undefined) object.eTag = spec.eTag.replace(/"/g, '');
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: spec.eventTime ?? new Date().toISOString(),
    eventName,
    userIdentity: { principalId: 'AWS:AIDAEXAMPLE' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase(), 'x-amz-id-2': randomUUID() },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'artifact-events',
      bucket: { name: spec.bucket, ownerIdentity: { principalId: 'A3EXAMPLE' }, arn: `arn:aws:s3:::${spec.bucket}` },
      object: object as unknown as S3EventRecord['s3']['object'],
    },
  } as S3EventRecord;
}

/** The body S3 puts in an SQS message: `{"Records":[...]}`. */
export function s3NotificationBody(...records: S3EventRecord[]): string {
  return JSON.stringify({ Records: records });
}

/** The body of the `s3:TestEvent` message. */
export function s3TestEventBody(bucket: string): string {
  return JSON.stringify({
    Service: 'Amazon S3',
    Event: 's3:TestEvent',
    Time: new Date().toISOString(),
    Bucket: bucket,
    RequestId: randomUUID(),
    HostId: randomUUID(),
  });
}

/** An SQS record carrying `body`, as Lambda's SQS event source delivers it. */
export function sqsRecord(body: string, messageId: string = randomUUID()): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:artifact-events',
    awsRegion: 'us-east-1',
  };
}

/** An SQS event of one message per body. */
export function sqsEvent(...bodies: string[]): SQSEvent {
  return { Records: bodies.map((body) => sqsRecord(body)) };
}

/** An SQS event with one message per S3 record (one notification each, as S3 sends them). */
export function sqsEventForObjects(...specs: ObjectEventSpec[]): SQSEvent {
  return sqsEvent(...specs.map((spec) => s3NotificationBody(s3EventRecord(spec))));
}
