/**
 * The local queue: standard SQS queues with visibility timeouts, receive counts, long polling, delays,
 * retention, and redrive to a dead-letter queue after `maxReceiveCount` receives. State is journaled to
 * the data dir (one JSON line per change, compacted at start), so messages survive a restart; messages in
 * flight at a stop are visible again after it, as they would be once their visibility timeout ran out.
 * Times given in seconds (visibility, delays, waits) run on the local time scale.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scaledMs } from '../time-scale';

/** An SQS API error: the AWS error code and a message naming the input at fault. */
export class SqsServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The legacy query error code, sent in `x-amzn-query-error`. */
    readonly queryCode: string = code,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'SqsServiceError';
  }
}

export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  /** Base64, as the JSON protocol carries it. */
  BinaryValue?: string;
}

export interface StoredMessage {
  id: string;
  body: string;
  md5OfBody: string;
  attributes: Record<string, MessageAttributeValue>;
  md5OfMessageAttributes?: string;
  senderId: string;
  sentTimestamp: number;
  firstReceiveTimestamp?: number;
  receiveCount: number;
  /** Epoch ms at which the message can be received again. */
  visibleAt: number;
  receiptHandle?: string;
  /** The queue a dead-lettered message came from. */
  deadLetterSourceArn?: string;
  /** When the message moved into this queue: retention of a dead letter counts from the original send on AWS; kept for reports. */
  enqueuedAt: number;
}

export interface QueueState {
  name: string;
  arn: string;
  attributes: Record<string, string>;
  createdTimestamp: number;
  lastModifiedTimestamp: number;
  messages: Map<string, StoredMessage>;
  waiters: Set<() => void>;
}

export interface ReceiveOptions {
  maxNumberOfMessages?: number;
  /** Seconds (AWS time). */
  visibilityTimeout?: number;
  /** Seconds (AWS time) to wait for a message when none is visible. */
  waitTimeSeconds?: number;
  /** Stops a long poll early, e.g. when the stack closes. */
  signal?: AbortSignal;
  /** A wait in local milliseconds, for in-process pollers whose batching windows are not whole seconds. */
  waitMs?: number;
}

export interface SendOptions {
  attributes?: Record<string, MessageAttributeValue>;
  delaySeconds?: number;
  senderId?: string;
}

const DEFAULT_ATTRIBUTES: Record<string, string> = {
  VisibilityTimeout: '30',
  MaximumMessageSize: '262144',
  MessageRetentionPeriod: '345600',
  DelaySeconds: '0',
  ReceiveMessageWaitTimeSeconds: '0',
};

const SETTABLE = new Set([
  'VisibilityTimeout', 'MaximumMessageSize', 'MessageRetentionPeriod', 'DelaySeconds', 'ReceiveMessageWaitTimeSeconds',
  'RedrivePolicy', 'RedriveAllowPolicy', 'Policy', 'SqsManagedSseEnabled', 'KmsMasterKeyId', 'KmsDataKeyReusePeriodSeconds',
]);

const RANGES: Record<string, [number, number]> = {
  VisibilityTimeout: [0, 43200],
  MaximumMessageSize: [1024, 262144],
  MessageRetentionPeriod: [60, 1209600],
  DelaySeconds: [0, 900],
  ReceiveMessageWaitTimeSeconds: [0, 20],
};

function md5(text: string | Buffer): string {
  return createHash('md5').update(text).digest('hex');
}

/** The MD5 of message attributes, computed as SQS documents it (sorted names, length-prefixed fields). */
export function md5OfMessageAttributes(attributes: Record<string, MessageAttributeValue>): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  const lengthPrefixed = (data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    parts.push(length, data);
  };
  for (const name of names) {
    const value = attributes[name]!;
    lengthPrefixed(Buffer.from(name, 'utf8'));
    lengthPrefixed(Buffer.from(value.DataType, 'utf8'));
    if (value.BinaryValue !== undefined) {
      parts.push(Buffer.from([2]));
      lengthPrefixed(Buffer.from(value.BinaryValue, 'base64'));
    } else {
      parts.push(Buffer.from([1]));
      lengthPrefixed(Buffer.from(value.StringValue ?? '', 'utf8'));
    }
  }
  return md5(Buffer.concat(parts));
}

