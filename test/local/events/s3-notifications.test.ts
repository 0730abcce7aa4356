import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, ReceiveMessageCommand, DeleteMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorName } from '../../../src/aws/errors';
import { FIXTURE_BUCKET, FIXTURE_EVENTS_QUEUE, startFixtureStack, type FixtureStack } from '../fixture-stack';

interface Message {
  body: Record<string, unknown>;
}

let fixture: FixtureStack;
let queueUrl: string;
const bucket = FIXTURE_BUCKET;

async function drain(): Promise<Message[]> {
  const messages: Message[] = [];
  for (;;) {
    const answer = await fixture.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (!answer.Messages?.length) return messages;
    for (const message of answer.Messages) {
      messages.push({ body: JSON.parse(message.Body!) as Record<string, unknown> });
      await fixture.clients.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
}

type EventRecord = { eventName: string; eventVersion: string; s3: { configurationId: string; object: { key: string; size?: number; eTag?: string; sequencer: string } } };

function records(messages: Message[]): EventRecord[] {
  return messages.flatMap((message) => {
    const list = message.body.Records as EventRecord[] | undefined;
    expect(list, 'every message holds one record').toHaveLength(1);
    return list!;
  });
}

beforeAll(async () => {
  fixture = await startFixtureStack({ runFunctions: false });
  queueUrl = (await fixture.clients.sqs.send(new GetQueueUrlCommand({ QueueName: FIXTURE_EVENTS_QUEUE }))).QueueUrl!;
});

afterAll(async () => {
  await fixture.close();
});

describe('Function: S3 notifications of the local stack', () => {
  it('sends s3:TestEvent when the configuration from serverless.yml is applied', async () => {
    const messages = await drain();
    expect(messages).toHaveLength(1);
    expect(messages[0]!.body).toMatchObject({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: bucket });
  });

  it('reports Put, Copy and CompleteMultipartUpload with URL-encoded keys, eTag, size and per-key increasing sequencers', async () => {
    // Prepare
    const key = 'in/ep 1/m+1 ü.bin';
    const first = await fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'first' }));
    const second = await fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'second!' }));
    const copy = await fixture.clients.s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'in/copy.bin', CopySource: encodeURIComponent(`${bucket}/${key}`) }));
    const { UploadId } = await fixture.clients.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'in/mp.bin' }));
    const part = await fixture.clients.s3.send(new UploadPartCommand({ Bucket: bucket, Key: 'in/mp.bin', UploadId, PartNumber: 1, Body: 'part' }));
    const completed = await fixture.clients.s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'in/mp.bin', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] } }));
    await fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'out/filtered.bin', Body: 'not notified' }));

    // Act
    const events = records(await drain());

    // Assess
    expect(events.map((event) => [event.eventName, event.s3.object.key])).toEqual([
      ['ObjectCreated:Put', 'in/ep+1/m%2B1+%C3%BC.bin'],
      ['ObjectCreated:Put', 'in/ep+1/m%2B1+%C3%BC.bin'],
      ['ObjectCreated:Copy', 'in/copy.bin'],
      ['ObjectCreated:CompleteMultipartUpload', 'in/mp.bin'],
    ]);
    expect(events.map((event) => event.s3.object.eTag)).toEqual([first.ETag, second.ETag, copy.CopyObjectResult!.ETag, completed.ETag].map((etag) => etag!.replace(/"/g, '')));
    expect(events.map((event) => event.s3.object.size)).toEqual([5, 7, 7, 4]);
    expect(BigInt(`0x${events[1]!.s3.object.sequencer}`) > BigInt(`0x${events[0]!.s3.object.sequencer}`)).toBe(true);
    expect(events.every((event) => event.eventVersion === '2.1' && event.s3.configurationId.length > 0)).toBe(true);
  });

  it('reports ObjectCreated:Post for a browser form upload', async () => {
    const form = new FormData();
    form.set('key', 'in/posted/${filename}');
    form.set('file', new Blob(['posted bytes']), 'form file.bin');
    const answer = await fetch(`${fixture.stack.url}/${bucket}`, { method: 'POST', body: form, headers: { Authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0' } });
    expect(answer.status).toBe(204);
    const events = records(await drain());
    expect(events.map((event) => [event.eventName, event.s3.object.key, event.s3.object.size])).toEqual([['ObjectCreated:Post', 'in/posted/form+file.bin', 12]]);
  });

  it('reports ObjectRemoved:Delete for DeleteObject and one per removed key of DeleteObjects', async () => {
    for (const key of ['in/d1.bin', 'in/d 2.bin', 'in/d3.bin']) await fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
    await drain();
    await fixture.clients.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'in/d1.bin' }));
    await fixture.clients.s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: 'in/d 2.bin' }, { Key: 'in/d3.bin' }, { Key: 'in/never-existed.bin' }] } }));
    const events = records(await drain());
    expect(events.map((event) => [event.eventName, event.s3.object.key])).toEqual([
      ['ObjectRemoved:Delete', 'in/d1.bin'],
      ['ObjectRemoved:Delete', 'in/d+2.bin'],
      ['ObjectRemoved:Delete', 'in/d3.bin'],
    ]);
    expect(events.every((event) => event.s3.object.eTag === undefined && event.s3.object.size === undefined)).toBe(true);
  });

  it('reports tagging events where the rules ask for them', async () => {
    await fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'other/x.tagged', Body: 'x' }));
    await fixture.clients.s3.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: 'other/x.tagged', Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] } }));
    const events = records(await drain());
    expect(events.map((event) => event.eventName)).toEqual(['ObjectTagging:Put']);
  });

  it('applies a configuration put through the API, sends a test event, and refuses unknown queues', async () => {
    // Act
    await fixture.clients.s3.send(new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: {
        QueueConfigurations: [{ Id: 'only-zips', QueueArn: `arn:aws:sqs:us-east-1:000000000000:${FIXTURE_EVENTS_QUEUE}`, Events: ['s3:ObjectCreated:Put'], Filter: { Key: { FilterRules: [{ Name: 'suffix', Value: '.zip' }] } } }],
      },
    }));
    const afterPut = await drain();
    await fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'in/ignored.bin', Body: 'x' }));
    await fixture.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'any/a.zip', Body: 'x' }));
    const events = records(await drain());
    const read = await fixture.clients.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    let refused: string | undefined;
    try {
      await fixture.clients.s3.send(new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: { QueueConfigurations: [{ QueueArn: 'arn:aws:sqs:us-east-1:000000000000:nope', Events: ['s3:ObjectCreated:*'] }] } }));
    } catch (error) {
      refused = errorName(error);
    }

    // Assess
    expect(afterPut.map((message) => message.body.Event)).toEqual(['s3:TestEvent']);
    expect(events.map((event) => [event.s3.configurationId, event.s3.object.key])).toEqual([['only-zips', 'any/a.zip']]);
    expect(read.QueueConfigurations?.[0]?.Id).toBe('only-zips');
    expect(refused).toBe('InvalidArgument');
  });
});
