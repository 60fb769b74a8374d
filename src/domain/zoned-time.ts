/**
 * Wall-clock time in IANA time zones, from the runtime's time zone data (Intl): what a clock
 * on the wall in `Europe/Berlin` shows at an instant, and the instant a wall time names.
 */

/** A time as a clock on the wall shows it, to the minute. */
export interface WallTime {
  readonly year: number;
  /** 1 to 12. */
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
}

const DAY_MS = 86_400_000;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(zone, f);
  }
  return f;
}

/** Whether the runtime knows `zone` as an IANA time zone name (`UTC`, `Europe/Berlin`). */
export function isTimeZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

/** The wall clock's fields at instant `ms`, with seconds, as a UTC timestamp of those fields. */
function wallMs(ms: number, zone: string): number {
  const p: Record<string, number> = {};
  for (const part of formatter(zone).formatToParts(ms)) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  return Date.UTC(p['year'] as number, (p['month'] as number) - 1, p['day'], p['hour'], p['minute'], p['second']);
}

/** What a wall clock in `zone` shows at instant `ms`. */
export function wallTimeOf(ms: number, zone: string): WallTime {
  return wallFields(wallMs(ms, zone));
}

/** The fields of a "naive" time: a wall time held as the UTC timestamp with the same fields. */
export function wallFields(naive: number): WallTime {
  const d = new Date(naive);
  return {
    year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(),
    hour: d.getUTCHours(), minute: d.getUTCMinutes(),
  };
}

/** How far the wall clock in `zone` is ahead of UTC at instant `ms`, in milliseconds. */
export function offsetAt(ms: number, zone: string): number {
  return wallMs(ms, zone) - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant at which a wall clock in `zone` shows `naive` (a wall time as the UTC timestamp
 * with the same fields), as cron daemons and Temporal's "compatible" rule decide:
 * - a wall time that happens twice (the hour repeated when clocks go back) is the first;
 * - a wall time that never happens (the hour skipped when clocks go forward) is moved forward by
 *   the length of the skip: 02:30 on a day that jumps from 02:00 to 03:00 is 03:30.
 */
export function instantOfWall(naive: number, zone: string): number {
  // An offset changes at most once within a day or so of any instant (true of every real zone).
  const before = offsetAt(naive - DAY_MS, zone);
  const after = offsetAt(naive + DAY_MS, zone);
  if (before === after) return naive - before;
  const valid = [...new Set([before, after])].map((o) => naive - o).filter((ms) => wallMs(ms, zone) === naive);
  if (valid.length > 0) return Math.min(...valid);
  return naive - before;
}
