/**
 * One SQS message from the artifacts bucket's notifications, dispatched by event: drops are
 * registered, deleted live copies reconciled, test events and anything else acknowledged with a log
 * line. Only failures of the services escape (transient ones, or unexpected ones such as a missing
 * permission), so the message is retried and, in the end, dead-lettered rather than lost.
 */
import { silentLogger, type MultiModelDeps } from './dependencies';
import { reconcileRemoval, type RemovalOutcome } from './reconcile-removal';
import { registerArtifact } from './register-artifact';
import type { UploadOutcome } from './registry';
import { MalformedNotificationError, parseS3Notification } from './s3-notifications';

export type RecordResult =
  | { event: 'created'; key: string; outcome?: UploadOutcome }
  | { event: 'removed'; key: string; outcome: RemovalOutcome }
  | { event: 'ignored'; key?: string; reason: string };

export interface MessageResult {
  kind: 'test-event' | 'malformed' | 'records';
  records: RecordResult[];
  reason?: string;
}

/**
 * Processes one SQS message body holding an S3 event notification.
 *
 * @throws failures of the services (transient or unexpected); every verdict on the message is returned.
 */
export async function processNotificationMessage(deps: MultiModelDeps, body: string): Promise<MessageResult> {
  const log = deps.logger ?? silentLogger;
  let parsed;
  try {
    parsed = parseS3Notification(body);
  } catch (error) {
    if (!(error instanceof MalformedNotificationError)) throw error;
    // Retrying cannot make a malformed body valid; dead-lettering it would only page someone for noise.
    log.error('message ignored: not an S3 event notification', { reason: error.message, body: body.slice(0, 2_000) });
    return { kind: 'malformed', records: [], reason: error.message };
  }
  if (parsed.kind === 'test-event') {
    log.info('s3:TestEvent acknowledged', { ...(parsed.bucket ? { bucket: parsed.bucket } : {}) });
    return { kind: 'test-event', records: [] };
  }
  const records: RecordResult[] = [];
  for (const record of parsed.records) {
    if (record.kind === 'created') {
      const outcome = await registerArtifact(deps, record);
      records.push({ event: 'created', key: record.encodedKey, ...(outcome ? { outcome } : {}) });
    } else if (record.kind === 'removed') {
      records.push({ event: 'removed', key: record.encodedKey, outcome: await reconcileRemoval(deps, record) });
    } else {
      const reason = `event ${record.eventName} is neither ObjectCreated nor ObjectRemoved`;
      log.info('event ignored', { key: record.encodedKey, reason });
      records.push({ event: 'ignored', key: record.encodedKey, reason });
    }
  }
  return { kind: 'records', records };
}
