/**
 * The local scheduler (DESIGN.md §3): the schedules in `serverless.yml` start their state machines at
 * their times, with EventBridge Scheduler's input placeholders, retry policy and dead-letter queue.
 */
export { LocalScheduler, scheduleArn, systemClock } from './scheduler';
export type { FireOutcome, LocalSchedulerOptions, SchedulerClock } from './scheduler';
export { checkTimeZone, nextCronTime, nextFireTime, parseCron, parseScheduleExpression, ScheduleExpressionError } from './schedule-expression';
export type { CronExpression, ScheduleExpression } from './schedule-expression';
export { DEFAULT_RETRY_POLICY } from './schedule-spec';
export type { ScheduleSpec } from './schedule-spec';
export { awsTimestamp, renderTargetInput } from './target-input';