function validateAttributes(attributes: Record<string, string>, creating: boolean): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (name === 'FifoQueue' || name === 'ContentBasedDeduplication' || name === 'DeduplicationScope' || name === 'FifoThroughputLimit') {
      if (creating && name === 'FifoQueue' && value === 'false') continue;
      throw new SqsServiceError('InvalidAttributeName', `Attribute ${name}: the local queue is a standard queue; FIFO queues are not emulated`);
    }
    if (!SETTABLE.has(name)) throw new SqsServiceError('InvalidAttributeName', `Unknown or read-only attribute ${name}`);
    const range = RANGES[name];
    if (range) {
      const number = Number(value);
      if (!/^\d+$/.test(value) || number < range[0] || number > range[1]) {
        throw new SqsServiceError('InvalidAttributeValue', `Invalid value for the parameter ${name}: must be an integer from ${range[0]} to ${range[1]}; got "${value}"`);
      }
    }
    if (name === 'RedrivePolicy' && value !== '') {
      let policy: { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
      try {
        policy = JSON.parse(value) as typeof policy;
      } catch {
        throw new SqsServiceError('InvalidAttributeValue', `Invalid value for the parameter RedrivePolicy: not JSON: ${value}`);
      }
      const count = Number(policy.maxReceiveCount);
      if (typeof policy.deadLetterTargetArn !== 'string' || !Number.isInteger(count) || count < 1 || count > 1000) {
        throw new SqsServiceError('InvalidAttributeValue', 'Invalid value for the parameter RedrivePolicy: needs deadLetterTargetArn (a queue ARN) and maxReceiveCount (an integer from 1 to 1000)');
      }
    }
  }
}

type JournalEntry =
  | { op: 'queue'; name: string; attributes: Record<string, string>; created: number; modified: number }
  | { op: 'deleteQueue'; name: string }
  | { op: 'send'; queue: string; message: StoredMessage }
  | { op: 'receive'; queue: string; id: string; count: number; first: number }
  | { op: 'delete'; queue: string; id: string }
  | { op: 'purge'; queue: string };

export interface QueueEngineOptions {
  region: string;
  accountId: string;
  /** Where the journal lives; without it the queues are in memory only. */
  dataDir?: string;
  timeScale: number;
  now?: () => number;
}

export class QueueEngine {
  private readonly queues = new Map<string, QueueState>();
  private journal?: WriteStream;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly pendingWakes = new Set<QueueState>();
  private closed = false;
  private readonly now: () => number;

  private constructor(private readonly options: QueueEngineOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Opens the engine, replaying and compacting its journal when it has a data dir. */
  static async open(options: QueueEngineOptions): Promise<QueueEngine> {
    const engine = new QueueEngine(options);
    if (options.dataDir) await engine.load(options.dataDir);
    return engine;
  }

  get region(): string {
    return this.options.region;
  }

  get accountId(): string {
    return this.options.accountId;
  }

  private async load(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, 'queues.jsonl');
    const text = await readFile(path, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      let entry: JournalEntry;
      try {
        entry = JSON.parse(line) as JournalEntry;
      } catch {
        // A torn last line from a hard stop: everything before it is intact.
        continue;
      }
      this.replay(entry);
    }
    const now = this.now();
    for (const queue of this.queues.values()) {
      for (const message of queue.messages.values()) {
        if (message.visibleAt > now && message.receiptHandle) message.visibleAt = now;
        delete message.receiptHandle;
      }
    }
    // Compact: the journal restarts as one entry per queue and per live message.
    const compacted: string[] = [];
    for (const queue of this.queues.values()) {
      compacted.push(JSON.stringify({ op: 'queue', name: queue.name, attributes: queue.attributes, created: queue.createdTimestamp, modified: queue.lastModifiedTimestamp }));
      for (const message of queue.messages.values()) compacted.push(JSON.stringify({ op: 'send', queue: queue.name, message }));
    }
    const temp = `${path}.tmp`;
    await writeFile(temp, compacted.length > 0 ? `${compacted.join('\n')}\n` : '');
    await rename(temp, path);
    this.journal = createWriteStream(path, { flags: 'a' });
  }

