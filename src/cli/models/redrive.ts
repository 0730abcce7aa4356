import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Command } from 'commander';
import { hasErrorName } from '../../aws/errors';
import type { CommandHost } from '../command';
import { ExitCode, NotFoundError } from '../errors';
import { parseInput, positiveIntegerSchema } from '../inputs';
import { renderRedrive } from '../output';

export interface RedriveOptions {
  /** URL of the dead-letter queue to drain. */
  sourceQueueUrl: string;
  /** URL of the queue the messages go back to. */
  targetQueueUrl: string;
  /** Stop after moving this many messages (default: until the DLQ answers empty). */
  max?: number;
  /** How long a received message stays hidden while it is being moved, in seconds. */
  visibilityTimeoutSeconds?: number;
  /** Long-poll time of each receive, in seconds; a long poll asks every SQS host, so "empty" means empty. */
  waitTimeSeconds?: number;
}

export interface RedriveFailure {
  messageId: string;
  reason: string;
}

export interface RedriveResult {
  sourceQueueUrl: string;
  targetQueueUrl: string;
  /** Messages sent to the target queue and deleted from the DLQ. */
  moved: number;
  /** Messages that could not be sent; they stay in the DLQ and reappear after the visibility timeout. */
  failed: number;
  /** Sent but not deleted from the DLQ: they will be delivered twice (the handler is idempotent). */
  notDeleted: number;
  /** Messages seen again in the DLQ during this run after being moved (the consumer failed them again). */
  returned: number;
  failures: RedriveFailure[];
}

/**
 * Moves messages from a dead-letter queue back to its source queue by receive → send → delete, which
 * works on AWS and on any SQS-compatible queue (unlike StartMessageMoveTask). A message is deleted from
 * the DLQ only after its copy was accepted by the target queue, so nothing is lost; a message this run
 * already moved that comes back (its consumer failed it again) ends the run instead of cycling forever.
 */
export async function redriveDeadLetters(sqs: SQSClient, options: RedriveOptions): Promise<RedriveResult> {
  const result: RedriveResult = {
    sourceQueueUrl: options.sourceQueueUrl,
    targetQueueUrl: options.targetQueueUrl,
    moved: 0,
    failed: 0,
    notDeleted: 0,
    returned: 0,
    failures: [],
  };
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const sentIds = new Set<string>();
  // Failed messages stay hidden for the visibility timeout, so they are not received again in this run.
  while (result.moved + result.failed < max) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.sourceQueueUrl,
        MaxNumberOfMessages: Math.min(10, max - result.moved - result.failed),
        WaitTimeSeconds: options.waitTimeSeconds ?? 1,
        VisibilityTimeout: options.visibilityTimeoutSeconds ?? 60,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) break;

    const fresh = messages.filter((m) => !sentIds.has(m.MessageId ?? ''));
    const returning = messages.filter((m) => sentIds.has(m.MessageId ?? ''));
    if (returning.length > 0) {
      result.returned += returning.length;
      await releaseMessages(sqs, options.sourceQueueUrl, returning);
    }
    if (fresh.length > 0) await moveBatch(sqs, options, fresh, result, sentIds);
    if (returning.length > 0) break;
  }
  return result;
}

async function moveBatch(
  sqs: SQSClient,
  options: RedriveOptions,
  messages: Message[],
  result: RedriveResult,
  sentIds: Set<string>,
): Promise<void> {
  const byEntryId = new Map(messages.map((m, i) => [String(i), m]));
  const sent = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: options.targetQueueUrl,
      Entries: [...byEntryId].map(([id, m]) => ({
        Id: id,
        MessageBody: m.Body ?? '',
        ...(m.MessageAttributes && Object.keys(m.MessageAttributes).length > 0
          ? { MessageAttributes: m.MessageAttributes }
          : {}),
      })),
    }),
  );
  for (const failure of sent.Failed ?? []) {
    const message = byEntryId.get(failure.Id ?? '');
    result.failed += 1;
    result.failures.push({
      messageId: message?.MessageId ?? '?',
      reason: `${failure.Code ?? 'error'}: ${failure.Message ?? 'send failed'}`,
    });
  }
  const succeeded = (sent.Successful ?? []).flatMap((s) => {
    const message = byEntryId.get(s.Id ?? '');
    if (s.MessageId) sentIds.add(s.MessageId);
    return message ? [message] : [];
  });
  if (succeeded.length === 0) return;
  const deleted = await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: options.sourceQueueUrl,
      Entries: succeeded.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
    }),
  );
  const notDeleted = deleted.Failed?.length ?? 0;
  result.moved += succeeded.length;
  result.notDeleted += notDeleted;
}

async function releaseMessages(sqs: SQSClient, queueUrl: string, messages: Message[]): Promise<void> {
  await sqs.send(
    new ChangeMessageVisibilityBatchCommand({
      QueueUrl: queueUrl,
      Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '', VisibilityTimeout: 0 })),
    }),
  );
}

/** The URL of a queue by name, or a {@link NotFoundError} naming the queue. */
export async function queueUrl(sqs: SQSClient, name: string, role: string): Promise<string> {
  try {
    const result = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    if (!result.QueueUrl) throw new NotFoundError(`${role} queue "${name}" has no URL`, { queue: name });
    return result.QueueUrl;
  } catch (error) {
    if (hasErrorName(error, 'QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue')) {
      throw new NotFoundError(`${role} queue "${name}" does not exist (is the stack deployed for this stage?)`, {
        queue: name,
      });
    }
    throw error;
  }
}

/** `smhost models redrive [--max N]` */
export function registerRedriveCommand(models: Command, host: CommandHost): void {
  models
    .command('redrive')
    .description("move messages from the registration queue's dead-letter queue back to the queue")
    .option('--max <n>', 'move at most this many messages')
    .action(
      host.run(async ({ context, output }, opts: { max?: string }) => {
        const max = opts.max !== undefined ? parseInput(positiveIntegerSchema, opts.max, '--max') : undefined;
        const ctx = context();
        const sqs = ctx.clients.sqs;
        const [sourceQueueUrl, targetQueueUrl] = await Promise.all([
          queueUrl(sqs, ctx.names.deadLetterQueue, 'dead-letter'),
          queueUrl(sqs, ctx.names.queue, 'registration'),
        ]);
        const result = await redriveDeadLetters(sqs, {
          sourceQueueUrl,
          targetQueueUrl,
          ...(max !== undefined ? { max } : {}),
        });
        output.result(result, renderRedrive(result));
        return result.failed > 0 ? ExitCode.Failed : ExitCode.Ok;
      }),
    );
}
