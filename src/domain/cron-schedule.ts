import { instantOfWall, offsetAt } from './zoned-time';

/**
 * A cron schedule of five fields, `minute hour day-of-month month day-of-week`, as crontab(5)
 * reads it: `*`, numbers, ranges `1-5`, steps `*\/15` and `10-50/20`, lists `1,15`, names
 * (`jan`-`dec`, `sun`-`sat`; 0 and 7 are Sunday) and the macros `@hourly`, `@daily`
 * (`@midnight`), `@weekly`, `@monthly`, `@yearly` (`@annually`). As in Vixie cron, when both
 * day fields are restricted (neither starts with `*`) a day matches if EITHER does:
 * `0 2 1 * 6` is 02:00 on the 1st and on every Saturday.
 *
 * Pure: it answers "when did the schedule last start before T" (see {@link previousStart});
 * running tasks on a schedule is node-cron's business.
 */
export interface CronSchedule {
  /** As written. */
  readonly text: string;
  /** Allowed minutes and hours, ascending. */
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly days: ReadonlySet<number>;
  /** 1 to 12. */
  readonly months: ReadonlySet<number>;
  /** 0 (Sunday) to 6. */
  readonly weekdays: ReadonlySet<number>;
  /** The day-of-month field starts with `*` (so only the day-of-week field restricts days). */
  readonly anyDay: boolean;
  /** The day-of-week field starts with `*`. */
  readonly anyWeekday: boolean;
}

export class CronSyntaxError extends Error {
  constructor(readonly input: string, reason: string) {
    super(`invalid schedule ${JSON.stringify(input)}: ${reason}`);
    this.name = 'CronSyntaxError';
  }
}

interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Names for min, min + 1, ... */
  readonly names?: readonly string[];
}

const FIELDS: readonly Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  {
    name: 'month', min: 1, max: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};

/** The longest each month can be (February in a leap year). */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Parses a schedule; throws {@link CronSyntaxError} naming the field, or when the schedule never occurs. */
export function parseCron(text: string): CronSchedule {
  const expanded = MACROS[text.trim().toLowerCase()] ?? text;
  const parts = expanded.trim().split(/\s+/).filter((p) => p !== '');
  if (parts.length !== 5) {
    const reason = `expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`;
    throw new CronSyntaxError(text, reason);
  }
  const sets = parts.map((part, i) => parseField(text, part, FIELDS[i] as Field));
  const weekdays = new Set([...(sets[4] as Set<number>)].map((d) => d % 7));
  const schedule: CronSchedule = {
    text,
    minutes: [...(sets[0] as Set<number>)].sort((a, b) => a - b),
    hours: [...(sets[1] as Set<number>)].sort((a, b) => a - b),
    days: sets[2] as Set<number>,
    months: sets[3] as Set<number>,
    weekdays,
    anyDay: (parts[2] as string).startsWith('*'),
    anyWeekday: (parts[4] as string).startsWith('*'),
  };
  // Both day fields must hold (one is `*`): some chosen month must have some chosen day.
  const dayExists = [...schedule.months]
    .some((m) => [...schedule.days].some((d) => d <= (MONTH_DAYS[m - 1] as number)));
  if ((schedule.anyDay || schedule.anyWeekday) && !dayExists) {
    throw new CronSyntaxError(text, 'it never occurs: no month in it has those days');
  }
  return schedule;
}

