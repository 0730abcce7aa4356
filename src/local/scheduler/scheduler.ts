/**
 * The local scheduler: the schedules `serverless.yml` declares fire StartExecution at their times. Cron and
 * at() schedules follow the wall clock of their time zone; a rate is a duration, so it runs on the local time
 * scale like every other wait standing for AWS time (DESIGN.md §3). A start that fails is retried with
 * backoff within the schedule's retry policy, then handed to its dead-letter queue, as EventBridge Scheduler
 * does. `triggerAll()` fires every schedule at once (the stack's `--trigger-schedules`).
 */
import { randomUUID } from 'node:crypto';
import { nextFireTime, parseScheduleExpression, checkTimeZone, type ScheduleExpression } from './schedule-expression';
import { renderTargetInput } from './target-input';
import type { ScheduleSpec } from './schedule-spec';

/** Time as the scheduler sees it; tests pass a fake one. */
export interface SchedulerClock {
  now(): number;
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: SchedulerClock = {
  now: () => Date.now(),
  setTimer: (callback, ms) => {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  },
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** What one firing did. */
export interface FireOutcome {
  schedule: string;
  scheduledTime: Date;
  /** The execution started, when the start succeeded. */
  executionArn?: string;
  attempts: number;
  /** Why the start failed after its retries, when it did (the message then went to the DLQ, if any). */
  error?: string;
}

export interface LocalSchedulerOptions {
  schedules: ScheduleSpec[];
  /** StartExecution; the input is the target's input with the schedule's placeholders filled in. */
  startExecution(stateMachineArn: string, input: string): Promise<{ executionArn: string }>;
  region: string;
  accountId: string;
  /** Local clock speed for rates and retry back-off; default 1. */
  timeScale?: number;
  clock?: SchedulerClock;
  /** Delivers a run that could not be started to the schedule's dead-letter queue. */
  deliverDeadLetter?(queueArn: string, body: string, attributes: Record<string, string>): Promise<void>;
  /** Told after every firing. */
  onFire?(outcome: FireOutcome): void;
  log?(line: string): void;
}

interface ArmedSchedule {
  spec: ScheduleSpec;
  expression: ScheduleExpression;
  originMs: number;
  timer?: unknown;
  next?: number;
}

/** Node timers hold at most about 24.8 days; longer waits are taken in steps. */
const MAX_TIMER_MS = 2_147_483_647;

/** Runs schedules. Construct it to check them (bad expressions throw), `start()` to arm them. */
export class LocalScheduler {
  private readonly clock: SchedulerClock;
  private readonly timeScale: number;
  private readonly armed: ArmedSchedule[];
  private readonly inFlight = new Set<Promise<unknown>>();
  private running = false;

  constructor(private readonly options: LocalSchedulerOptions) {
    this.clock = options.clock ?? systemClock;
    this.timeScale = options.timeScale ?? 1;
    this.armed = options.schedules.map((spec) => {
      if (spec.timezone !== undefined) checkTimeZone(spec.timezone);
      return { spec, expression: parseScheduleExpression(spec.expression), originMs: 0 };
    });
  }

  /** Arms every enabled schedule from now. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const now = this.clock.now();
    for (const schedule of this.armed) {
      if (!schedule.spec.enabled) continue;
      schedule.originMs = schedule.spec.startDate ? Math.max(now, schedule.spec.startDate.getTime()) : now;
      this.arm(schedule, now);
    }
  }

  /** The next time each enabled schedule fires (for the stack's start-up report). */
  upcoming(): Array<{ schedule: string; next?: Date }> {
    return this.armed.filter((s) => s.spec.enabled).map((s) => ({ schedule: s.spec.name, ...(s.next !== undefined ? { next: new Date(s.next) } : {}) }));
  }

  /** Fires every schedule now (disabled ones too when asked), waiting for the starts. */
  async triggerAll(options: { includeDisabled?: boolean } = {}): Promise<FireOutcome[]> {
    const now = this.clock.now();
    const chosen = this.armed.filter((s) => s.spec.enabled || options.includeDisabled);
    return Promise.all(chosen.map((schedule) => this.fire(schedule, now)));
  }

  /** Disarms every schedule and waits for starts in flight. */
  async stop(): Promise<void> {
    this.running = false;
    for (const schedule of this.armed) {
      if (schedule.timer !== undefined) this.clock.clearTimer(schedule.timer);
      schedule.timer = undefined;
    }
    await Promise.allSettled([...this.inFlight]);
  }

  private rateMs(schedule: ArmedSchedule): number | undefined {
    return schedule.expression.kind === 'rate' ? Math.max(1, schedule.expression.seconds * 1000 * this.timeScale) : undefined;
  }

  private arm(schedule: ArmedSchedule, afterMs: number): void {
    const rateMs = this.rateMs(schedule);
    let next = nextFireTime(schedule.expression, afterMs, {
      originMs: schedule.originMs,
      ...(schedule.spec.timezone !== undefined ? { timeZone: schedule.spec.timezone } : {}),
      ...(rateMs !== undefined ? { rateMs } : {}),
    });
    if (next !== undefined && schedule.spec.startDate && next < schedule.spec.startDate.getTime()) {
      next = nextFireTime(schedule.expression, schedule.spec.startDate.getTime() - 1, { originMs: schedule.originMs, ...(rateMs !== undefined ? { rateMs } : {}), ...(schedule.spec.timezone !== undefined ? { timeZone: schedule.spec.timezone } : {}) });
    }
    if (next === undefined || (schedule.spec.endDate && next > schedule.spec.endDate.getTime())) {
      schedule.next = undefined;
      this.options.log?.(`schedule ${schedule.spec.name}: no further times`);
      return;
    }
    schedule.next = next;
    this.wakeAt(schedule, next);
  }

  private wakeAt(schedule: ArmedSchedule, at: number): void {
    const delay = Math.max(0, at - this.clock.now());
    schedule.timer = this.clock.setTimer(() => {
      schedule.timer = undefined;
      if (!this.running) return;
      if (this.clock.now() < at) {
        this.wakeAt(schedule, at);
        return;
      }
      const firing = this.fire(schedule, at);
      this.arm(schedule, at);
      void firing;
    }, Math.min(delay, MAX_TIMER_MS));
  }

  private fire(schedule: ArmedSchedule, scheduledMs: number): Promise<FireOutcome> {
    const run = this.startWithRetries(schedule, new Date(scheduledMs));
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
    return run;
  }

  private async startWithRetries(schedule: ArmedSchedule, scheduledTime: Date): Promise<FireOutcome> {
    const { spec } = schedule;
    const executionId = randomUUID();
    const firstAttemptAt = this.clock.now();
    const maxAttempts = spec.retryPolicy.maximumRetryAttempts + 1;
    let lastError = '';
    let attempt = 0;
    while (attempt < maxAttempts) {
      attempt += 1;
      const input = renderTargetInput(spec, { scheduledTime, executionId, attempt, region: this.options.region, accountId: this.options.accountId });
      try {
        const { executionArn } = await this.options.startExecution(spec.target.stateMachineArn, input);
        const outcome: FireOutcome = { schedule: spec.name, scheduledTime, executionArn, attempts: attempt };
        this.options.log?.(`schedule ${spec.name}: started ${executionArn} for ${scheduledTime.toISOString()}`);
        this.options.onFire?.(outcome);
        return outcome;
      } catch (error) {
        lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
      const ageSeconds = (this.clock.now() - firstAttemptAt) / 1000 / this.timeScale;
      if (attempt >= maxAttempts || ageSeconds >= spec.retryPolicy.maximumEventAgeInSeconds || !this.running) break;
      // Exponential back-off with full jitter, capped at a minute of AWS time.
      const backoffSeconds = Math.random() * Math.min(60, 2 ** attempt);
      await new Promise<void>((resolve) => this.clock.setTimer(resolve, backoffSeconds * 1000 * this.timeScale));
    }
    const outcome: FireOutcome = { schedule: spec.name, scheduledTime, attempts: attempt, error: lastError };
    this.options.log?.(`schedule ${spec.name}: could not start ${spec.target.stateMachineArn} for ${scheduledTime.toISOString()} after ${attempt} attempt(s): ${lastError}`);
    if (spec.deadLetterArn && this.options.deliverDeadLetter) {
      const body = renderTargetInput(spec, { scheduledTime, executionId, attempt, region: this.options.region, accountId: this.options.accountId });
      await this.options
        .deliverDeadLetter(spec.deadLetterArn, body, {
          ERROR_CODE: lastError.split(':')[0] ?? 'Error',
          ERROR_MESSAGE: lastError,
          EXECUTION_ID: executionId,
          SCHEDULE_ARN: scheduleArn(spec, this.options.region, this.options.accountId),
          TARGET_ARN: spec.target.stateMachineArn,
        })
        .catch((error: Error) => this.options.log?.(`schedule ${spec.name}: dead-letter delivery failed: ${error.message}`));
    }
    this.options.onFire?.(outcome);
    return outcome;
  }
}

/** The ARN EventBridge Scheduler gives a schedule in the default group. */
export function scheduleArn(spec: ScheduleSpec, region: string, accountId: string): string {
  return `arn:aws:scheduler:${region}:${accountId}:schedule/${spec.group ?? 'default'}/${spec.name}`;
}
