import { GetQueueAttributesCommand, GetQueueUrlCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, DeleteMessageCommand, StartMessageMoveTaskCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_POLLERS, failedItems, SqsEventSource } from '../../../src/local/lambda/sqs-event-source';
import { setWorkerHealthy, workerCalls } from '../fixtures/worker-calls';
import { eventually, FIXTURE_BUCKET, FIXTURE_DLQ, FIXTURE_TABLE, FIXTURE_WORK_QUEUE, startFixtureStack, type FixtureStack } from '../fixture-stack';

let fixture: FixtureStack;
let workUrl: string;
let dlqUrl: string;

async function count(url: string): Promise<{ visible: number; inFlight: number }> {
  const answer = await fixture.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return { visible: Number(answer.Attributes!.ApproximateNumberOfMessages), inFlight: Number(answer.Attributes!.ApproximateNumberOfMessagesNotVisible) };
}

/** The worker's invocations that carried a message tagged `tag`, as it recorded them in the fixture table. */
async function callsFor(tag: string) {
  return (await workerCalls(fixture.clients.dynamo, FIXTURE_TABLE)).filter((call) => call.bodies.some((body) => body.includes(tag)));
}

async function setHealthy(healthy: boolean): Promise<void> {
  await setWorkerHealthy(fixture.clients.dynamo, FIXTURE_TABLE, healthy);
}

beforeAll(async () => {
  fixture = await startFixtureStack();
  workUrl = (await fixture.clients.sqs.send(new GetQueueUrlCommand({ QueueName: FIXTURE_WORK_QUEUE }))).QueueUrl!;
  dlqUrl = (await fixture.clients.sqs.send(new GetQueueUrlCommand({ QueueName: FIXTURE_DLQ }))).QueueUrl!;
});

afterAll(async () => {
  await fixture.close();
});

beforeEach(async () => {
  await setHealthy(false);
});

describe('Function: SQS event source of the local stack', () => {
  it('invokes the handler with its serverless.yml environment and deletes a batch that succeeded', async () => {
    // Act
    await fixture.clients.sqs.send(new SendMessageCommand({ QueueUrl: workUrl, MessageBody: JSON.stringify({ tag: 'ok-1' }) }));
    await eventually(async () => ((await count(workUrl)).visible + (await count(workUrl)).inFlight === 0 && (await callsFor('ok-1')).length > 0 ? true : undefined), 5000, 'the batch');

    // Assess
    const call = (await callsFor('ok-1'))[0]!;
    expect(call.env).toEqual({ table: FIXTURE_TABLE, bucket: FIXTURE_BUCKET, stage: 'us-east-1/test', endpoint: fixture.stack.url, functionName: 'fixture-test-worker' });
    expect(call.receiveCounts).toEqual(['1']);
  });

  it('deletes the records that succeeded and redelivers the one reported failed until it reaches the DLQ', async () => {
    // Act: three messages in one batch; the middle one keeps failing (maxReceiveCount 2).
    await fixture.clients.sqs.send(new SendMessageBatchCommand({
      QueueUrl: workUrl,
      Entries: [
        { Id: 'a', MessageBody: JSON.stringify({ tag: 'partial-a' }) },
        { Id: 'b', MessageBody: JSON.stringify({ tag: 'partial-b', fail: true }), MessageAttributes: { origin: { DataType: 'String', StringValue: 'test' } } },
        { Id: 'c', MessageBody: JSON.stringify({ tag: 'partial-c' }) },
      ],
    }));
    const dead = await eventually(async () => {
      const answer = await fixture.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'], VisibilityTimeout: 0 }));
      return answer.Messages?.find((message) => message.Body!.includes('partial-b'));
    }, 8000, 'the failed record in the DLQ');

    // Assess
    expect(await callsFor('partial-a')).toHaveLength(1);
    expect(await callsFor('partial-c')).toHaveLength(1);
    expect((await callsFor('partial-b')).map((call) => call.receiveCounts[call.bodies.findIndex((body) => body.includes('partial-b'))])).toEqual(['1', '2']);
    expect(dead.MessageAttributes).toEqual({ origin: { DataType: 'String', StringValue: 'test' } });
    expect(dead.Attributes?.DeadLetterQueueSourceArn).toBe(`arn:aws:sqs:us-east-1:000000000000:${FIXTURE_WORK_QUEUE}`);
    await fixture.clients.sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: dead.ReceiptHandle }));
  });

  it('fails the whole batch when the handler crashes, and redrives from the DLQ once the handler is fixed', async () => {
    // Act: a crash fails both records; both land in the DLQ after two receives.
    await fixture.clients.sqs.send(new SendMessageBatchCommand({
      QueueUrl: workUrl,
      Entries: [
        { Id: 'crash', MessageBody: JSON.stringify({ tag: 'crash-x', crash: true }) },
        { Id: 'innocent', MessageBody: JSON.stringify({ tag: 'crash-y' }) },
      ],
    }));
    await eventually(async () => ((await count(dlqUrl)).visible === 2 ? true : undefined), 8000, 'both records in the DLQ');
    const crashCalls = await callsFor('crash-x');
    await setHealthy(true);
    const task = await fixture.clients.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: `arn:aws:sqs:us-east-1:000000000000:${FIXTURE_DLQ}` }));
    await eventually(async () => ((await callsFor('crash-y')).length > crashCalls.length && (await count(workUrl)).visible + (await count(workUrl)).inFlight === 0 ? true : undefined), 5000, 'the redriven batch');

    // Assess
    expect(crashCalls).toHaveLength(2);
    expect(crashCalls.every((call) => call.bodies.length === 2)).toBe(true);
    expect(task.TaskHandle).toBeTruthy();
    expect((await count(dlqUrl)).visible).toBe(0);
  });

  it('lets a redrive by hand (receive from the DLQ, send to the queue, delete) reach the handler', async () => {
    // Prepare: a message failing twice ends in the DLQ.
    await fixture.clients.sqs.send(new SendMessageCommand({ QueueUrl: workUrl, MessageBody: JSON.stringify({ tag: 'manual', fail: true }) }));
    const dead = await eventually(async () => (await fixture.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 1 }))).Messages?.[0], 8000, 'the DLQ message');

    // Act
    await setHealthy(true);
    await fixture.clients.sqs.send(new SendMessageCommand({ QueueUrl: workUrl, MessageBody: dead.Body! }));
    await fixture.clients.sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: dead.ReceiptHandle }));

    // Assess
    await eventually(async () => ((await callsFor('manual')).length === 3 ? true : undefined), 5000, 'the redriven message');
    expect((await count(dlqUrl)).visible).toBe(0);
  });
});

