/**
 * The SQS API over the local queue engine, in the JSON protocol (`X-Amz-Target: AmazonSQS.<Action>`,
 * `application/x-amz-json-1.0`) that AWS SDK v3 and current boto3 / AWS CLI send.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { QueueEngine, SqsServiceError, type MessageAttributeValue, type StoredMessage } from './queue-engine';

export interface SqsApi {
  handle(req: IncomingMessage, res: ServerResponse, body: Buffer, requestId: string): Promise<void>;
}

type Input = Record<string, unknown>;

const SYSTEM_ATTRIBUTES = ['SenderId', 'SentTimestamp', 'ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp', 'DeadLetterQueueSourceArn'];

function missing(name: string): SqsServiceError {
  return new SqsServiceError('MissingParameter', `The request must contain the parameter ${name}.`);
}

function requireString(input: Input, name: string): string {
  const value = input[name];
  if (value === undefined || value === null || value === '') throw missing(name);
  if (typeof value !== 'string') throw new SqsServiceError('InvalidParameterValue', `The parameter ${name} must be a string.`);
  return value;
}

function optionalInteger(input: Input, name: string): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number)) throw new SqsServiceError('InvalidParameterValue', `The parameter ${name} must be an integer; got ${JSON.stringify(value)}.`);
  return number;
}

function stringMap(input: Input, name: string): Record<string, string> {
  const value = input[name];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new SqsServiceError('InvalidParameterValue', `The parameter ${name} must be a map of strings.`);
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, String(item)]));
}

/** The queue name a queue URL refers to: its last path segment, under the account id. */
export function queueNameFromUrl(url: string, accountId: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url;
  }
  const match = /^\/?(\d{12})\/([^/]+)\/?$/.exec(path);
  if (!match) throw new SqsServiceError('InvalidAddress', `The address ${url} is not valid for this endpoint: expected .../<account id>/<queue name>`, 'InvalidAddress', 404);
  if (match[1] !== accountId) throw new SqsServiceError('QueueDoesNotExist', `The specified queue does not exist: ${url}`, 'AWS.SimpleQueueService.NonExistentQueue');
  return match[2]!;
}

function messageAttributes(input: Input, where: string): Record<string, MessageAttributeValue> {
  const value = input.MessageAttributes;
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object') throw new SqsServiceError('InvalidParameterValue', `${where}MessageAttributes must be a map.`);
  const out: Record<string, MessageAttributeValue> = {};
  const entries = Object.entries(value as Record<string, Record<string, unknown>>);
  if (entries.length > 10) throw new SqsServiceError('InvalidParameterValue', `${where}Number of message attributes [${entries.length}] exceeds the allowed maximum [10].`);
  for (const [name, attribute] of entries) {
    if (!/^[A-Za-z0-9_.-]{1,256}$/.test(name) || name.startsWith('.') || name.endsWith('.') || name.includes('..') || /^(aws|amazon)\./i.test(name)) {
      throw new SqsServiceError('InvalidParameterValue', `${where}Message attribute name "${name}" is invalid: letters, digits, _ - . (not at either end, not repeated), at most 256, not starting with AWS. or Amazon.`);
    }
    const dataType = attribute?.DataType;
    if (typeof dataType !== 'string' || !/^(String|Number|Binary)(\..+)?$/.test(dataType)) {
      throw new SqsServiceError('InvalidParameterValue', `${where}Message attribute "${name}" must have a DataType of String, Number or Binary (optionally with a .custom suffix).`);
    }
    if (dataType.startsWith('Binary')) {
      if (typeof attribute.BinaryValue !== 'string') throw new SqsServiceError('InvalidParameterValue', `${where}Message attribute "${name}" of type Binary must have a BinaryValue.`);
      out[name] = { DataType: dataType, BinaryValue: attribute.BinaryValue };
    } else {
      if (typeof attribute.StringValue !== 'string' || attribute.StringValue === '') throw new SqsServiceError('InvalidParameterValue', `${where}Message attribute "${name}" must have a non-empty StringValue.`);
      if (dataType.startsWith('Number') && !Number.isFinite(Number(attribute.StringValue))) {
        throw new SqsServiceError('InvalidParameterValue', `${where}Message attribute "${name}" of type Number must hold a number; got "${attribute.StringValue}".`);
      }
      out[name] = { DataType: dataType, StringValue: attribute.StringValue };
    }
  }
  return out;
}

