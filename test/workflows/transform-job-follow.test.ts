import { describe, expect, it } from 'vitest';
import { pollTimes } from '../../src/workflows/endpoint-wait';
import {
  startRetryCaps,
  StartRetrySettingsError,
  TRANSFORM_JOB_START_RETRY,
  TRANSFORM_JOB_TIMEOUT_SECONDS,
  transformJobSchedules,
} from '../../src/workflows/transform-job-follow';

describe('Function: startRetryCaps', () => {
  it('doubles the cap of each retry from 5 seconds, as the Retry it replaces did', () => {
    // Act
    const caps = startRetryCaps(TRANSFORM_JOB_START_RETRY);

    // Assess
    expect(caps).toEqual([5, 10, 20, 40]);
  });

  it('holds every cap to maxDelaySeconds', () => {
    // Act
    const caps = startRetryCaps({ intervalSeconds: 10, backoffRate: 3, maxAttempts: 5, maxDelaySeconds: 60 });

    // Assess
    expect(caps).toEqual([10, 30, 60, 60, 60]);
  });

  it('gives no caps when no retry is allowed', () => {
    // Act
    const caps = startRetryCaps({ ...TRANSFORM_JOB_START_RETRY, maxAttempts: 0 });

    // Assess
    expect(caps).toEqual([]);
  });

  it('refuses settings out of range, naming the setting and the rule', () => {
    // Act
    const attempt = (settings: Partial<typeof TRANSFORM_JOB_START_RETRY>) => () => startRetryCaps({ ...TRANSFORM_JOB_START_RETRY, ...settings });

    // Assess
    expect(attempt({ intervalSeconds: 0 })).toThrow(new StartRetrySettingsError('intervalSeconds must be a whole number of seconds of at least 1; got 0'));
    expect(attempt({ backoffRate: 0.5 })).toThrow(new StartRetrySettingsError('backoffRate must be a number of at least 1; got 0.5'));
    expect(attempt({ maxAttempts: 1.5 })).toThrow(new StartRetrySettingsError('maxAttempts must be a whole number of at least 0; got 1.5'));
    expect(attempt({ maxDelaySeconds: 2 })).toThrow(new StartRetrySettingsError('maxDelaySeconds must be a whole number of seconds of at least intervalSeconds; got 2'));
  });
});

describe('Function: transformJobSchedules', () => {
  it('starts with nothing retried or polled, and follows a job on a growing schedule up to the .sync timeout', () => {
    // Act
    const schedules = transformJobSchedules();

    // Assess
    expect(schedules.startRetries).toEqual({ capSeconds: [5, 10, 20, 40], count: 4 });
    expect(schedules.startRetry).toEqual({ index: 0, seconds: 0 });
    expect(schedules.jobPoll).toEqual({ index: 0, seconds: 0 });
    expect(schedules.jobWait.intervals.slice(0, 7)).toEqual([30, 45, 68, 101, 152, 228, 300]);
    expect(schedules.jobWait.count).toBe(schedules.jobWait.intervals.length);
    expect(pollTimes(schedules.jobWait.intervals).at(-1)).toBe(TRANSFORM_JOB_TIMEOUT_SECONDS);
    expect(schedules.jobWait.timeoutSeconds).toBe(TRANSFORM_JOB_TIMEOUT_SECONDS);
    // The whole schedule travels in the state data of every step: it must stay small.
    expect(JSON.stringify(schedules).length).toBeLessThan(4096);
  });
});