  private replay(entry: JournalEntry): void {
    switch (entry.op) {
      case 'queue': {
        const existing = this.queues.get(entry.name);
        if (existing) {
          existing.attributes = entry.attributes;
          existing.lastModifiedTimestamp = entry.modified;
        } else {
          this.queues.set(entry.name, this.newQueueState(entry.name, entry.attributes, entry.created, entry.modified));
        }
        break;
      }
      case 'deleteQueue':
        this.queues.delete(entry.name);
        break;
      case 'send':
        this.queues.get(entry.queue)?.messages.set(entry.message.id, entry.message);
        break;
      case 'receive': {
        const message = this.queues.get(entry.queue)?.messages.get(entry.id);
        if (message) {
          message.receiveCount = entry.count;
          message.firstReceiveTimestamp ??= entry.first;
        }
        break;
      }
      case 'delete':
        this.queues.get(entry.queue)?.messages.delete(entry.id);
        break;
      case 'purge':
        this.queues.get(entry.queue)?.messages.clear();
        break;
    }
  }

  private record(entry: JournalEntry): void {
    this.journal?.write(`${JSON.stringify(entry)}\n`);
  }

  private newQueueState(name: string, attributes: Record<string, string>, created: number, modified: number): QueueState {
    return {
      name,
      arn: `arn:aws:sqs:${this.options.region}:${this.options.accountId}:${name}`,
      attributes,
      createdTimestamp: created,
      lastModifiedTimestamp: modified,
      messages: new Map(),
      waiters: new Set(),
    };
  }