function wantedAttributes(requested: unknown, available: string[]): Set<string> {
  const names = Array.isArray(requested) ? requested.map(String) : [];
  if (names.includes('All')) return new Set(available);
  return new Set(names);
}

function selectMessageAttributes(message: StoredMessage, requested: unknown): Record<string, MessageAttributeValue> | undefined {
  const patterns = Array.isArray(requested) ? requested.map(String) : [];
  if (patterns.length === 0) return undefined;
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(message.attributes)) {
    const wanted = patterns.some((pattern) => pattern === 'All' || pattern === '.*' || pattern === name || (pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -1))));
    if (wanted) out[name] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function checkBatch(entries: unknown, action: string): Array<Input & { Id: string }> {
  if (!Array.isArray(entries) || entries.length === 0) throw new SqsServiceError('EmptyBatchRequest', `There should be at least one ${action}BatchRequestEntry in the request.`, 'AWS.SimpleQueueService.EmptyBatchRequest');
  if (entries.length > 10) throw new SqsServiceError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${entries.length}.`, 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest');
  const ids = new Set<string>();
  for (const entry of entries as Input[]) {
    const id = entry.Id;
    if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(id)) {
      throw new SqsServiceError('InvalidBatchEntryId', `A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long; got ${JSON.stringify(id)}.`, 'AWS.SimpleQueueService.InvalidBatchEntryId');
    }
    if (ids.has(id)) throw new SqsServiceError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`, 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct');
    ids.add(id);
  }
  return entries as Array<Input & { Id: string }>;
}

function failure(id: string, error: unknown): Record<string, unknown> {
  const sqsError = error instanceof SqsServiceError ? error : new SqsServiceError('InternalError', (error as Error).message);
  return { Id: id, SenderFault: sqsError.status < 500, Code: sqsError.code, Message: sqsError.message };
}

