/** One schedule that starts a state machine, as read from `serverless.yml`. */
export interface ScheduleSpec {
  /** The schedule's name (its `Name`, or the logical id). */
  name: string;
  /** The Scheduler group, `default` unless named. */
  group?: string;
  /** `rate(...)`, `cron(...)` or `at(...)`. */
  expression: string;
  /** IANA time zone of cron and at() expressions (EventBridge Scheduler); UTC when absent. */
  timezone?: string;
  enabled: boolean;
  /**
   * `scheduler`: EventBridge Scheduler, whose input may hold `<aws.scheduler.*>` placeholders; `events`: an
   * EventBridge rule, which sends its constant input, or the scheduled event when it has none.
   */
  kind: 'scheduler' | 'events';
  target: { stateMachineArn: string; input?: string };
  retryPolicy: { maximumRetryAttempts: number; maximumEventAgeInSeconds: number };
  /** The SQS queue ARN runs that could not be started go to. */
  deadLetterArn?: string;
  startDate?: Date;
  endDate?: Date;
}

/** EventBridge Scheduler's defaults: 185 retries within a day. */
export const DEFAULT_RETRY_POLICY = { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86_400 };