describe('Function: failedItems', () => {
  const batch = new Set(['m1', 'm2']);

  it('reads batchItemFailures and treats empty answers as full success', () => {
    expect(failedItems({ batchItemFailures: [{ itemIdentifier: 'm2' }] }, batch)).toEqual({ failed: ['m2'] });
    expect(failedItems(undefined, batch)).toEqual({ failed: [] });
    expect(failedItems({}, batch)).toEqual({ failed: [] });
    expect(failedItems({ batchItemFailures: [] }, batch)).toEqual({ failed: [] });
  });

  it('fails the whole batch on answers Lambda refuses', () => {
    expect(failedItems({ batchItemFailures: [{ itemIdentifier: '' }] }, batch)).toHaveProperty('error');
    expect(failedItems({ batchItemFailures: [{ itemIdentifier: 'unknown' }] }, batch)).toHaveProperty('error');
    expect(failedItems({ batchItemFailures: [{ id: 'm1' }] }, batch)).toHaveProperty('error');
    expect(failedItems('not json', batch)).toHaveProperty('error');
  });
});

describe('Function: SqsEventSource.pollerCount', () => {
  const spec = (maximumConcurrency?: number) => ({ queueArn: 'arn:aws:sqs:us-east-1:000000000000:q', queueName: 'q', batchSize: 10, maximumBatchingWindow: 0, reportBatchItemFailures: true, enabled: true, ...(maximumConcurrency ? { maximumConcurrency } : {}) });
  const source = (maximumConcurrency?: number, maxPollers?: number) =>
    new SqsEventSource({ engine: fixture.stack.queues, spec: spec(maximumConcurrency), region: 'us-east-1', timeScale: 1, invoke: async () => undefined, ...(maxPollers ? { maxPollers } : {}) });

  it('polls with maximumConcurrency, or five pollers, but never more than the function can run at once', () => {
    // Act / Assess
    expect(source(10).pollerCount).toBe(10);
    expect(source().pollerCount).toBe(DEFAULT_POLLERS);
    expect(source(10, 4).pollerCount).toBe(4);
    expect(source(2, 4).pollerCount).toBe(2);
  });
});
