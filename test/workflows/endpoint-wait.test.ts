import { describe, expect, it } from 'vitest';
import { DEFAULT_ENDPOINT_WAIT, pollIntervals, pollTimes } from '../../src/workflows/endpoint-wait';

describe('Function: pollIntervals', () => {
  it('grows the default schedule to its cap and ends exactly at the timeout', () => {
    // Act
    const intervals = pollIntervals(DEFAULT_ENDPOINT_WAIT);

    // Assess
    expect(intervals.slice(0, 7)).toEqual([30, 45, 68, 101, 152, 228, 300]);
    expect(intervals.reduce((a, b) => a + b, 0)).toBe(3600);
    expect(Math.max(...intervals)).toBe(300);
  });

  it('reaches 10 minutes in 6 polls with the defaults (the transition budget rests on this)', () => {
    // Act
    const times = pollTimes(pollIntervals(DEFAULT_ENDPOINT_WAIT));

    // Assess
    expect(times.findIndex((t) => t >= 600) + 1).toBe(6);
  });

  it('polls at a fixed interval when the growth factor is 1', () => {
    // Act
    const intervals = pollIntervals({ initialSeconds: 30, growthFactor: 1, maxSeconds: 30, timeoutSeconds: 600 });

    // Assess
    expect(intervals).toEqual(Array.from({ length: 20 }, () => 30));
  });

  it('shortens the last interval to land on the timeout', () => {
    // Act
    const intervals = pollIntervals({ initialSeconds: 40, growthFactor: 1, maxSeconds: 40, timeoutSeconds: 100 });

    // Assess
    expect(intervals).toEqual([40, 40, 20]);
  });

  it('always gives whole seconds of at least one', () => {
    // Act
    const intervals = pollIntervals({ initialSeconds: 1, growthFactor: 1.1, maxSeconds: 7, timeoutSeconds: 300 });

    // Assess
    expect(intervals.every((s) => Number.isInteger(s) && s >= 1 && s <= 7)).toBe(true);
    expect(intervals.reduce((a, b) => a + b, 0)).toBe(300);
  });
});