/** Builds the JSON-protocol SQS API over `engine`. */
export function createSqsApi(engine: QueueEngine): SqsApi {
  function queueUrl(req: IncomingMessage, name: string): string {
    return `http://${req.headers.host ?? '127.0.0.1'}/${engine.accountId}/${name}`;
  }

  function queueOf(input: Input): string {
    const name = queueNameFromUrl(requireString(input, 'QueueUrl'), engine.accountId);
    engine.queue(name);
    return name;
  }

  async function dispatch(action: string, input: Input, req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    switch (action) {
      case 'CreateQueue': {
        const name = requireString(input, 'QueueName');
        engine.createQueue(name, stringMap(input, 'Attributes'));
        return { QueueUrl: queueUrl(req, name) };
      }
      case 'GetQueueUrl': {
        const name = requireString(input, 'QueueName');
        engine.queue(name);
        return { QueueUrl: queueUrl(req, name) };
      }
      case 'ListQueues': {
        const prefix = typeof input.QueueNamePrefix === 'string' ? input.QueueNamePrefix : '';
        const max = optionalInteger(input, 'MaxResults') ?? 1000;
        const start = typeof input.NextToken === 'string' ? Number(Buffer.from(input.NextToken, 'base64').toString()) : 0;
        const queues = engine.listQueues(prefix);
        const page = queues.slice(start, start + max);
        return {
          QueueUrls: page.map((queue) => queueUrl(req, queue.name)),
          ...(start + max < queues.length && input.MaxResults !== undefined ? { NextToken: Buffer.from(String(start + max)).toString('base64') } : {}),
        };
      }
      case 'DeleteQueue':
        engine.deleteQueue(queueOf(input));
        return {};
      case 'GetQueueAttributes': {
        const name = queueOf(input);
        const all = engine.allAttributes(name);
        const wanted = wantedAttributes(input.AttributeNames, Object.keys(all));
        for (const attribute of wanted) {
          if (!(attribute in all) && !['Policy', 'RedrivePolicy', 'RedriveAllowPolicy', 'KmsMasterKeyId', 'KmsDataKeyReusePeriodSeconds'].includes(attribute)) {
            throw new SqsServiceError('InvalidAttributeName', `Unknown Attribute ${attribute}.`);
          }
        }
        const attributes = Object.fromEntries(Object.entries(all).filter(([key]) => wanted.has(key)));
        return Object.keys(attributes).length > 0 ? { Attributes: attributes } : {};
      }
      case 'SetQueueAttributes':
        engine.setAttributes(queueOf(input), stringMap(input, 'Attributes'));
        return {};
      case 'PurgeQueue':
        engine.purge(queueOf(input));
        return {};
      case 'SendMessage': {
        const name = queueOf(input);
        const body = typeof input.MessageBody === 'string' ? input.MessageBody : '';
        const delay = optionalInteger(input, 'DelaySeconds');
        const message = engine.send(name, body, { attributes: messageAttributes(input, ''), ...(delay !== undefined ? { delaySeconds: delay } : {}) });
        return { MessageId: message.id, MD5OfMessageBody: message.md5OfBody, ...(message.md5OfMessageAttributes ? { MD5OfMessageAttributes: message.md5OfMessageAttributes } : {}) };
      }
      case 'SendMessageBatch': {
        const name = queueOf(input);
        const entries = checkBatch(input.Entries, 'SendMessage');
        const successful: unknown[] = [];
        const failed: unknown[] = [];
        for (const entry of entries) {
          try {
            const delay = optionalInteger(entry, 'DelaySeconds');
            const message = engine.send(name, typeof entry.MessageBody === 'string' ? entry.MessageBody : '', {
              attributes: messageAttributes(entry, `Entry ${entry.Id}: `),
              ...(delay !== undefined ? { delaySeconds: delay } : {}),
            });
            successful.push({ Id: entry.Id, MessageId: message.id, MD5OfMessageBody: message.md5OfBody, ...(message.md5OfMessageAttributes ? { MD5OfMessageAttributes: message.md5OfMessageAttributes } : {}) });
          } catch (error) {
            failed.push(failure(entry.Id, error));
          }
        }
        return { Successful: successful, Failed: failed };
      }
      case 'ReceiveMessage': {
        const name = queueOf(input);
        const abort = new AbortController();
        const onClose = () => abort.abort();
        res.once('close', onClose);
        const visibility = optionalInteger(input, 'VisibilityTimeout');
        const wait = optionalInteger(input, 'WaitTimeSeconds');
        let messages: StoredMessage[];
        try {
          messages = await engine.receive(name, {
            maxNumberOfMessages: optionalInteger(input, 'MaxNumberOfMessages') ?? 1,
            ...(visibility !== undefined ? { visibilityTimeout: visibility } : {}),
            ...(wait !== undefined ? { waitTimeSeconds: wait } : {}),
            signal: abort.signal,
          });
        } finally {
          res.off('close', onClose);
        }
        const systemNames = wantedAttributes([...(Array.isArray(input.AttributeNames) ? input.AttributeNames : []), ...(Array.isArray(input.MessageSystemAttributeNames) ? input.MessageSystemAttributeNames : [])], SYSTEM_ATTRIBUTES);
        return {
          Messages: messages.map((message) => {
            const system: Record<string, string> = {
              SenderId: message.senderId,
              SentTimestamp: String(message.sentTimestamp),
              ApproximateReceiveCount: String(message.receiveCount),
              ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp ?? message.sentTimestamp),
              ...(message.deadLetterSourceArn ? { DeadLetterQueueSourceArn: message.deadLetterSourceArn } : {}),
            };
            const attributes = Object.fromEntries(Object.entries(system).filter(([key]) => systemNames.has(key)));
            const selected = selectMessageAttributes(message, input.MessageAttributeNames);
            return {
              MessageId: message.id,
              ReceiptHandle: message.receiptHandle,
              MD5OfBody: message.md5OfBody,
              Body: message.body,
              ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}),
              ...(selected ? { MessageAttributes: selected, MD5OfMessageAttributes: message.md5OfMessageAttributes } : {}),
            };
          }),
        };
      }
      case 'DeleteMessage':
        engine.deleteMessage(queueOf(input), requireString(input, 'ReceiptHandle'));
        return {};
      case 'DeleteMessageBatch': {
        const name = queueOf(input);
        const successful: unknown[] = [];
        const failed: unknown[] = [];
        for (const entry of checkBatch(input.Entries, 'DeleteMessage')) {
          try {
            engine.deleteMessage(name, requireString(entry, 'ReceiptHandle'));
            successful.push({ Id: entry.Id });
          } catch (error) {
            failed.push(failure(entry.Id, error));
          }
        }
        return { Successful: successful, Failed: failed };
      }
      case 'ChangeMessageVisibility': {
        const timeout = optionalInteger(input, 'VisibilityTimeout');
        if (timeout === undefined) throw missing('VisibilityTimeout');
        engine.changeVisibility(queueOf(input), requireString(input, 'ReceiptHandle'), timeout);
        return {};
      }
      case 'ChangeMessageVisibilityBatch': {
        const name = queueOf(input);
        const successful: unknown[] = [];
        const failed: unknown[] = [];
        for (const entry of checkBatch(input.Entries, 'ChangeMessageVisibility')) {
          try {
            const timeout = optionalInteger(entry, 'VisibilityTimeout');
            if (timeout === undefined) throw missing('VisibilityTimeout');
            engine.changeVisibility(name, requireString(entry, 'ReceiptHandle'), timeout);
            successful.push({ Id: entry.Id });
          } catch (error) {
            failed.push(failure(entry.Id, error));
          }
        }
        return { Successful: successful, Failed: failed };
      }
      case 'ListDeadLetterSourceQueues':
        return { queueUrls: engine.deadLetterSources(queueOf(input)).map((queue) => queueUrl(req, queue.name)) };
      case 'StartMessageMoveTask': {
        const sourceArn = requireString(input, 'SourceArn');
        const sourceName = engine.queueNameOf(sourceArn);
        if (!sourceName) throw new SqsServiceError('ResourceNotFoundException', `The source queue ${sourceArn} does not exist`);
        const destination = typeof input.DestinationArn === 'string' ? input.DestinationArn : undefined;
        const moved = engine.redrive(sourceName, destination);
        const handle = Buffer.from(JSON.stringify({ source: sourceArn, moved, at: Date.now() })).toString('base64');
        lastMoveTasks.set(sourceArn, { TaskHandle: handle, Status: 'COMPLETED', SourceArn: sourceArn, ...(destination ? { DestinationArn: destination } : {}), ApproximateNumberOfMessagesMoved: moved, ApproximateNumberOfMessagesToMove: moved, StartedTimestamp: Date.now() });
        return { TaskHandle: handle };
      }
      case 'ListMessageMoveTasks': {
        const sourceArn = requireString(input, 'SourceArn');
        if (!engine.queueNameOf(sourceArn)) throw new SqsServiceError('ResourceNotFoundException', `The source queue ${sourceArn} does not exist`);
        const task = lastMoveTasks.get(sourceArn);
        return { Results: task ? [task] : [] };
      }
      default:
        throw new SqsServiceError('InvalidAction', `The action ${action} is not valid for this endpoint (the local SQS serves the standard-queue API).`, 'AWS.SimpleQueueService.InvalidAction');
    }
  }

  const lastMoveTasks = new Map<string, Record<string, unknown>>();

  return {
    async handle(req, res, body, requestId) {
      const target = String(req.headers['x-amz-target'] ?? '');
      const action = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : '';
      let payload: unknown;
      let status = 200;
      const headers: Record<string, string> = { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-RequestId': requestId };
      try {
        if (!action) {
          throw new SqsServiceError('InvalidAction', 'The local SQS speaks the JSON protocol: send X-Amz-Target: AmazonSQS.<Action> with an application/x-amz-json-1.0 body.', 'AWS.SimpleQueueService.InvalidAction');
        }
        let input: Input;
        try {
          input = body.length > 0 ? (JSON.parse(body.toString('utf8')) as Input) : {};
        } catch {
          throw new SqsServiceError('SerializationException', 'The request body is not valid JSON.');
        }
        payload = await dispatch(action, input ?? {}, req, res);
      } catch (error) {
        const sqsError = error instanceof SqsServiceError ? error : new SqsServiceError('InternalError', (error as Error).message, 'InternalError', 500);
        status = sqsError.status;
        headers['x-amzn-query-error'] = `${sqsError.queryCode};${sqsError.status < 500 ? 'Sender' : 'Receiver'}`;
        payload = { __type: `com.amazonaws.sqs#${sqsError.code}`, message: sqsError.message };
      }
      if (res.destroyed) return;
      const text = JSON.stringify(payload);
      res.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    },
  };
}