  /** Creates a queue, or returns the existing one when its attributes agree (as SQS does). */
  createQueue(name: string, attributes: Record<string, string> = {}): QueueState {
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) {
      throw new SqsServiceError('InvalidParameterValue', `Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length; got QueueName "${name}"`);
    }
    validateAttributes(attributes, true);
    const existing = this.queues.get(name);
    if (existing) {
      for (const [key, value] of Object.entries(attributes)) {
        if ((existing.attributes[key] ?? DEFAULT_ATTRIBUTES[key]) !== value) {
          throw new SqsServiceError('QueueNameExists', `A queue already exists with the same name and a different value for attribute ${key}`, 'QueueAlreadyExists');
        }
      }
      return existing;
    }
    const now = Math.floor(this.now() / 1000);
    const cleaned = Object.fromEntries(Object.entries(attributes).filter(([key]) => key !== 'FifoQueue'));
    const queue = this.newQueueState(name, cleaned, now, now);
    this.queues.set(name, queue);
    this.record({ op: 'queue', name, attributes: cleaned, created: now, modified: now });
    return queue;
  }

  /** Replaces some attributes of a queue. */
  setAttributes(name: string, attributes: Record<string, string>): void {
    const queue = this.queue(name);
    validateAttributes(attributes, false);
    queue.attributes = { ...queue.attributes, ...attributes };
    queue.lastModifiedTimestamp = Math.floor(this.now() / 1000);
    this.record({ op: 'queue', name, attributes: queue.attributes, created: queue.createdTimestamp, modified: queue.lastModifiedTimestamp });
    this.wake(queue);
  }

  deleteQueue(name: string): void {
    const queue = this.queue(name);
    this.queues.delete(name);
    this.record({ op: 'deleteQueue', name });
    this.wake(queue);
  }

  queue(name: string): QueueState {
    const queue = this.queues.get(name);
    if (!queue) throw new SqsServiceError('QueueDoesNotExist', `The specified queue does not exist: ${name}`, 'AWS.SimpleQueueService.NonExistentQueue');
    return queue;
  }

  hasQueue(name: string): boolean {
    return this.queues.has(name);
  }

  /** The queue an ARN names, if it is one of ours. */
  queueNameOf(arn: string): string | undefined {
    const match = /^arn:aws:sqs:([^:]+):(\d{12}):([^:]+)$/.exec(arn);
    if (!match || match[2] !== this.options.accountId) return undefined;
    return this.queues.has(match[3]!) ? match[3] : undefined;
  }

  listQueues(prefix = ''): QueueState[] {
    return [...this.queues.values()].filter((queue) => queue.name.startsWith(prefix)).sort((a, b) => a.name.localeCompare(b.name));
  }

  private attribute(queue: QueueState, name: string): number {
    return Number(queue.attributes[name] ?? DEFAULT_ATTRIBUTES[name]);
  }

  /** Adds a message; returns it as stored. */
  send(name: string, body: string, options: SendOptions = {}): StoredMessage {
    const queue = this.queue(name);
    if (body.length === 0) throw new SqsServiceError('MissingParameter', 'The request must contain the parameter MessageBody.');
    if (/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.test(body)) {
      throw new SqsServiceError('InvalidMessageContents', 'Invalid characters found in MessageBody: only #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF are allowed');
    }
    const attributes = options.attributes ?? {};
    const size = Buffer.byteLength(body) + Object.entries(attributes).reduce((total, [key, value]) => total + key.length + value.DataType.length + (value.StringValue?.length ?? 0) + (value.BinaryValue ? Buffer.from(value.BinaryValue, 'base64').length : 0), 0);
    const maximum = this.attribute(queue, 'MaximumMessageSize');
    if (size > maximum) throw new SqsServiceError('InvalidParameterValue', `One or more parameters are invalid. Reason: Message must be shorter than ${maximum} bytes.`);
    const delay = options.delaySeconds ?? this.attribute(queue, 'DelaySeconds');
    if (!Number.isInteger(delay) || delay < 0 || delay > 900) throw new SqsServiceError('InvalidParameterValue', `Value ${delay} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided.`);
    const now = this.now();
    const md5Attributes = md5OfMessageAttributes(attributes);
    const message: StoredMessage = {
      id: randomUUID(),
      body,
      md5OfBody: md5(body),
      attributes,
      ...(md5Attributes ? { md5OfMessageAttributes: md5Attributes } : {}),
      senderId: options.senderId ?? 'AIDALOCALSTACKSENDER',
      sentTimestamp: now,
      receiveCount: 0,
      visibleAt: now + scaledMs(delay, this.options.timeScale),
      enqueuedAt: now,
    };
    this.insert(queue, message);
    if (delay > 0) this.wakeAt(queue, message.visibleAt);
    return message;
  }

  private insert(queue: QueueState, message: StoredMessage): void {
    queue.messages.set(message.id, message);
    this.record({ op: 'send', queue: queue.name, message: { ...message, receiptHandle: undefined } as StoredMessage });
    this.wake(queue);
  }

  /**
   * Wakes the long polls waiting on `queue`, on the next turn of the event loop: messages sent together
   * (a batch, a burst of notifications) are then received together, as a poller on SQS would see them.
   */
  private wake(queue: QueueState): void {
    if (this.pendingWakes.has(queue)) return;
    this.pendingWakes.add(queue);
    setImmediate(() => {
      this.pendingWakes.delete(queue);
      for (const waiter of [...queue.waiters]) waiter();
    });
  }

  private wakeAt(queue: QueueState, at: number): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.wake(queue);
    }, Math.max(0, at - this.now()) + 1);
    timer.unref();
    this.timers.add(timer);
  }

  private deadLetterTarget(queue: QueueState): { queue: QueueState; maxReceiveCount: number } | undefined {
    const policyText = queue.attributes.RedrivePolicy;
    if (!policyText) return undefined;
    const policy = JSON.parse(policyText) as { deadLetterTargetArn: string; maxReceiveCount: number | string };
    const targetName = this.queueNameOf(policy.deadLetterTargetArn);
    if (!targetName) return undefined;
    return { queue: this.queues.get(targetName)!, maxReceiveCount: Number(policy.maxReceiveCount) };
  }

  /** Moves a message into another queue as a new arrival, keeping its id, body and attributes. */
  private move(from: QueueState, message: StoredMessage, to: QueueState, asDeadLetter: boolean): void {
    from.messages.delete(message.id);
    this.record({ op: 'delete', queue: from.name, id: message.id });
    const now = this.now();
    const moved: StoredMessage = {
      ...message,
      receiveCount: asDeadLetter ? message.receiveCount : 0,
      visibleAt: now,
      enqueuedAt: now,
      ...(asDeadLetter ? { deadLetterSourceArn: from.arn } : {}),
    };
    delete moved.receiptHandle;
    if (!asDeadLetter) {
      delete moved.firstReceiveTimestamp;
      delete moved.deadLetterSourceArn;
    }
    this.insert(to, moved);
  }

  private takeVisible(queue: QueueState, max: number, visibilityMs: number): StoredMessage[] {
    const now = this.now();
    const retentionMs = this.attribute(queue, 'MessageRetentionPeriod') * 1000;
    const redrive = this.deadLetterTarget(queue);
    const taken: StoredMessage[] = [];
    for (const message of queue.messages.values()) {
      if (taken.length >= max) break;
      if (message.visibleAt > now) continue;
      if (now - message.sentTimestamp > retentionMs) {
        queue.messages.delete(message.id);
        this.record({ op: 'delete', queue: queue.name, id: message.id });
        continue;
      }
      // SQS moves a message on the receive that would exceed maxReceiveCount, instead of returning it.
      if (redrive && message.receiveCount >= redrive.maxReceiveCount) {
        this.move(queue, message, redrive.queue, true);
        continue;
      }
      message.receiveCount += 1;
      message.firstReceiveTimestamp ??= now;
      message.visibleAt = now + visibilityMs;
      message.receiptHandle = `${randomBytes(24).toString('base64url')}.${queue.name}.${message.id}`;
      this.record({ op: 'receive', queue: queue.name, id: message.id, count: message.receiveCount, first: message.firstReceiveTimestamp });
      if (visibilityMs > 0) this.wakeAt(queue, message.visibleAt);
      taken.push(message);
    }
    return taken;
  }

  /** Receives up to `maxNumberOfMessages`, long polling up to `waitTimeSeconds` when none is visible. */
  async receive(name: string, options: ReceiveOptions = {}): Promise<StoredMessage[]> {
    const queue = this.queue(name);
    const max = options.maxNumberOfMessages ?? 1;
    if (!Number.isInteger(max) || max < 1 || max > 10) {
      throw new SqsServiceError('InvalidParameterValue', `Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`);
    }
    const visibility = options.visibilityTimeout ?? this.attribute(queue, 'VisibilityTimeout');
    if (!Number.isInteger(visibility) || visibility < 0 || visibility > 43200) {
      throw new SqsServiceError('InvalidParameterValue', `Value ${visibility} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.`);
    }
    const wait = options.waitTimeSeconds ?? this.attribute(queue, 'ReceiveMessageWaitTimeSeconds');
    if (!Number.isInteger(wait) || wait < 0 || wait > 20) {
      throw new SqsServiceError('InvalidParameterValue', `Value ${wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.`);
    }
    const visibilityMs = scaledMs(visibility, this.options.timeScale);
    const waitMs = options.waitMs ?? scaledMs(wait, this.options.timeScale);
    const taken = this.takeVisible(queue, max, visibilityMs);
    if (taken.length > 0 || waitMs <= 0 || this.closed || options.signal?.aborted) return taken;
    const deadline = this.now() + waitMs;
    return new Promise<StoredMessage[]>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (messages: StoredMessage[]) => {
        queue.waiters.delete(check);
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', abort);
        resolve(messages);
      };
      const check = () => {
        if (this.closed || !this.queues.has(name)) return finish([]);
        const messages = this.takeVisible(queue, max, visibilityMs);
        if (messages.length > 0 || this.now() >= deadline) finish(messages);
      };
      const abort = () => finish([]);
      queue.waiters.add(check);
      options.signal?.addEventListener('abort', abort);
      timer = setTimeout(() => finish(this.takeVisible(queue, max, visibilityMs)), Math.max(0, deadline - this.now()));
    });
  }

  private byReceiptHandle(queue: QueueState, receiptHandle: string): StoredMessage | undefined {
    const id = receiptHandle.split('.').pop() ?? '';
    const message = queue.messages.get(id);
    if (!message && !receiptHandle.includes(`.${queue.name}.`)) {
      throw new SqsServiceError('ReceiptHandleIsInvalid', `The input receipt handle "${receiptHandle}" is not a valid receipt handle.`);
    }
    return message;
  }

  /** Deletes a received message. A stale handle of a message already gone succeeds, as on SQS. */
  deleteMessage(name: string, receiptHandle: string): void {
    const queue = this.queue(name);
    const message = this.byReceiptHandle(queue, receiptHandle);
    if (!message) return;
    queue.messages.delete(message.id);
    this.record({ op: 'delete', queue: queue.name, id: message.id });
  }

  /** Changes the visibility timeout of a message in flight; 0 makes it visible at once. */
  changeVisibility(name: string, receiptHandle: string, visibilityTimeout: number): void {
    const queue = this.queue(name);
    if (!Number.isInteger(visibilityTimeout) || visibilityTimeout < 0 || visibilityTimeout > 43200) {
      throw new SqsServiceError('InvalidParameterValue', `Value ${visibilityTimeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.`);
    }
    const message = this.byReceiptHandle(queue, receiptHandle);
    if (!message || message.receiptHandle !== receiptHandle || message.visibleAt <= this.now()) {
      throw new SqsServiceError('MessageNotInflight', 'Message does not exist or is not available for visibility timeout change.', 'AWS.SimpleQueueService.MessageNotInflight');
    }
    message.visibleAt = this.now() + scaledMs(visibilityTimeout, this.options.timeScale);
    if (visibilityTimeout === 0) this.wake(queue);
    else this.wakeAt(queue, message.visibleAt);
  }

  purge(name: string): void {
    const queue = this.queue(name);
    queue.messages.clear();
    this.record({ op: 'purge', queue: name });
  }

  /** ApproximateNumberOfMessages and the other counters, at this moment. */
  counts(name: string): { visible: number; inFlight: number; delayed: number } {
    const queue = this.queue(name);
    const now = this.now();
    let visible = 0;
    let inFlight = 0;
    let delayed = 0;
    for (const message of queue.messages.values()) {
      if (message.visibleAt <= now) visible += 1;
      else if (message.receiptHandle) inFlight += 1;
      else delayed += 1;
    }
    return { visible, inFlight, delayed };
  }

  /** Every attribute `GetQueueAttributes` reports for `All`. */
  allAttributes(name: string): Record<string, string> {
    const queue = this.queue(name);
    const counts = this.counts(name);
    return {
      ...DEFAULT_ATTRIBUTES,
      ...queue.attributes,
      QueueArn: queue.arn,
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
      ApproximateNumberOfMessagesDelayed: String(counts.delayed),
      CreatedTimestamp: String(queue.createdTimestamp),
      LastModifiedTimestamp: String(queue.lastModifiedTimestamp),
      SqsManagedSseEnabled: queue.attributes.SqsManagedSseEnabled ?? 'false',
    };
  }

  /** Queues whose redrive policy sends dead letters to `name`. */
  deadLetterSources(name: string): QueueState[] {
    const target = this.queue(name);
    return [...this.queues.values()].filter((queue) => {
      const policy = queue.attributes.RedrivePolicy;
      return policy ? (JSON.parse(policy) as { deadLetterTargetArn: string }).deadLetterTargetArn === target.arn : false;
    });
  }

  /**
   * Moves every message of a dead-letter queue back to where it came from, or to `destinationArn`:
   * what `StartMessageMoveTask` does. Returns how many moved.
   */
  redrive(sourceName: string, destinationArn?: string): number {
    const source = this.queue(sourceName);
    const destinationName = destinationArn ? this.queueNameOf(destinationArn) : undefined;
    if (destinationArn && !destinationName) throw new SqsServiceError('ResourceNotFoundException', `The destination queue ${destinationArn} does not exist`);
    let moved = 0;
    for (const message of [...source.messages.values()]) {
      const targetName = destinationName ?? (message.deadLetterSourceArn ? this.queueNameOf(message.deadLetterSourceArn) : undefined);
      if (!targetName) continue;
      this.move(source, message, this.queues.get(targetName)!, false);
      moved += 1;
    }
    return moved;
  }

  /** Stops timers and waiters and flushes the journal. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const queue of this.queues.values()) this.wake(queue);
    const journal = this.journal;
    this.journal = undefined;
    if (journal) await new Promise<void>((resolve) => journal.end(() => resolve()));
  }
}
