/**
 * A bucket's queue notification rules: matching an event against them (event-type patterns with `*`,
 * key prefix and suffix), and converting them from and to the `NotificationConfiguration` XML that
 * `PutBucketNotificationConfiguration` carries.
 */
import { invalidArgument } from '../s3/s3-error';
import { parseXml, textOf, toXml } from '../s3/xml';
import type { QueueNotificationSpec } from '../serverless/stack-config';

export type { QueueNotificationSpec } from '../serverless/stack-config';

function patternMatches(pattern: string, eventName: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return regex.test(eventName);
}

/** True when the rule applies to `eventName` (without the `s3:` prefix) on `key` (not encoded). */
export function ruleMatches(rule: QueueNotificationSpec, eventName: string, key: string): boolean {
  if (rule.prefix !== undefined && !key.startsWith(rule.prefix)) return false;
  if (rule.suffix !== undefined && !key.endsWith(rule.suffix)) return false;
  return rule.events.some((pattern) => patternMatches(pattern, `s3:${eventName}`));
}

const KNOWN_EVENTS = /^s3:(ObjectCreated:(\*|Put|Post|Copy|CompleteMultipartUpload)|ObjectRemoved:(\*|Delete|DeleteMarkerCreated)|ObjectTagging:(\*|Put|Delete)|ObjectRestore:(\*|Post|Completed|Delete)|ObjectAcl:Put|LifecycleExpiration:(\*|Delete|DeleteMarkerCreated)|LifecycleTransition|IntelligentTiering|ReducedRedundancyLostObject|Replication:(\*|[A-Za-z]+))$/;

/**
 * Parses a `NotificationConfiguration` document into queue rules. `queueName` maps a queue ARN to a local
 * queue, or undefined when there is none, which S3 refuses as an unvalidated destination.
 */
export function parseNotificationXml(xml: string, queueName: (arn: string) => string | undefined): QueueNotificationSpec[] {
  const document = parseXml(xml, 'NotificationConfiguration');
  for (const unsupported of ['TopicConfiguration', 'CloudFunctionConfiguration', 'EventBridgeConfiguration']) {
    if (document[unsupported] !== undefined) {
      throw invalidArgument(unsupported, '', `${unsupported} destinations are not delivered by the local stack; use QueueConfiguration`);
    }
  }
  const configurations = (document.QueueConfiguration as Array<Record<string, unknown>> | undefined) ?? [];
  return configurations.map((configuration, index) => {
    const arn = textOf(configuration.Queue)?.trim() ?? '';
    const name = queueName(arn);
    if (!name) throw invalidArgument(arn, 'The destination queue does not exist', 'Unable to validate the following destination configurations');
    const events = ((configuration.Event as unknown[] | undefined) ?? []).map((event) => textOf(event)?.trim() ?? '');
    if (events.length === 0) throw invalidArgument('Event', '', `QueueConfiguration ${index + 1} must name at least one Event`);
    for (const event of events) if (!KNOWN_EVENTS.test(event)) throw invalidArgument('Event', event, `The event "${event}" is not an S3 event type such as s3:ObjectCreated:*`);
    const spec: QueueNotificationSpec = {
      id: textOf(configuration.Id)?.trim() || Buffer.from(`queue-${index}-${arn}`).toString('base64').slice(0, 48),
      events,
      queueArn: arn,
      queueName: name,
    };
    const filter = configuration.Filter as Record<string, unknown> | undefined;
    const keyFilter = (filter?.S3Key ?? filter?.s3Key) as Record<string, unknown> | undefined;
    for (const rule of (keyFilter?.FilterRule as Array<Record<string, unknown>> | undefined) ?? []) {
      const ruleName = textOf(rule.Name)?.trim().toLowerCase();
      const value = textOf(rule.Value) ?? '';
      if (ruleName !== 'prefix' && ruleName !== 'suffix') throw invalidArgument('FilterRule', ruleName ?? '', 'FilterRule names must be prefix or suffix');
      if (spec[ruleName] !== undefined) throw invalidArgument('FilterRule', ruleName, `Cannot specify more than one ${ruleName} rule in a filter.`);
      spec[ruleName] = value;
    }
    return spec;
  });
}

/** The XML `GetBucketNotificationConfiguration` returns for `rules`. */
export function notificationXml(rules: QueueNotificationSpec[]): string {
  return toXml('NotificationConfiguration', {
    QueueConfiguration: rules.map((rule) => {
      const filterRules = [
        ...(rule.prefix !== undefined ? [{ Name: 'Prefix', Value: rule.prefix }] : []),
        ...(rule.suffix !== undefined ? [{ Name: 'Suffix', Value: rule.suffix }] : []),
      ];
      return {
        Id: rule.id,
        Queue: rule.queueArn,
        Event: rule.events,
        ...(filterRules.length > 0 ? { Filter: { S3Key: { FilterRule: filterRules } } } : {}),
      };
    }),
  });
}
