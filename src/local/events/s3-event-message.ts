/**
 * S3 event notification messages in AWS's shape (event structure version 2.1): the records the local
 * stack delivers to queues, and the `s3:TestEvent` message S3 sends when a configuration is applied.
 */
import { randomBytes } from 'node:crypto';

/** One S3 event record, as AWS documents the message structure. */
export interface S3EventRecord {
  eventVersion: '2.1';
  eventSource: 'aws:s3';
  awsRegion: string;
  eventTime: string;
  eventName: string;
  userIdentity: { principalId: string };
  requestParameters: { sourceIPAddress: string };
  responseElements: { 'x-amz-request-id': string; 'x-amz-id-2': string };
  s3: {
    s3SchemaVersion: '1.0';
    configurationId: string;
    bucket: { name: string; ownerIdentity: { principalId: string }; arn: string };
    object: { key: string; size?: number; eTag?: string; versionId?: string; sequencer: string };
  };
}

export interface S3TestEvent {
  Service: 'Amazon S3';
  Event: 's3:TestEvent';
  Time: string;
  Bucket: string;
  RequestId: string;
  HostId: string;
}

/** The owner id local buckets report, in the form S3 uses for canonical owner ids in events. */
export const LOCAL_BUCKET_OWNER = 'A3LOCALSTACKOWNER';

const UNRESERVED = /[A-Za-z0-9.\-*_/]/;

/**
 * Encodes a key as S3 event keys are: form-URL encoding (spaces become `+`, other reserved characters
 * `%XX` of their UTF-8 bytes) with `/` left as is. Decoding is `decodeURIComponent(key.replace(/\+/g, ' '))`.
 */
export function encodeEventKey(key: string): string {
  let out = '';
  for (const char of key) {
    if (char === ' ') out += '+';
    else if (UNRESERVED.test(char)) out += char;
    else for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Issues S3 sequencers: hex strings that, compared after padding to equal length, increase for later
 * events on a key. They start from the clock, so they keep increasing across restarts of the stack.
 */
export class Sequencer {
  private last = 0n;

  next(now = Date.now()): string {
    const fromClock = BigInt(now) << 20n;
    this.last = fromClock > this.last ? fromClock : this.last + 1n;
    return this.last.toString(16).toUpperCase().padStart(18, '0');
  }
}

export interface RecordInput {
  region: string;
  eventName: string;
  eventTime: Date;
  principalId: string;
  sourceIp: string;
  requestId: string;
  hostId: string;
  configurationId: string;
  bucket: string;
  key: string;
  size?: number;
  eTag?: string;
  versionId?: string;
  sequencer: string;
}

/** Builds one event record. `size` and `eTag` are present for created objects, absent for removals. */
export function buildEventRecord(input: RecordInput): S3EventRecord {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: input.region,
    eventTime: input.eventTime.toISOString(),
    eventName: input.eventName,
    userIdentity: { principalId: input.principalId },
    requestParameters: { sourceIPAddress: input.sourceIp },
    responseElements: { 'x-amz-request-id': input.requestId, 'x-amz-id-2': input.hostId },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: input.configurationId,
      bucket: { name: input.bucket, ownerIdentity: { principalId: LOCAL_BUCKET_OWNER }, arn: `arn:aws:s3:::${input.bucket}` },
      object: {
        key: encodeEventKey(input.key),
        ...(input.size !== undefined ? { size: input.size } : {}),
        ...(input.eTag !== undefined ? { eTag: input.eTag } : {}),
        ...(input.versionId !== undefined ? { versionId: input.versionId } : {}),
        sequencer: input.sequencer,
      },
    },
  };
}

/** The message S3 sends to a destination when a notification configuration is applied. */
export function buildTestEvent(bucket: string, time = new Date()): S3TestEvent {
  return {
    Service: 'Amazon S3',
    Event: 's3:TestEvent',
    Time: time.toISOString(),
    Bucket: bucket,
    RequestId: randomBytes(8).toString('hex').toUpperCase(),
    HostId: randomBytes(48).toString('base64'),
  };
}
