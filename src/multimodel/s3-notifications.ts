/**
 * Reads the body of an SQS message that S3 sent: an S3 event notification (`Records`), or the
 * `s3:TestEvent` S3 sends once when a notification configuration is saved.
 */

/** One object event, as far as registration needs it. The key is still URL-encoded, as S3 sent it. */
export interface ObjectNotification {
  kind: 'created' | 'removed' | 'other';
  eventName: string;
  eventTime?: string;
  bucket: string;
  encodedKey: string;
  size?: number;
  /** Without quotes, as S3 sends it; absent on some events (delete markers, some emulators). */
  eTag?: string;
  sequencer?: string;
}

export type ParsedNotification =
  | { kind: 'test-event'; bucket?: string }
  | { kind: 'records'; records: ObjectNotification[] };

/** The message body is not an S3 notification; nothing can be done with it but log it. */
export class MalformedNotificationError extends Error {
  override readonly name = 'MalformedNotificationError';
  constructor(message: string) {
    super(message);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function kindOf(eventName: string): ObjectNotification['kind'] {
  // Names arrive without the `s3:` prefix in notifications (`ObjectCreated:Put`), with it in configurations.
  const name = eventName.replace(/^s3:/, '');
  if (name.startsWith('ObjectCreated:')) return 'created';
  if (name.startsWith('ObjectRemoved:')) return 'removed';
  return 'other';
}

/**
 * Parses an SQS message body holding an S3 event notification.
 *
 * @throws MalformedNotificationError naming what is missing or of the wrong type.
 */
export function parseS3Notification(body: string): ParsedNotification {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw new MalformedNotificationError(`message body is not JSON: ${(error as Error).message}`);
  }
  if (!isObject(parsed)) throw new MalformedNotificationError('message body is not a JSON object');
  if (parsed.Event === 's3:TestEvent') {
    const bucket = optionalString(parsed.Bucket);
    return bucket ? { kind: 'test-event', bucket } : { kind: 'test-event' };
  }
  if (!Array.isArray(parsed.Records)) {
    throw new MalformedNotificationError('message body has no "Records" array (not an S3 event notification)');
  }
  const records = parsed.Records.map((record, index): ObjectNotification => {
    const where = `Records[${index}]`;
    if (!isObject(record)) throw new MalformedNotificationError(`${where} is not an object`);
    const eventName = optionalString(record.eventName);
    if (!eventName) throw new MalformedNotificationError(`${where}.eventName is missing`);
    const s3 = record.s3;
    if (!isObject(s3) || !isObject(s3.bucket) || !isObject(s3.object)) {
      throw new MalformedNotificationError(`${where}.s3.bucket or ${where}.s3.object is missing`);
    }
    const bucket = optionalString(s3.bucket.name);
    if (!bucket) throw new MalformedNotificationError(`${where}.s3.bucket.name is missing`);
    const encodedKey = optionalString(s3.object.key);
    if (!encodedKey) throw new MalformedNotificationError(`${where}.s3.object.key is missing`);
    const size = s3.object.size;
    const eventTime = optionalString(record.eventTime);
    const eTag = optionalString(s3.object.eTag);
    const sequencer = optionalString(s3.object.sequencer);
    return {
      kind: kindOf(eventName),
      eventName,
      bucket,
      encodedKey,
      ...(eventTime ? { eventTime } : {}),
      ...(typeof size === 'number' && Number.isFinite(size) ? { size } : {}),
      ...(eTag ? { eTag } : {}),
      ...(sequencer ? { sequencer } : {}),
    };
  });
  return { kind: 'records', records };
}
