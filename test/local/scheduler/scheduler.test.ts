import { describe, expect, it } from 'vitest';
import { LocalScheduler, type SchedulerClock } from '../../../src/local/scheduler/scheduler';
import { DEFAULT_RETRY_POLICY, type ScheduleSpec } from '../../../src/local/scheduler/schedule-spec';

const MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:smhost-dev-batch-transform';

/** A clock that only moves when told, running due timers in time order. */
class FakeClock implements SchedulerClock {
  private timers: Array<{ id: number; at: number; callback: () => void }> = [];
  private ids = 0;

  constructor(private time: number) {}

  now(): number {
    return this.time;
  }

  setTimer(callback: () => void, ms: number): unknown {
    this.ids += 1;
    this.timers.push({ id: this.ids, at: this.time + ms, callback });
    return this.ids;
  }

  clearTimer(handle: unknown): void {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  }

  /** Moves time forward to `target`, firing every timer due on the way and letting the starts settle. */
  async advanceTo(target: number): Promise<void> {
    for (;;) {
      await settle();
      const due = this.timers.filter((timer) => timer.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.time = Math.max(this.time, due.at);
      due.callback();
    }
    this.time = target;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

function schedule(overrides: Partial<ScheduleSpec> = {}): ScheduleSpec {
  return {
    name: 'nightly',
    expression: 'cron(0 2 * * ? *)',
    enabled: true,
    kind: 'scheduler',
    target: { stateMachineArn: MACHINE, input: '{"modelName":"m","scheduledTime":"<aws.scheduler.scheduled-time>","attempt":"<aws.scheduler.attempt-number>","schedule":"<aws.scheduler.schedule-arn>"}' },
    retryPolicy: DEFAULT_RETRY_POLICY,
    ...overrides,
  };
}

function harness(specs: ScheduleSpec[], start: string, startExecution?: (arn: string, input: string) => Promise<{ executionArn: string }>, timeScale = 1) {
  const clock = new FakeClock(Date.parse(start));
  const started: Array<{ arn: string; input: Record<string, string>; at: string }> = [];
  const deadLetters: Array<{ queue: string; body: string; attributes: Record<string, string> }> = [];
  const scheduler = new LocalScheduler({
    schedules: specs,
    region: 'us-east-1',
    accountId: '000000000000',
    clock,
    timeScale,
    startExecution:
      startExecution ??
      (async (arn, input) => {
        started.push({ arn, input: JSON.parse(input) as Record<string, string>, at: new Date(clock.now()).toISOString() });
        return { executionArn: `${arn.replace(':stateMachine:', ':execution:')}:run-${started.length}` };
      }),
    deliverDeadLetter: async (queue, body, attributes) => {
      deadLetters.push({ queue, body, attributes });
    },
  });
  return { clock, scheduler, started, deadLetters };
}

describe('Function: LocalScheduler', () => {
  it('starts the state machine at each cron time with the scheduled time filled into the input', async () => {
    // Prepare
    const { clock, scheduler, started } = harness([schedule()], '2024-05-01T01:00:00Z');
    scheduler.start();

    // Act
    await clock.advanceTo(Date.parse('2024-05-03T01:00:00Z'));
    await scheduler.stop();

    // Assess
    expect(started.map((s) => s.at)).toEqual(['2024-05-01T02:00:00.000Z', '2024-05-02T02:00:00.000Z']);
    expect(started[0]).toMatchObject({
      arn: MACHINE,
      input: {
        modelName: 'm',
        scheduledTime: '2024-05-01T02:00:00Z',
        attempt: '1',
        schedule: 'arn:aws:scheduler:us-east-1:000000000000:schedule/default/nightly',
      },
    });
  });

  it('fires cron schedules in their time zone', async () => {
    // Prepare
    const { clock, scheduler, started } = harness([schedule({ expression: 'cron(0 9 ? * MON *)', timezone: 'America/New_York' })], '2024-05-04T00:00:00Z');
    scheduler.start();

    // Act
    await clock.advanceTo(Date.parse('2024-05-07T00:00:00Z'));

    // Assess (Monday 6 May, 09:00 in New York is 13:00 UTC)
    expect(started.map((s) => s.input.scheduledTime)).toEqual(['2024-05-06T13:00:00Z']);
  });

  it('runs rates on the time scale: rate(1 hour) at 0.01 fires every 36 s', async () => {
    // Prepare
    const { clock, scheduler, started } = harness([schedule({ expression: 'rate(1 hour)' })], '2024-05-01T00:00:00Z', undefined, 0.01);
    scheduler.start();

    // Act
    await clock.advanceTo(Date.parse('2024-05-01T00:01:50Z'));

    // Assess
    expect(started.map((s) => s.at)).toEqual(['2024-05-01T00:00:36.000Z', '2024-05-01T00:01:12.000Z', '2024-05-01T00:01:48.000Z']);
  });

  it('sends an EventBridge rule its constant input, or the Scheduled Event without one', async () => {
    // Prepare
    const { clock, scheduler, started } = harness(
      [
        schedule({ name: 'with-input', kind: 'events', target: { stateMachineArn: MACHINE, input: '{"fixed":"<aws.scheduler.scheduled-time>"}' } }),
        schedule({ name: 'without-input', kind: 'events', target: { stateMachineArn: MACHINE } }),
      ],
      '2024-05-01T01:59:00Z',
    );
    scheduler.start();

    // Act
    await clock.advanceTo(Date.parse('2024-05-01T02:00:00Z'));

    // Assess
    expect(started.map((s) => s.input)).toEqual(
      expect.arrayContaining([
        { fixed: '<aws.scheduler.scheduled-time>' },
        expect.objectContaining({ 'detail-type': 'Scheduled Event', source: 'aws.events', time: '2024-05-01T02:00:00Z' }),
      ]),
    );
  });

  it('leaves disabled schedules alone, and fires every enabled one at once with triggerAll', async () => {
    // Prepare
    const { clock, scheduler, started } = harness([schedule(), schedule({ name: 'off', enabled: false })], '2024-05-01T10:00:00Z');
    scheduler.start();

    // Act
    const outcomes = await scheduler.triggerAll();
    const withDisabled = await scheduler.triggerAll({ includeDisabled: true });
    await clock.advanceTo(Date.parse('2024-05-01T12:00:00Z'));

    // Assess
    expect(outcomes.map((o) => o.schedule)).toEqual(['nightly']);
    expect(outcomes[0]!.executionArn).toContain(':execution:');
    expect(withDisabled.map((o) => o.schedule)).toEqual(['nightly', 'off']);
    expect(started[0]!.input.scheduledTime).toBe('2024-05-01T10:00:00Z');
    expect(started).toHaveLength(3);
  });

  it('retries a failing start within the retry policy, then sends the run to the dead-letter queue', async () => {
    // Prepare
    let calls = 0;
    const spec = schedule({ retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 3600 }, deadLetterArn: 'arn:aws:sqs:us-east-1:000000000000:schedule-dlq' });
    const { clock, scheduler, deadLetters } = harness([spec], '2024-05-01T01:59:00Z', async () => {
      calls += 1;
      const error = new Error('State Machine Does Not Exist');
      error.name = 'StateMachineDoesNotExist';
      throw error;
    });
    scheduler.start();

    // Act
    await clock.advanceTo(Date.parse('2024-05-01T02:10:00Z'));

    // Assess
    expect(calls).toBe(3);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]!.queue).toBe('arn:aws:sqs:us-east-1:000000000000:schedule-dlq');
    expect(JSON.parse(deadLetters[0]!.body)).toMatchObject({ scheduledTime: '2024-05-01T02:00:00Z' });
    expect(deadLetters[0]!.attributes).toMatchObject({ ERROR_CODE: 'StateMachineDoesNotExist', TARGET_ARN: MACHINE });
  });

  it('retries until a start succeeds, counting attempts in the input', async () => {
    // Prepare
    const inputs: string[] = [];
    const { clock, scheduler, deadLetters } = harness([schedule()], '2024-05-01T01:59:00Z', async (_arn, input) => {
      inputs.push(input);
      if (inputs.length < 2) throw new Error('throttled');
      return { executionArn: 'arn:aws:states:us-east-1:000000000000:execution:x:y' };
    });
    scheduler.start();

    // Act
    await clock.advanceTo(Date.parse('2024-05-01T02:05:00Z'));

    // Assess
    expect(inputs.map((i) => (JSON.parse(i) as { attempt: string }).attempt)).toEqual(['1', '2']);
    expect(deadLetters).toHaveLength(0);
  });

  it('refuses a bad expression or time zone when constructed', () => {
    // Act
    const badExpression = () => harness([schedule({ expression: 'cron(0 2 * * *)' })], '2024-05-01T00:00:00Z');
    const badZone = () => harness([schedule({ timezone: 'Nowhere/Land' })], '2024-05-01T00:00:00Z');

    // Assess
    expect(badExpression).toThrow('needs 6 fields');
    expect(badZone).toThrow('not an IANA name');
  });
});
