/**
 * EventBridge schedule expressions: `rate(5 minutes)`, `cron(0 2 * * ? *)` (six fields: minutes, hours,
 * day-of-month, month, day-of-week, year, with `, - * / ? L W #`) and Scheduler's one-time
 * `at(2024-05-01T09:30:00)`, each parsed with the rules AWS applies, and the next time each fires in a
 * time zone.
 */
import { awsDayOfWeek, daysInMonth, instantOf, isTimeZone, wallTimeOf } from './zoned-time';

/** Raised for an expression or time zone AWS would refuse; the message names the rule broken. */
export class ScheduleExpressionError extends Error {
  constructor(expression: string, rule: string) {
    super(`schedule expression ${JSON.stringify(expression)}: ${rule}`);
    this.name = 'ScheduleExpressionError';
  }
}

/** Day-of-month and day-of-week rules that depend on the month they fall in. */
type DaySpec =
  | { kind: 'any' }
  | { kind: 'days'; days: Set<number> }
  | { kind: 'last'; offset: number }
  | { kind: 'lastWeekday' }
  | { kind: 'nearestWeekday'; day: number }
  | { kind: 'weekdays'; days: Set<number> }
  | { kind: 'lastOfWeekday'; weekday: number }
  | { kind: 'nthWeekday'; weekday: number; nth: number };

export interface CronExpression {
  minutes: number[];
  hours: number[];
  months: Set<number>;
  years: Set<number>;
  dayOfMonth: DaySpec;
  dayOfWeek: DaySpec;
}

export type ScheduleExpression =
  | { kind: 'rate'; seconds: number }
  | { kind: 'cron'; cron: CronExpression }
  | { kind: 'at'; wall: { year: number; month: number; day: number; hour: number; minute: number; second: number } };

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const MAX_YEAR = 2199;

interface FieldRule {
  name: string;
  min: number;
  max: number;
  names?: string[];
}

const FIELDS: Record<'minutes' | 'hours' | 'dayOfMonth' | 'month' | 'dayOfWeek' | 'year', FieldRule> = {
  minutes: { name: 'Minutes', min: 0, max: 59 },
  hours: { name: 'Hours', min: 0, max: 23 },
  dayOfMonth: { name: 'Day-of-month', min: 1, max: 31 },
  month: { name: 'Month', min: 1, max: 12, names: MONTHS },
  dayOfWeek: { name: 'Day-of-week', min: 1, max: 7, names: WEEKDAYS },
  year: { name: 'Year', min: 1970, max: MAX_YEAR },
};

