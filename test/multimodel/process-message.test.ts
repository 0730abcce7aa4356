import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { registrationConfigFromEnv } from '../../src/multimodel/config';
import type { LoggerPort, MultiModelDeps } from '../../src/multimodel/dependencies';
import { processNotificationMessage } from '../../src/multimodel/process-message';
import type { Registry } from '../../src/multimodel/registry';
import { s3EventRecord, s3NotificationBody, s3TestEventBody } from '../support/s3-events';

const s3 = new S3Client({ region: 'us-east-1' });
const s3Mock = mockClient(s3);
const logged: { level: string; message: string }[] = [];
const logger: LoggerPort = {
  debug: (message) => void logged.push({ level: 'debug', message }),
  info: (message) => void logged.push({ level: 'info', message }),
  warn: (message) => void logged.push({ level: 'warn', message }),
  error: (message) => void logged.push({ level: 'error', message }),
};
// Only reached through paths these tests do not take; any call is a failure.
const registry = new Proxy({} as Registry, {
  get: (_target, method) => () => {
    throw new Error(`registry.${String(method)} must not be called`);
  },
});

function deps(): MultiModelDeps {
  return {
    s3,
    registry,
    sagemaker: new SageMakerClient({ region: 'us-east-1' }),
    sagemakerRuntime: new SageMakerRuntimeClient({ region: 'us-east-1' }),
    config: registrationConfigFromEnv({ ARTIFACTS_BUCKET: 'bucket', REGISTRY_TABLE: 'table' }),
    logger,
  };
}

describe('Function: processNotificationMessage', () => {
  beforeEach(() => {
    s3Mock.reset();
    logged.length = 0;
  });

  it('acknowledges s3:TestEvent, doing nothing', async () => {
    const result = await processNotificationMessage(deps(), s3TestEventBody('bucket'));
    expect(result).toEqual({ kind: 'test-event', records: [] });
    expect(logged).toEqual([{ level: 'info', message: 's3:TestEvent acknowledged' }]);
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it('consumes a malformed body with an error log, since retrying cannot fix it', async () => {
    const result = await processNotificationMessage(deps(), '{"Records": "nope"}');
    expect(result).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/no "Records" array/) });
    expect(logged[0]?.level).toBe('error');
  });

  it('ignores event types other than ObjectCreated and ObjectRemoved', async () => {
    const body = s3NotificationBody(s3EventRecord({ bucket: 'bucket', key: 'incoming/ep/m.tar.gz', eventName: 'ObjectTagging:Put' }));
    const result = await processNotificationMessage(deps(), body);
    expect(result.records).toEqual([{ event: 'ignored', key: 'incoming/ep/m.tar.gz', reason: 'event ObjectTagging:Put is neither ObjectCreated nor ObjectRemoved' }]);
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it('dispatches removals under models/ and drops under incoming/ by event type', async () => {
    // Prepare: the live copy is still there, so the removal is stale; the drop is outside incoming/.
    s3Mock.on(HeadObjectCommand).resolves({});
    const body = s3NotificationBody(
      s3EventRecord({ bucket: 'bucket', key: 'models/ep/m/0123456789abcdef.tar.gz', eventName: 'ObjectRemoved:Delete' }),
      s3EventRecord({ bucket: 'bucket', key: 'other/ep/m.tar.gz', eTag: 'e' }),
    );

    // Act
    const result = await processNotificationMessage(deps(), body);

    // Assess
    expect(result.records).toEqual([
      { event: 'removed', key: 'models/ep/m/0123456789abcdef.tar.gz', outcome: { kind: 'stale', key: 'models/ep/m/0123456789abcdef.tar.gz' } },
      { event: 'created', key: 'other/ep/m.tar.gz' },
    ]);
    expect(s3Mock.commandCalls(GetObjectCommand)).toHaveLength(0);
  });

  it('lets a transient failure escape so the message is retried', async () => {
    s3Mock.on(HeadObjectCommand).rejects(Object.assign(new Error('busy'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }));
    const body = s3NotificationBody(s3EventRecord({ bucket: 'bucket', key: 'models/ep/m/0123456789abcdef.tar.gz', eventName: 'ObjectRemoved:Delete' }));
    await expect(processNotificationMessage(deps(), body)).rejects.toMatchObject({ name: 'SlowDown' });
  });
});
