/**
 * Turns what the local S3 served into notification messages: each committed change is matched against
 * its bucket's queue rules and delivered, one record per message as S3 sends them, into the local queue.
 */
import type { S3ObjectEvent } from '../s3/s3-api';
import type { ObjectStore } from '../s3/object-store';
import { notificationXml, parseNotificationXml, ruleMatches, type QueueNotificationSpec } from './notification-configuration';
import { buildEventRecord, buildTestEvent, Sequencer } from './s3-event-message';

/** Where messages go: the local queue engine, by queue name. */
export interface MessageDelivery {
  send(queueName: string, body: string): Promise<void> | void;
  /** The queue name an ARN refers to, or undefined. */
  queueNameOf(arn: string): string | undefined;
}

export interface S3NotifierOptions {
  region: string;
  store: ObjectStore;
  delivery: MessageDelivery;
  /** Told about deliveries that failed (a destination queue deleted since). */
  onDeliveryError?: (error: Error) => void;
}

export class S3Notifier {
  private readonly rules = new Map<string, QueueNotificationSpec[]>();
  private readonly sequencer = new Sequencer();

  constructor(private readonly options: S3NotifierOptions) {}

  /** Loads the configurations stored with the buckets (those put through the API before a restart). */
  restore(): void {
    for (const bucket of this.options.store.listBuckets()) {
      if (!bucket.notificationXml) continue;
      try {
        this.rules.set(bucket.name, parseNotificationXml(bucket.notificationXml, (arn) => this.options.delivery.queueNameOf(arn)));
      } catch (error) {
        this.options.onDeliveryError?.(new Error(`bucket ${bucket.name}: stored notification configuration no longer applies: ${(error as Error).message}`));
      }
    }
  }

  rulesOf(bucket: string): QueueNotificationSpec[] {
    return this.rules.get(bucket) ?? [];
  }

  /**
   * Applies `rules` to `bucket`. As on AWS, applying a configuration sends `s3:TestEvent` to each
   * destination; a configuration identical to the one already applied (a restart) is not applied again.
   */
  async apply(bucket: string, rules: QueueNotificationSpec[]): Promise<boolean> {
    const xml = notificationXml(rules);
    const record = this.options.store.bucket(bucket);
    this.rules.set(bucket, rules);
    if (record?.notificationXml === xml) return false;
    await this.options.store.setNotificationXml(bucket, xml);
    for (const queueName of new Set(rules.map((rule) => rule.queueName))) {
      await this.options.delivery.send(queueName, JSON.stringify(buildTestEvent(bucket)));
    }
    return true;
  }

  /** Applies a configuration put through the S3 API. */
  async applyXml(bucket: string, xml: string): Promise<void> {
    const rules = parseNotificationXml(xml, (arn) => this.options.delivery.queueNameOf(arn));
    // A put always re-applies (and re-tests), even when unchanged, as S3 does.
    await this.options.store.setNotificationXml(bucket, undefined);
    await this.apply(bucket, rules);
  }

  /** Delivers one served change to every matching destination. */
  async notify(event: S3ObjectEvent): Promise<void> {
    const rules = this.rules.get(event.bucket);
    if (!rules || rules.length === 0) return;
    const matching = rules.filter((rule) => ruleMatches(rule, event.eventName, event.key));
    if (matching.length === 0) return;
    // One sequencer per change: every destination sees the same value for the same event.
    const sequencer = this.sequencer.next(event.eventTime.getTime());
    for (const rule of matching) {
      const record = buildEventRecord({
        region: this.options.region,
        eventName: event.eventName,
        eventTime: event.eventTime,
        principalId: event.principalId,
        sourceIp: event.sourceIp,
        requestId: event.requestId,
        hostId: event.hostId,
        configurationId: rule.id,
        bucket: event.bucket,
        key: event.key,
        ...(event.size !== undefined ? { size: event.size } : {}),
        ...(event.eTag !== undefined ? { eTag: event.eTag } : {}),
        sequencer,
      });
      try {
        await this.options.delivery.send(rule.queueName, JSON.stringify({ Records: [record] }));
      } catch (error) {
        this.options.onDeliveryError?.(error as Error);
      }
    }
  }
}