/** Reads `, - * /` lists of numbers (or names) within the field's range. */
function parseList(text: string, rule: FieldRule, expression: string): Set<number> {
  const fail = (why: string) => new ScheduleExpressionError(expression, `${rule.name} field "${text}": ${why}`);
  const value = (token: string): number => {
    const upper = token.toUpperCase();
    const named = rule.names?.indexOf(upper) ?? -1;
    const number = named >= 0 ? named + rule.min : /^\d+$/.test(token) ? Number(token) : Number.NaN;
    if (Number.isNaN(number)) throw fail(`"${token}" is not a number${rule.names ? ` or one of ${rule.names.join(', ')}` : ''}`);
    if (number < rule.min || number > rule.max) throw fail(`${number} is outside ${rule.min}-${rule.max}`);
    return number;
  };
  const values = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') throw fail('an empty list item');
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined) throw fail(`"${item}" has more than one /`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) throw fail(`the increment in "${item}" must be a positive whole number`);
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (range === '*') {
      from = rule.min;
      to = rule.max;
    } else if (range!.includes('-')) {
      const [a, b, more] = range!.split('-');
      if (more !== undefined || !a || !b) throw fail(`"${range}" is not a range a-b`);
      from = value(a);
      to = value(b);
      if (from > to) throw fail(`the range ${range} runs backwards`);
    } else {
      from = value(range!);
      to = stepText !== undefined ? rule.max : from;
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

function parseDayOfMonth(text: string, expression: string): DaySpec {
  if (text === '?') return { kind: 'any' };
  if (text === 'L') return { kind: 'last', offset: 0 };
  const lastOffset = /^L-(\d+)$/.exec(text);
  if (lastOffset) {
    const offset = Number(lastOffset[1]);
    if (offset > 30) throw new ScheduleExpressionError(expression, `Day-of-month field "${text}": the offset from the last day must be 0-30`);
    return { kind: 'last', offset };
  }
  if (text === 'LW') return { kind: 'lastWeekday' };
  const weekday = /^(\d+)W$/.exec(text);
  if (weekday) {
    const day = Number(weekday[1]);
    if (day < 1 || day > 31) throw new ScheduleExpressionError(expression, `Day-of-month field "${text}": W needs a day 1-31`);
    return { kind: 'nearestWeekday', day };
  }
  return { kind: 'days', days: parseList(text, FIELDS.dayOfMonth, expression) };
}

function parseDayOfWeek(text: string, expression: string): DaySpec {
  if (text === '?') return { kind: 'any' };
  const weekday = (token: string) => [...parseList(token, FIELDS.dayOfWeek, expression)][0]!;
  const last = /^([0-9A-Za-z]+)L$/.exec(text);
  if (last) return { kind: 'lastOfWeekday', weekday: weekday(last[1]!) };
  if (text === 'L') return { kind: 'weekdays', days: new Set([7]) };
  const nth = /^([0-9A-Za-z]+)#(\d)$/.exec(text);
  if (nth) {
    const n = Number(nth[2]);
    if (n < 1 || n > 5) throw new ScheduleExpressionError(expression, `Day-of-week field "${text}": the occurrence after # must be 1-5`);
    return { kind: 'nthWeekday', weekday: weekday(nth[1]!), nth: n };
  }
  return { kind: 'weekdays', days: parseList(text, FIELDS.dayOfWeek, expression) };
}

/** Parses the six fields of an AWS cron expression. */
export function parseCron(fieldsText: string, expression = `cron(${fieldsText})`): CronExpression {
  const fields = fieldsText.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new ScheduleExpressionError(expression, `cron needs 6 fields (minutes hours day-of-month month day-of-week year); got ${fields.length}`);
  }
  const [minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields as [string, string, string, string, string, string];
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
    throw new ScheduleExpressionError(expression, 'exactly one of day-of-month and day-of-week must be ? (AWS cannot combine them)');
  }
  for (const [text, rule] of [
    [minutes, FIELDS.minutes],
    [hours, FIELDS.hours],
    [month, FIELDS.month],
    [year, FIELDS.year],
  ] as const) {
    if (text === '?') throw new ScheduleExpressionError(expression, `${rule.name} field: ? is only allowed in day-of-month or day-of-week`);
  }
  return {
    minutes: [...parseList(minutes, FIELDS.minutes, expression)].sort((a, b) => a - b),
    hours: [...parseList(hours, FIELDS.hours, expression)].sort((a, b) => a - b),
    months: parseList(month, FIELDS.month, expression),
    years: parseList(year, FIELDS.year, expression),
    dayOfMonth: parseDayOfMonth(dayOfMonth, expression),
    dayOfWeek: parseDayOfWeek(dayOfWeek, expression),
  };
}

/** Parses a schedule expression as EventBridge does. */
export function parseScheduleExpression(expression: string): ScheduleExpression {
  const text = expression.trim();
  const rate = /^rate\((.*)\)$/.exec(text);
  if (rate) {
    const match = /^(\d+)\s+(minute|minutes|hour|hours|day|days)$/.exec(rate[1]!.trim());
    if (!match) throw new ScheduleExpressionError(expression, 'rate needs a whole number and a unit: rate(5 minutes), rate(1 hour), rate(2 days)');
    const value = Number(match[1]);
    const unit = match[2]!;
    if (value < 1) throw new ScheduleExpressionError(expression, 'the rate value must be a positive whole number');
    if ((value === 1) !== !unit.endsWith('s')) {
      throw new ScheduleExpressionError(expression, `the unit must be singular for 1 and plural otherwise (rate(1 ${unit.replace(/s$/, '')}), rate(${value === 1 ? 2 : value} ${unit.replace(/s?$/, 's')}))`);
    }
    const unitSeconds = unit.startsWith('minute') ? 60 : unit.startsWith('hour') ? 3600 : 86_400;
    return { kind: 'rate', seconds: value * unitSeconds };
  }
  const cron = /^cron\((.*)\)$/.exec(text);
  if (cron) return { kind: 'cron', cron: parseCron(cron[1]!, expression) };
  const at = /^at\((\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\)$/.exec(text);
  if (at) {
    const [year, month, day, hour, minute, second] = at.slice(1).map(Number) as [number, number, number, number, number, number];
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
      throw new ScheduleExpressionError(expression, 'at() holds a date-time that does not exist');
    }
    return { kind: 'at', wall: { year, month, day, hour, minute, second } };
  }
  throw new ScheduleExpressionError(expression, 'must be rate(<value> <unit>), cron(<6 fields>) or at(yyyy-mm-ddThh:mm:ss)');
}

