import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { redriveDeadLetters } from '../../../src/cli/models/redrive';
import { mockedContext, run, stubRegistry } from '../fakes';

const sqs = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const sqsMock = mockClient(sqs);
const DLQ = 'https://sqs.us-east-1.amazonaws.com/000000000000/dlq';
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/000000000000/queue';

function messages(ids: string[]): Message[] {
  return ids.map((id) => ({
    MessageId: id,
    ReceiptHandle: `rh-${id}`,
    Body: `{"Records":[{"id":"${id}"}]}`,
    MessageAttributes: { origin: { DataType: 'String', StringValue: 's3' } },
  }));
}

/** Sends succeed with new message ids `sent-<original entry id>-<n>`. */
function acceptSends() {
  let n = 0;
  sqsMock.on(SendMessageBatchCommand).callsFake(async (input: { Entries: { Id: string }[] }) => ({
    Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `sent-${(n += 1)}`, MD5OfMessageBody: '' })),
    Failed: [],
  }));
  sqsMock.on(DeleteMessageBatchCommand).callsFake(async (input: { Entries: { Id: string }[] }) => ({
    Successful: input.Entries.map((e) => ({ Id: e.Id })),
    Failed: [],
  }));
}

beforeEach(() => sqsMock.reset());

describe('Function: redriveDeadLetters', () => {
  it('moves every message (receive, send with its attributes, then delete) until the DLQ is empty', async () => {
    // Prepare
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: messages(['a', 'b']) })
      .resolvesOnce({ Messages: messages(['c']) })
      .resolves({ Messages: [] });
    acceptSends();

    // Act
    const result = await redriveDeadLetters(sqs, { sourceQueueUrl: DLQ, targetQueueUrl: QUEUE, waitTimeSeconds: 0 });

    // Assess
    expect(result).toMatchObject({ moved: 3, failed: 0, notDeleted: 0, returned: 0 });
    const sent = sqsMock.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries ?? []);
    expect(sent.map((e) => e.MessageBody)).toEqual(messages(['a', 'b', 'c']).map((m) => m.Body));
    expect(sent[0]!.MessageAttributes).toEqual({ origin: { DataType: 'String', StringValue: 's3' } });
    const deleted = sqsMock.commandCalls(DeleteMessageBatchCommand).flatMap((c) => c.args[0].input.Entries ?? []);
    expect(deleted.map((e) => e.ReceiptHandle)).toEqual(['rh-a', 'rh-b', 'rh-c']);
  });

  it('keeps a message whose send failed in the DLQ and reports it', async () => {
    // Prepare
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: messages(['a', 'b']) }).resolves({ Messages: [] });
    sqsMock.on(SendMessageBatchCommand).resolves({
      Successful: [{ Id: '0', MessageId: 'sent-1', MD5OfMessageBody: '' }],
      Failed: [{ Id: '1', Code: 'InvalidParameterValue', Message: 'too big', SenderFault: true }],
    });
    sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }], Failed: [] });

    // Act
    const result = await redriveDeadLetters(sqs, { sourceQueueUrl: DLQ, targetQueueUrl: QUEUE, waitTimeSeconds: 0 });

    // Assess
    expect(result).toMatchObject({ moved: 1, failed: 1, failures: [{ messageId: 'b', reason: 'InvalidParameterValue: too big' }] });
    const deleted = sqsMock.commandCalls(DeleteMessageBatchCommand).flatMap((c) => c.args[0].input.Entries ?? []);
    expect(deleted.map((e) => e.ReceiptHandle)).toEqual(['rh-a']);
  });

  it('stops after --max messages, receiving no more than needed', async () => {
    // Prepare
    sqsMock.on(ReceiveMessageCommand).callsFake(async (input: { MaxNumberOfMessages: number }) => ({
      Messages: messages(Array.from({ length: input.MaxNumberOfMessages }, (_, i) => `m${Math.random()}${i}`)),
    }));
    acceptSends();

    // Act
    const result = await redriveDeadLetters(sqs, { sourceQueueUrl: DLQ, targetQueueUrl: QUEUE, max: 13, waitTimeSeconds: 0 });

    // Assess
    expect(result.moved).toBe(13);
    expect(sqsMock.commandCalls(ReceiveMessageCommand).map((c) => c.args[0].input.MaxNumberOfMessages)).toEqual([10, 3]);
  });

  it('stops when a message it moved comes back to the DLQ, making it visible again', async () => {
    // Prepare
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: messages(['a']) })
      .resolvesOnce({ Messages: [{ ...messages(['x'])[0]!, MessageId: 'sent-1', ReceiptHandle: 'rh-back' }] });
    acceptSends();
    sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [{ Id: '0' }], Failed: [] });

    // Act
    const result = await redriveDeadLetters(sqs, { sourceQueueUrl: DLQ, targetQueueUrl: QUEUE, waitTimeSeconds: 0 });

    // Assess
    expect(result).toMatchObject({ moved: 1, returned: 1 });
    expect(sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand)[0]!.args[0].input.Entries).toEqual([
      { Id: '0', ReceiptHandle: 'rh-back', VisibilityTimeout: 0 },
    ]);
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(2);
  });
});

describe('Command: smhost models redrive', () => {
  it('finds both queues by the stack names and reports counts', async () => {
    // Prepare
    const { factory, mocks } = mockedContext(stubRegistry({}));
    mocks.sqs.on(GetQueueUrlCommand, { QueueName: 'smhost-prod-artifact-events-dlq' }).resolves({ QueueUrl: DLQ });
    mocks.sqs.on(GetQueueUrlCommand, { QueueName: 'smhost-prod-artifact-events' }).resolves({ QueueUrl: QUEUE });
    mocks.sqs.on(ReceiveMessageCommand).resolvesOnce({ Messages: messages(['a']) }).resolves({ Messages: [] });
    mocks.sqs.on(SendMessageBatchCommand).resolves({ Successful: [{ Id: '0', MessageId: 'n1', MD5OfMessageBody: '' }], Failed: [] });
    mocks.sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }], Failed: [] });

    // Act
    const human = await run(['models', 'redrive', '--stage', 'prod'], factory);

    // Assess
    expect(human.code).toBe(0);
    expect(human.stdout()).toContain(`from:   ${DLQ}`);
    expect(human.stdout()).toContain('moved:  1');
  });

  it('exits 3 when the queue does not exist and 2 for a bad --max', async () => {
    // Prepare
    const { factory, mocks } = mockedContext(stubRegistry({}));
    mocks.sqs
      .on(GetQueueUrlCommand)
      .rejects(Object.assign(new Error('The specified queue does not exist.'), { name: 'QueueDoesNotExist' }));

    // Act
    const missing = await run(['models', 'redrive', '--json'], factory);
    const badMax = await run(['models', 'redrive', '--max', 'all'], factory);

    // Assess
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stdout()).error.message).toMatch(/queue "smhost-dev-artifact-events(-dlq)?" does not exist/);
    expect(badMax.code).toBe(2);
    expect(badMax.stderr()).toContain('invalid --max "all": must be a positive whole number');
  });
});
