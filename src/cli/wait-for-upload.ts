import { normalizeETag, type Registry, type UploadOutcome } from '../multimodel/registry';
import { WaitTimeoutError } from './errors';

export interface WaitForUploadOptions {
  /** Key of the uploaded object in the drop zone. */
  key: string;
  /** ETag S3 returned for this very upload. */
  etag: string;
  /**
   * When S3 stored this upload (its LastModified). The same bytes uploaded again get the same ETag,
   * so an outcome recorded before this instant belongs to an earlier upload and is not waited for.
   */
  storedAt: Date;
  /**
   * The outcome recorded for this key and ETag before the upload started, when the caller could know
   * the ETag in advance (`null`: there was none). When given, any outcome other than this one is
   * ours, whatever the clocks say; when absent, `storedAt` decides.
   */
  previous?: UploadOutcome | null;
  timeoutMs: number;
  /** First poll interval; it grows by half each poll up to `maxIntervalMs`. */
  initialIntervalMs?: number;
  maxIntervalMs?: number;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls the registry until the registration function has recorded the outcome of one upload (one key
 * at one ETag), or the timeout passes ({@link WaitTimeoutError}). The same bytes uploaded again get
 * the same ETag, so an outcome already recorded for an earlier upload must not be taken for ours: it
 * is recognised by the snapshot taken before the upload (`previous`) or, failing that, by time.
 */
export async function waitForUploadOutcome(registry: Registry, options: WaitForUploadOptions): Promise<UploadOutcome> {
  const sleep = options.sleep ?? defaultSleep;
  const now = options.now ?? Date.now;
  const deadline = now() + options.timeoutMs;
  // LastModified has whole seconds; an outcome of this upload is never recorded before that second began.
  const notBefore = Math.floor(options.storedAt.getTime() / 1000) * 1000;
  let interval = options.initialIntervalMs ?? 250;
  const maxInterval = options.maxIntervalMs ?? 5_000;
  for (;;) {
    const outcome = await registry.findUpload(options.key, options.etag);
    if (outcome && isOurs(outcome, options.previous, notBefore)) return outcome;
    const left = deadline - now();
    if (left <= 0) {
      throw new WaitTimeoutError(
        `no registration outcome for ${options.key} (ETag ${normalizeETag(options.etag)}) after ` +
          `${Math.round(options.timeoutMs / 1000)} s; it may still be processed (check "smhost models versions"), ` +
          'or the message may be in the dead-letter queue ("smhost models redrive")',
        { key: options.key, etag: normalizeETag(options.etag) },
      );
    }
    await sleep(Math.min(interval, left));
    interval = Math.min(maxInterval, Math.ceil(interval * 1.5));
  }
}

function isOurs(outcome: UploadOutcome, previous: UploadOutcome | null | undefined, notBefore: number): boolean {
  if (previous === null) return true;
  if (previous !== undefined) return outcome.recordedAt !== previous.recordedAt;
  return Date.parse(outcome.recordedAt) >= notBefore;
}
