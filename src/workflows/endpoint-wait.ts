/**
 * The polling schedule of a deployment's endpoint wait. The state machine loops Wait → DescribeEndpoint
 * → Choice, taking each interval from this schedule, so the cost of a wait in state transitions is set
 * here: intervals that grow geometrically (capped) poll often while an endpoint may be nearly ready and
 * rarely once it clearly takes long.
 */

export interface EndpointWaitSettings {
  initialSeconds: number;
  growthFactor: number;
  maxSeconds: number;
  timeoutSeconds: number;
}

export const DEFAULT_ENDPOINT_WAIT: EndpointWaitSettings = {
  initialSeconds: 30,
  growthFactor: 1.5,
  maxSeconds: 300,
  timeoutSeconds: 3600,
};

/**
 * Whole-second intervals between polls: `initialSeconds * growthFactor^k`, capped at `maxSeconds`; the
 * last one is shortened so they add up to exactly `timeoutSeconds`, the longest the wait may take.
 */
export function pollIntervals(settings: EndpointWaitSettings): number[] {
  const intervals: number[] = [];
  let waited = 0;
  let next = settings.initialSeconds;
  while (waited < settings.timeoutSeconds) {
    const interval = Math.min(Math.max(1, Math.round(next)), settings.maxSeconds, settings.timeoutSeconds - waited);
    intervals.push(interval);
    waited += interval;
    next = Math.min(next * settings.growthFactor, settings.maxSeconds);
  }
  return intervals;
}

/** Seconds after the first Wait began at which each poll happens (the running sums of the intervals). */
export function pollTimes(intervals: readonly number[]): number[] {
  let sum = 0;
  return intervals.map((interval) => (sum += interval));
}
