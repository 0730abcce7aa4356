/**
 * Wall-clock time in an IANA time zone, with nothing but `Intl`: the parts of an instant as a clock in that
 * zone shows them, and the instant a wall-clock time stands for (none in a daylight-saving gap).
 */

/** A wall-clock time; `month` is 1-12. */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  return format;
}

/** True when `timeZone` is an IANA zone name this runtime knows (`UTC`, `Europe/Paris`, ...). */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** What a clock in `timeZone` shows at the instant `ms`. */
export function wallTimeOf(ms: number, timeZone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(ms))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! };
}

function asUtc(wall: WallTime): number {
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
}

/**
 * The instant a clock in `timeZone` shows `wall`, or `undefined` when it never does (the hour skipped when
 * daylight-saving time starts). Of the two instants of the hour repeated when it ends, the first.
 */
export function instantOf(wall: WallTime, timeZone: string): number | undefined {
  const guess = asUtc(wall);
  const offsetAt = (ms: number) => asUtc(wallTimeOf(ms, timeZone)) - ms;
  const first = guess - offsetAt(guess - 86_400_000 / 2);
  const candidates = [first, guess - offsetAt(guess), guess - offsetAt(first)].sort((a, b) => a - b);
  return candidates.find((ms) => asUtc(wallTimeOf(ms, timeZone)) === guess);
}

/** Days in `month` (1-12) of `year`. */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Day of the week of a date, 1 (Sunday) to 7 (Saturday), as AWS cron counts. */
export function awsDayOfWeek(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;
}
