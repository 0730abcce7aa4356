/**
 * The SQS event source mapping, run locally: pollers receive batches from the local queue (up to
 * `batchSize`, waiting up to `maximumBatchingWindow` to fill one), invoke the function with the SQS event
 * Lambda would build, delete the messages that succeeded, and leave the rest to reappear after their
 * visibility timeout (and reach the dead-letter queue through the queue's redrive policy).
 * With `ReportBatchItemFailures`, the function's `batchItemFailures` name the failed records; a crash, a
 * timeout, or an invalid response fails the whole batch, as on AWS.
 */
import type { SQSEvent, SQSRecord, SQSBatchResponse } from 'aws-lambda';
import type { QueueEngine, StoredMessage } from '../sqs/queue-engine';
import type { SqsEventSpec } from '../serverless/stack-config';
import { scaledMs } from '../time-scale';

/** Pollers started when `maximumConcurrency` is not set; Lambda itself starts with five. */
export const DEFAULT_POLLERS = 5;

export interface BatchOutcome {
  messageIds: string[];
  deleted: string[];
  failed: string[];
  /** Why the whole batch failed, when it did. */
  error?: string;
}

export interface SqsEventSourceOptions {
  engine: QueueEngine;
  spec: SqsEventSpec;
  region: string;
  timeScale: number;
  invoke: (event: SQSEvent) => Promise<unknown>;
  /** Told after every batch: what was deleted and what failed. */
  onBatch?: (outcome: BatchOutcome) => void;
  /**
   * At most this many pollers: the invocations the function can run at once. A poller holding a batch no
   * environment can take would let its messages' visibility timeout run out while they wait.
   */
  maxPollers?: number;
}

/** Builds the `SQSRecord` Lambda passes for a received message. */
export function toSqsRecord(message: StoredMessage, queueArn: string, region: string): SQSRecord {
  const messageAttributes: SQSRecord['messageAttributes'] = {};
  for (const [name, value] of Object.entries(message.attributes)) {
    messageAttributes[name] = {
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { binaryValue: value.BinaryValue } : {}),
      stringListValues: [],
      binaryListValues: [],
      dataType: value.DataType,
    };
  }
  return {
    messageId: message.id,
    receiptHandle: message.receiptHandle!,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentTimestamp),
      SenderId: message.senderId,
      ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp ?? message.sentTimestamp),
    },
    messageAttributes,
    md5OfBody: message.md5OfBody,
    ...(message.md5OfMessageAttributes ? { md5OfMessageAttributes: message.md5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  } as SQSRecord;
}

/**
 * Reads the function's answer under `ReportBatchItemFailures`: the ids of failed records, or an error
 * when the answer is one Lambda treats as a failure of the whole batch.
 */
export function failedItems(response: unknown, batch: Set<string>): { failed: string[] } | { error: string } {
  if (response === undefined || response === null) return { failed: [] };
  if (typeof response !== 'object' || Array.isArray(response)) return { error: `the response is not an object: ${JSON.stringify(response)?.slice(0, 200)}` };
  const failures = (response as Partial<SQSBatchResponse>).batchItemFailures;
  if (failures === undefined || failures === null) return { failed: [] };
  if (!Array.isArray(failures)) return { error: 'batchItemFailures is not a list' };
  const failed: string[] = [];
  for (const failure of failures as unknown[]) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || id === '') return { error: `batchItemFailures holds an entry without an itemIdentifier: ${JSON.stringify(failure)}` };
    if (!batch.has(id)) return { error: `batchItemFailures names ${id}, which is not a message of this batch` };
    failed.push(id);
  }
  return { failed };
}

export class SqsEventSource {
  private running = false;
  private readonly abort = new AbortController();
  private pollers: Array<Promise<void>> = [];
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly options: SqsEventSourceOptions) {}

  get pollerCount(): number {
    return Math.min(this.options.spec.maximumConcurrency ?? DEFAULT_POLLERS, this.options.maxPollers ?? Number.POSITIVE_INFINITY);
  }

  start(): void {
    if (this.running || !this.options.spec.enabled) return;
    this.running = true;
    for (let index = 0; index < this.pollerCount; index += 1) this.pollers.push(this.poll());
  }

  /** Stops polling and waits for the invocations under way to finish. */
  async stop(): Promise<void> {
    this.running = false;
    this.abort.abort();
    await Promise.all(this.pollers);
    await Promise.allSettled([...this.inFlight]);
    this.pollers = [];
  }

  private async receiveBatch(): Promise<StoredMessage[]> {
    const { engine, spec, timeScale } = this.options;
    const batch: StoredMessage[] = [];
    // The first receive waits as a long poll; the batching window starts once messages are there.
    while (this.running && batch.length === 0) {
      batch.push(...(await engine.receive(spec.queueName, { maxNumberOfMessages: Math.min(10, spec.batchSize), waitMs: scaledMs(20, timeScale), signal: this.abort.signal })));
    }
    const windowEnd = Date.now() + scaledMs(spec.maximumBatchingWindow, timeScale);
    while (this.running && batch.length < spec.batchSize && Date.now() < windowEnd) {
      const more = await engine.receive(spec.queueName, {
        maxNumberOfMessages: Math.min(10, spec.batchSize - batch.length),
        waitMs: Math.max(1, windowEnd - Date.now()),
        signal: this.abort.signal,
      });
      batch.push(...more);
    }
    return batch;
  }

  private async poll(): Promise<void> {
    const { engine, spec } = this.options;
    while (this.running) {
      let batch: StoredMessage[];
      try {
        batch = await this.receiveBatch();
      } catch {
        // The queue was deleted or the engine closed: nothing to poll.
        if (!this.running) return;
        await new Promise((resolve) => setTimeout(resolve, 100).unref());
        continue;
      }
      if (batch.length === 0) continue;
      const queueArn = engine.queue(spec.queueName).arn;
      const event: SQSEvent = { Records: batch.map((message) => toSqsRecord(message, queueArn, this.options.region)) };
      const outcome: BatchOutcome = { messageIds: batch.map((message) => message.id), deleted: [], failed: [] };
      const invocation = this.options.invoke(event);
      this.inFlight.add(invocation);
      let failedIds: Set<string>;
      try {
        const response = await invocation;
        if (spec.reportBatchItemFailures) {
          const result = failedItems(response, new Set(outcome.messageIds));
          if ('error' in result) {
            outcome.error = `invalid batch response: ${result.error}`;
            failedIds = new Set(outcome.messageIds);
          } else {
            failedIds = new Set(result.failed);
          }
        } else {
          failedIds = new Set();
        }
      } catch (error) {
        outcome.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        failedIds = new Set(outcome.messageIds);
      } finally {
        this.inFlight.delete(invocation);
      }
      for (const message of batch) {
        if (failedIds.has(message.id)) {
          outcome.failed.push(message.id);
          continue;
        }
        try {
          engine.deleteMessage(spec.queueName, message.receiptHandle!);
          outcome.deleted.push(message.id);
        } catch {
          outcome.failed.push(message.id);
        }
      }
      this.options.onBatch?.(outcome);
    }
  }
}
