/**
 * The schedules batch-transform runs on when it cannot lean on `createTransformJob.sync` alone.
 *
 * - Starting the job: the optimized integration names every SageMaker error
 *   `SageMaker.AmazonSageMakerException`, so a `Retry` cannot tell throttling from a request SageMaker will
 *   never accept. The state machine catches the error and reads SageMaker's code from the cause instead;
 *   transient codes are retried by a Wait loop whose pauses are drawn at random below the caps computed
 *   here (exponential backoff with full jitter, as a `Retry` with `JitterStrategy: FULL` would do).
 * - Following a job the state machine did not see start (its CreateTransformJob answer was lost, and the
 *   retry found the job already there): DescribeTransformJob in a loop on a growing schedule, as the deploy
 *   state machines wait for endpoints, up to the same limit as the `.sync` task's `TimeoutSeconds`.
 */
import { pollIntervals, type EndpointWaitSettings } from './endpoint-wait';

/** The `.sync` task's `TimeoutSeconds` in batch-transform, and the longest a followed job is waited for. */
export const TRANSFORM_JOB_TIMEOUT_SECONDS = 86_400;

/** How a followed job is polled: often while it may be about to end, then every 5 minutes. */
export const TRANSFORM_JOB_FOLLOW: EndpointWaitSettings = {
  initialSeconds: 30,
  growthFactor: 1.5,
  maxSeconds: 300,
  timeoutSeconds: TRANSFORM_JOB_TIMEOUT_SECONDS,
};

/** Backoff of a CreateTransformJob refused for a transient reason (throttling, a SageMaker-side failure). */
export interface StartRetrySettings {
  intervalSeconds: number;
  backoffRate: number;
  maxAttempts: number;
  maxDelaySeconds: number;
}

export const TRANSFORM_JOB_START_RETRY: StartRetrySettings = {
  intervalSeconds: 5,
  backoffRate: 2,
  maxAttempts: 4,
  maxDelaySeconds: 60,
};

/** Raised for retry settings that cannot make a schedule, naming the setting and the rule. */
export class StartRetrySettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartRetrySettingsError';
  }
}

function checkRetrySettings(settings: StartRetrySettings): void {
  const rules: [keyof StartRetrySettings, boolean, string][] = [
    ['intervalSeconds', Number.isInteger(settings.intervalSeconds) && settings.intervalSeconds >= 1, 'a whole number of seconds of at least 1'],
    ['backoffRate', Number.isFinite(settings.backoffRate) && settings.backoffRate >= 1, 'a number of at least 1'],
    ['maxAttempts', Number.isInteger(settings.maxAttempts) && settings.maxAttempts >= 0, 'a whole number of at least 0'],
    ['maxDelaySeconds', Number.isInteger(settings.maxDelaySeconds) && settings.maxDelaySeconds >= settings.intervalSeconds, 'a whole number of seconds of at least intervalSeconds'],
  ];
  for (const [name, ok, rule] of rules) {
    if (!ok) throw new StartRetrySettingsError(`${name} must be ${rule}; got ${JSON.stringify(settings[name])}`);
  }
}

/**
 * Whole-second upper bounds of each retry's pause: `intervalSeconds * backoffRate^k`, capped at
 * `maxDelaySeconds`, one per attempt. The pause itself is drawn uniformly below the bound (full jitter), so
 * callers that were throttled together do not come back together.
 * @throws StartRetrySettingsError when a setting is out of its range
 */
export function startRetryCaps(settings: StartRetrySettings): number[] {
  checkRetrySettings(settings);
  return Array.from({ length: settings.maxAttempts }, (_, attempt) =>
    Math.max(1, Math.min(settings.maxDelaySeconds, Math.round(settings.intervalSeconds * settings.backoffRate ** attempt))),
  );
}

/** The part of batch-transform's prepared state that these schedules make up. */
export interface TransformJobSchedules {
  /** Caps of the start retries' pauses, and how many retries there are. */
  startRetries: { capSeconds: number[]; count: number };
  /** Where the start retries stand: retries made, and the pause before the next one. */
  startRetry: { index: number; seconds: number };
  /** The follow loop's intervals (adding up to the timeout) and how many polls that makes. */
  jobWait: { intervals: number[]; count: number; timeoutSeconds: number };
  /** Where the follow loop stands: polls scheduled, and the interval before the next one. */
  jobPoll: { index: number; seconds: number };
}

/** The schedules batch-transform starts with (nothing retried, nothing polled yet). */
export function transformJobSchedules(
  follow: EndpointWaitSettings = TRANSFORM_JOB_FOLLOW,
  retry: StartRetrySettings = TRANSFORM_JOB_START_RETRY,
): TransformJobSchedules {
  const capSeconds = startRetryCaps(retry);
  const intervals = pollIntervals(follow);
  return {
    startRetries: { capSeconds, count: capSeconds.length },
    startRetry: { index: 0, seconds: 0 },
    jobWait: { intervals, count: intervals.length, timeoutSeconds: follow.timeoutSeconds },
    jobPoll: { index: 0, seconds: 0 },
  };
}