function parseField(input: string, text: string, field: Field): Set<number> {
  const fail = (reason: string): never => {
    throw new CronSyntaxError(input, `${field.name} ${JSON.stringify(text)}: ${reason}`);
  };
  const value = (word: string): number => {
    const named = field.names?.indexOf(word.toLowerCase()) ?? -1;
    if (named >= 0) return field.min + named;
    if (!/^\d{1,2}$/.test(word)) {
      return fail(`expected a number${field.names ? ' or a name' : ''}, got ${JSON.stringify(word)}`);
    }
    const n = Number(word);
    if (n < field.min || n > field.max) return fail(`${n} is outside ${field.min}-${field.max}`);
    return n;
  };
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(item);
    if (m === null) return fail(`expected *, a value, a range a-b, each with an optional /step`);
    const [, range, stepText] = m as unknown as [string, string, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) fail('a step must be at least 1');
    let lo: number;
    let hi: number;
    if (range === '*') {
      [lo, hi] = [field.min, field.max];
    } else if (range.includes('-')) {
      const [a, b, ...rest] = range.split('-');
      if (rest.length > 0 || a === undefined || b === undefined) return fail('expected a range a-b');
      [lo, hi] = [value(a), value(b)];
      if (lo > hi) fail(`a range must go upwards (${a}-${b})`);
    } else {
      lo = value(range);
      // `5/15` is `5-59/15`, as most crons read it; `5` alone is just 5.
      hi = stepText === undefined ? lo : field.max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/** Whether the schedule runs on a day (the calendar's month, day and weekday, 0 Sunday). */
export function runsOnDay(s: CronSchedule, month: number, day: number, weekday: number): boolean {
  if (!s.months.has(month)) return false;
  const dom = s.days.has(day);
  const dow = s.weekdays.has(weekday);
  return s.anyDay || s.anyWeekday ? dom && dow : dom || dow;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** More than any change of a zone's offset (clocks move 1 h, rarely 2 h): the wall-time slack of a search. */
const SLACK_MS = 3 * HOUR_MS;

/** The schedule's wall times (as UTC timestamps of their fields), latest first, within [low, high]. */
function* wallTimesDown(s: CronSchedule, high: number, low: number): Generator<number, void, undefined> {
  for (let day = Math.floor(high / DAY_MS) * DAY_MS; day >= Math.floor(low / DAY_MS) * DAY_MS; day -= DAY_MS) {
    const d = new Date(day);
    if (!runsOnDay(s, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCDay())) continue;
    for (let h = s.hours.length - 1; h >= 0; h--) {
      for (let m = s.minutes.length - 1; m >= 0; m--) {
        const t = day + (s.hours[h] as number) * HOUR_MS + (s.minutes[m] as number) * MINUTE_MS;
        if (t > high) continue;
        if (t < low) return;
        yield t;
      }
    }
  }
}

/**
 * The latest instant at or before `at`, and not before `notBefore`, at which the schedule
 * starts in time zone `zone`; undefined if none. Wall times are taken as the zone's clocks show
 * them, through daylight-saving changes: a time the clocks skip runs that much later (02:30 on
 * the day clocks jump from 02:00 to 03:00 is 03:30), a time they repeat runs once, the first time.
 */
export function previousStart(s: CronSchedule, zone: string, at: number, notBefore: number): number | undefined {
  const offset = offsetAt(at, zone);
  if (offsetAt(notBefore - DAY_MS, zone) === offset && offsetAt(at + DAY_MS, zone) === offset) {
    // No offset change in the span (most of the year): wall time is the instant plus one offset.
    const wall = wallTimesDown(s, at + offset, notBefore + offset).next();
    return wall.done === true ? undefined : wall.value - offset;
  }
  const high = at + offset + SLACK_MS;
  const low = notBefore + offsetAt(notBefore, zone) - SLACK_MS;
  let best: { ms: number; wall: number } | undefined;
  for (const wall of wallTimesDown(s, high, low)) {
    // Around an offset change, wall order and instant order may differ by up to the slack.
    if (best !== undefined && wall < best.wall - SLACK_MS) break;
    const ms = instantOfWall(wall, zone);
    if (ms <= at && ms >= notBefore && (best === undefined || ms > best.ms)) best = { ms, wall };
  }
  return best?.ms;
}

/** One run of a schedule with a duration: from `start` (inclusive) to `end` (exclusive), epoch ms. */
export interface Occurrence {
  readonly start: number;
  readonly end: number;
}

/**
 * The occurrence of `schedule` + `durationMs` that covers instant `at`, if any. When
 * occurrences overlap (a duration longer than the gap between starts), the latest started,
 * which ends last. The duration is elapsed time, not wall time: `2h` from 01:00 on the night
 * clocks go back ends at 02:00 on the wall.
 */
export function occurrenceAt(s: CronSchedule, zone: string, durationMs: number, at: number): Occurrence | undefined {
  const start = previousStart(s, zone, at, at - durationMs + 1);
  return start === undefined ? undefined : { start, end: start + durationMs };
}
