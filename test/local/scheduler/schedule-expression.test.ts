import { describe, expect, it } from 'vitest';
import { checkTimeZone, nextCronTime, nextFireTime, parseCron, parseScheduleExpression, ScheduleExpressionError } from '../../../src/local/scheduler/schedule-expression';

const utc = (text: string) => Date.parse(text);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** The next `count` times of a cron after `from`, as ISO texts. */
function times(fields: string, from: string, count: number, timeZone = 'UTC'): string[] {
  const cron = parseCron(fields);
  const out: string[] = [];
  let after = utc(from);
  for (let i = 0; i < count; i += 1) {
    const next = nextCronTime(cron, after, timeZone);
    if (next === undefined) break;
    out.push(new Date(next).toISOString());
    after = next;
  }
  return out;
}

describe('Function: parseScheduleExpression', () => {
  it('reads rates in minutes, hours and days', () => {
    // Act
    const parsed = ['rate(1 minute)', 'rate(5 minutes)', 'rate(1 hour)', 'rate(2 days)'].map(parseScheduleExpression);

    // Assess
    expect(parsed).toEqual([
      { kind: 'rate', seconds: 60 },
      { kind: 'rate', seconds: 300 },
      { kind: 'rate', seconds: 3600 },
      { kind: 'rate', seconds: 172_800 },
    ]);
  });

  it.each([
    ['rate(1 minutes)', 'singular for 1'],
    ['rate(5 minute)', 'singular for 1'],
    ['rate(0 minutes)', 'positive whole number'],
    ['rate(1.5 hours)', 'whole number and a unit'],
    ['rate(3 weeks)', 'whole number and a unit'],
    ['cron(0 2 * * *)', 'needs 6 fields'],
    ['cron(0 2 * * * *)', 'exactly one of day-of-month and day-of-week must be ?'],
    ['cron(0 2 ? * ? *)', 'exactly one of day-of-month and day-of-week must be ?'],
    ['cron(60 2 * * ? *)', 'Minutes field "60": 60 is outside 0-59'],
    ['cron(0 24 * * ? *)', 'Hours field'],
    ['cron(0 2 * FOO ? *)', 'JAN'],
    ['cron(0 2 ? * 8 *)', 'Day-of-week field "8"'],
    ['cron(0 2 ? * MON#6 *)', 'must be 1-5'],
    ['cron(0 2 * * ? 1969)', 'Year field'],
    ['cron(5-1 2 * * ? *)', 'runs backwards'],
    ['cron(*/0 2 * * ? *)', 'positive whole number'],
    ['at(2024-02-30T10:00:00)', 'does not exist'],
    ['every day', 'must be rate'],
  ])('refuses %s, naming the rule', (expression, rule) => {
    // Act
    const act = () => parseScheduleExpression(expression);

    // Assess
    expect(act).toThrow(ScheduleExpressionError);
    expect(act).toThrow(rule);
  });

  it('refuses a time zone that is not an IANA name', () => {
    // Act
    const act = () => checkTimeZone('Mars/Olympus');

    // Assess
    expect(act).toThrow('not an IANA name');
    expect(checkTimeZone('Europe/Paris')).toBe('Europe/Paris');
  });
});

describe('Function: nextCronTime', () => {
  it('fires a daily cron at its minute, strictly after the given time', () => {
    // Act
    const next = times('0 2 * * ? *', '2024-05-01T02:00:00Z', 3);

    // Assess
    expect(next).toEqual(['2024-05-02T02:00:00.000Z', '2024-05-03T02:00:00.000Z', '2024-05-04T02:00:00.000Z']);
  });

  it('follows lists, ranges, steps and names', () => {
    // Act
    const quarterHours = times('0/15 9-10 ? * MON-FRI *', '2024-05-03T10:40:00Z', 3);
    const months = times('30 6 1 JAN,JUL ? *', '2024-02-01T00:00:00Z', 2);

    // Assess (2024-05-03 is a Friday: the next weekday is Monday 6th)
    expect(quarterHours).toEqual(['2024-05-03T10:45:00.000Z', '2024-05-06T09:00:00.000Z', '2024-05-06T09:15:00.000Z']);
    expect(months).toEqual(['2024-07-01T06:30:00.000Z', '2025-01-01T06:30:00.000Z']);
  });

  it('reads L, L-n, LW, nW, nL and n#k in the day fields', () => {
    // Act
    const last = times('0 0 L * ? *', '2024-01-31T00:00:00Z', 2);
    const lastMinus2 = times('0 0 L-2 * ? *', '2024-02-01T00:00:00Z', 1);
    const lastWeekday = times('0 0 LW * ? *', '2024-03-01T00:00:00Z', 1);
    const nearest = times('0 0 15W * ? *', '2024-06-01T00:00:00Z', 1);
    const lastFriday = times('0 0 ? * 6L *', '2024-05-01T00:00:00Z', 1);
    const secondTuesday = times('0 0 ? * 3#2 *', '2024-05-01T00:00:00Z', 1);

    // Assess
    expect(last).toEqual(['2024-02-29T00:00:00.000Z', '2024-03-31T00:00:00.000Z']);
    expect(lastMinus2).toEqual(['2024-02-27T00:00:00.000Z']);
    expect(lastWeekday).toEqual(['2024-03-29T00:00:00.000Z']);
    expect(nearest).toEqual(['2024-06-14T00:00:00.000Z']);
    expect(lastFriday).toEqual(['2024-05-31T00:00:00.000Z']);
    expect(secondTuesday).toEqual(['2024-05-14T00:00:00.000Z']);
  });

  it('follows the wall clock of a time zone across daylight-saving changes', () => {
    // Act: Paris moves from UTC+1 to UTC+2 on 2024-03-31 at 02:00, which it skips.
    const nineAm = times('0 9 * * ? *', '2024-03-30T00:00:00Z', 2, 'Europe/Paris');
    const skipped = times('30 2 * * ? *', '2024-03-30T00:00:00Z', 2, 'Europe/Paris');

    // Assess
    expect(nineAm).toEqual(['2024-03-30T08:00:00.000Z', '2024-03-31T07:00:00.000Z']);
    expect(skipped).toEqual(['2024-03-30T01:30:00.000Z', '2024-04-01T00:30:00.000Z']);
  });

  it('ends when the year field runs out', () => {
    // Act
    const next = times('0 0 1 1 ? 2025', '2025-06-01T00:00:00Z', 1);

    // Assess
    expect(next).toEqual([]);
  });
});

describe('Function: nextFireTime', () => {
  it('counts rates from the origin in steps of the (scaled) period', () => {
    // Prepare
    const rate = parseScheduleExpression('rate(1 hour)');

    // Act
    const first = nextFireTime(rate, 1000, { originMs: 1000, rateMs: 36_000 });
    const later = nextFireTime(rate, 1000 + 36_000 * 2.5, { originMs: 1000, rateMs: 36_000 });

    // Assess
    expect(first).toBe(37_000);
    expect(later).toBe(1000 + 36_000 * 3);
  });

  it('fires at() once, in its time zone', () => {
    // Prepare
    const at = parseScheduleExpression('at(2024-05-01T09:30:00)');

    // Act
    const before = nextFireTime(at, utc('2024-05-01T00:00:00Z'), { originMs: 0, timeZone: 'America/New_York' });
    const after = nextFireTime(at, utc('2024-05-01T14:00:00Z'), { originMs: 0, timeZone: 'America/New_York' });

    // Assess
    expect(iso(before)).toBe('2024-05-01T13:30:00.000Z');
    expect(after).toBeUndefined();
  });
});
