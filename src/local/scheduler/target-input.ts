/**
 * The input a schedule gives the state machine. EventBridge Scheduler fills in its context attributes
 * (`<aws.scheduler.scheduled-time>`, `<aws.scheduler.execution-id>`, `<aws.scheduler.attempt-number>`,
 * `<aws.scheduler.schedule-arn>`) wherever they appear in the input; an EventBridge rule sends its constant
 * input as is, or, without one, the "Scheduled Event" itself.
 */
import { randomUUID } from 'node:crypto';
import type { ScheduleSpec } from './schedule-spec';

export interface FiringContext {
  scheduledTime: Date;
  executionId: string;
  attempt: number;
  region: string;
  accountId: string;
}

/** An instant as Scheduler and EventBridge write it: `2024-05-01T02:00:00Z`, without milliseconds. */
export function awsTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The state machine input for one firing of `spec`. */
export function renderTargetInput(spec: ScheduleSpec, context: FiringContext): string {
  const arn = `arn:aws:scheduler:${context.region}:${context.accountId}:schedule/${spec.group ?? 'default'}/${spec.name}`;
  if (spec.kind === 'events') {
    if (spec.target.input !== undefined) return spec.target.input;
    return JSON.stringify({
      version: '0',
      id: randomUUID(),
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: context.accountId,
      time: awsTimestamp(context.scheduledTime),
      region: context.region,
      resources: [`arn:aws:events:${context.region}:${context.accountId}:rule/${spec.name}`],
      detail: {},
    });
  }
  const values: Record<string, string> = {
    'scheduled-time': awsTimestamp(context.scheduledTime),
    'execution-id': context.executionId,
    'attempt-number': String(context.attempt),
    'schedule-arn': arn,
  };
  // Scheduler sends `{}` when a target has no input.
  return (spec.target.input ?? '{}').replace(/<aws\.scheduler\.([a-z-]+)>/g, (match, name: string) => values[name] ?? match);
}
