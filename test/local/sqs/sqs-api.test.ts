import { ChangeMessageVisibilityCommand, CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ListQueuesCommand, PurgeQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorName } from '../../../src/aws/errors';
import { md5OfMessageAttributes } from '../../../src/local/sqs/queue-engine';
import { startFixtureStack, type FixtureStack } from '../fixture-stack';

let fixture: FixtureStack;

async function errorOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return errorName(error);
  }
  return undefined;
}

beforeAll(async () => {
  fixture = await startFixtureStack({ runFunctions: false });
});

afterAll(async () => {
  await fixture.close();
});

describe('Function: local SQS API (JSON protocol)', () => {
  it('hides a received message for its visibility timeout, then redelivers it with a higher receive count', async () => {
    // Prepare: 10 s visibility is 100 ms at the test time scale.
    const { QueueUrl } = await fixture.clients.sqs.send(new CreateQueueCommand({ QueueName: 'visibility', Attributes: { VisibilityTimeout: '10' } }));
    await fixture.clients.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'hello', MessageAttributes: { n: { DataType: 'Number', StringValue: '42' } } }));

    // Act
    const first = await fixture.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['ApproximateReceiveCount'] }));
    const hidden = await fixture.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl }));
    const attributes = await fixture.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
    const second = await fixture.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 20, MessageSystemAttributeNames: ['All'] }));

    // Assess
    expect(first.Messages?.[0]?.Body).toBe('hello');
    expect(first.Messages?.[0]?.Attributes).toEqual({ ApproximateReceiveCount: '1' });
    expect(first.Messages?.[0]?.MD5OfMessageAttributes).toBe(md5OfMessageAttributes({ n: { DataType: 'Number', StringValue: '42' } }));
    expect(hidden.Messages ?? []).toHaveLength(0);
    expect(attributes.Attributes).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '1', VisibilityTimeout: '10' });
    expect(second.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(second.Messages?.[0]?.MessageId).toBe(first.Messages?.[0]?.MessageId);
  });

  it('wakes a long poll when a message arrives and changes visibility of messages in flight', async () => {
    const { QueueUrl } = await fixture.clients.sqs.send(new CreateQueueCommand({ QueueName: 'long-poll' }));
    const waiting = fixture.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 20 }));
    await new Promise((resolve) => setTimeout(resolve, 30));
    await fixture.clients.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'late' }));
    const received = await waiting;
    await fixture.clients.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: received.Messages![0]!.ReceiptHandle, VisibilityTimeout: 0 }));
    const again = await fixture.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    const deleted = await fixture.clients.sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: [{ Id: 'one', ReceiptHandle: again.Messages![0]!.ReceiptHandle }] }));
    expect(received.Messages?.[0]?.Body).toBe('late');
    expect(again.Messages?.[0]?.Body).toBe('late');
    expect(deleted.Successful?.map((entry) => entry.Id)).toEqual(['one']);
  });

  it('lists and purges queues, and names bad input in AWS errors', async () => {
    const { QueueUrl } = await fixture.clients.sqs.send(new CreateQueueCommand({ QueueName: 'to-purge' }));
    await fixture.clients.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'x' }));
    await fixture.clients.sqs.send(new PurgeQueueCommand({ QueueUrl }));
    const listed = await fixture.clients.sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'fixture-' }));
    const purged = await fixture.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    expect(listed.QueueUrls?.map((url) => url.split('/').pop()).sort()).toEqual(['fixture-test-events', 'fixture-test-work', 'fixture-test-work-dlq']);
    expect(purged.Attributes?.ApproximateNumberOfMessages).toBe('0');
    expect(await errorOf(fixture.clients.sqs.send(new SendMessageCommand({ QueueUrl: `${fixture.stack.url}/000000000000/absent`, MessageBody: 'x' })))).toBe('QueueDoesNotExist');
    expect(await errorOf(fixture.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 11 })))).toBe('InvalidParameterValue');
    expect(await errorOf(fixture.clients.sqs.send(new CreateQueueCommand({ QueueName: 'bad name!' })))).toBe('InvalidParameterValue');
    expect(await errorOf(fixture.clients.sqs.send(new CreateQueueCommand({ QueueName: 'bad-attr', Attributes: { VisibilityTimeout: '99999' } })))).toBe('InvalidAttributeValue');
    expect(await errorOf(fixture.clients.sqs.send(new CreateQueueCommand({ QueueName: 'to-purge', Attributes: { VisibilityTimeout: '5' } })))).toBe('QueueNameExists');
  });
});