/** Checks an IANA time zone name (`ScheduleExpressionTimezone`). */
export function checkTimeZone(timeZone: string): string {
  if (!isTimeZone(timeZone)) throw new ScheduleExpressionError(timeZone, 'the time zone is not an IANA name such as UTC or Europe/Paris');
  return timeZone;
}

function isWeekday(year: number, month: number, day: number): boolean {
  const dow = awsDayOfWeek(year, month, day);
  return dow !== 1 && dow !== 7;
}

/** The weekday nearest to `day` within its month (W). */
function nearestWeekday(year: number, month: number, day: number): number {
  const last = daysInMonth(year, month);
  const target = Math.min(day, last);
  if (isWeekday(year, month, target)) return target;
  const dow = awsDayOfWeek(year, month, target);
  if (dow === 7) return target === 1 ? 3 : target - 1;
  return target === last ? target - 2 : target + 1;
}

/** Days of `month` the cron's day fields allow, ascending. */
function matchingDays(cron: CronExpression, year: number, month: number): number[] {
  const last = daysInMonth(year, month);
  const days: number[] = [];
  for (let day = 1; day <= last; day += 1) {
    const dom = cron.dayOfMonth;
    const dow = cron.dayOfWeek;
    const weekday = awsDayOfWeek(year, month, day);
    let ok: boolean;
    if (dom.kind !== 'any') {
      ok =
        (dom.kind === 'days' && dom.days.has(day)) ||
        (dom.kind === 'last' && day === last - dom.offset) ||
        (dom.kind === 'lastWeekday' && day === nearestWeekday(year, month, last)) ||
        (dom.kind === 'nearestWeekday' && day === nearestWeekday(year, month, dom.day));
    } else {
      ok =
        (dow.kind === 'weekdays' && dow.days.has(weekday)) ||
        (dow.kind === 'lastOfWeekday' && weekday === dow.weekday && day + 7 > last) ||
        (dow.kind === 'nthWeekday' && weekday === dow.weekday && Math.ceil(day / 7) === dow.nth);
    }
    if (ok) days.push(day);
  }
  return days;
}

/** The first instant after `afterMs` at which `cron` fires in `timeZone`, or `undefined` if it never does again. */
export function nextCronTime(cron: CronExpression, afterMs: number, timeZone = 'UTC'): number | undefined {
  const start = wallTimeOf(afterMs, timeZone);
  for (let year = start.year; year <= MAX_YEAR; year += 1) {
    if (!cron.years.has(year)) continue;
    for (let month = year === start.year ? start.month : 1; month <= 12; month += 1) {
      if (!cron.months.has(month)) continue;
      const sameMonth = year === start.year && month === start.month;
      for (const day of matchingDays(cron, year, month)) {
        if (sameMonth && day < start.day) continue;
        const sameDay = sameMonth && day === start.day;
        for (const hour of cron.hours) {
          if (sameDay && hour < start.hour) continue;
          for (const minute of cron.minutes) {
            if (sameDay && hour === start.hour && minute < start.minute) continue;
            const instant = instantOf({ year, month, day, hour, minute, second: 0 }, timeZone);
            // A time the clock skips when daylight-saving time starts does not fire.
            if (instant !== undefined && instant > afterMs) return instant;
          }
        }
      }
    }
  }
  return undefined;
}

/**
 * When a schedule next fires after `afterMs`. A rate counts from `originMs` (when the schedule started) in
 * steps of `rateMs` (its period on the local time scale); cron and at() follow the wall clock of `timeZone`.
 */
export function nextFireTime(
  schedule: ScheduleExpression,
  afterMs: number,
  options: { timeZone?: string; originMs: number; rateMs?: number },
): number | undefined {
  switch (schedule.kind) {
    case 'rate': {
      const period = options.rateMs ?? schedule.seconds * 1000;
      const steps = Math.floor((afterMs - options.originMs) / period) + 1;
      return options.originMs + Math.max(1, steps) * period;
    }
    case 'cron':
      return nextCronTime(schedule.cron, afterMs, options.timeZone);
    case 'at': {
      const instant = instantOf(schedule.wall, options.timeZone ?? 'UTC');
      return instant !== undefined && instant > afterMs ? instant : undefined;
    }
  }
}
