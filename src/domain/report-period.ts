/** A report's period: [from, to), epoch ms. */
export interface ReportPeriod {
  readonly from: Date;
  readonly to: Date;
}

/** ISO 8601 with a date, a time and an offset (`Z` or ±hh:mm): a time with no zone would be ambiguous. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/** A period's parameter that is missing or wrong, named. */
export interface PeriodError {
  readonly field: 'from' | 'to';
  readonly message: string;
}

/** Reads `from` and `to` (query parameters): both required ISO 8601 times, `from` before `to`. */
export function parsePeriod(query: Readonly<Record<string, unknown>>): ReportPeriod | PeriodError {
  const times: Partial<Record<'from' | 'to', Date>> = {};
  for (const field of ['from', 'to'] as const) {
    const raw = query[field];
    if (raw === undefined) {
      return { field, message: `${field} is required (an ISO 8601 time, e.g. 2026-01-01T00:00:00Z)` };
    }
    if (typeof raw !== 'string' || !ISO_TIME.test(raw) || !isRealTime(raw)) {
      return { field, message: `${field} must be one ISO 8601 time with a zone, e.g. 2026-01-01T00:00:00Z` };
    }
    times[field] = new Date(raw);
  }
  const { from, to } = times as Record<'from' | 'to', Date>;
  if (from.getTime() >= to.getTime()) return { field: 'to', message: 'to must be after from' };
  return { from, to };
}

/** Whether an ISO_TIME names a real day and time (JavaScript reads 2026-02-30 as March 2nd). */
function isRealTime(text: string): boolean {
  const [y, m, d, hh, mm] = text.split(/[-T:]/).map((x) => Number.parseInt(x, 10)) as [number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return m >= 1 && m <= 12 && d >= 1 && d <= daysInMonth && hh <= 23 && mm <= 59 && !Number.isNaN(Date.parse(text));
}

export const isPeriodError = (p: ReportPeriod | PeriodError): p is PeriodError => 'field' in p;

const DAY_MS = 86_400_000;

/** A period split into whole UTC days read from the roll-up (`rolled`, days as `YYYY-MM-DD`) and times read live. */
export interface PeriodPlan {
  readonly rolled?: { readonly fromDay: string; readonly toDay: string };
  readonly live: readonly ReportPeriod[];
}

/**
 * Splits a period: the whole UTC days inside it that are before `rolledUntil` (a UTC midnight:
 * the roll-up's end; undefined: nothing rolled) come from the roll-up, the rest (the partial
 * days at its ends, and the days not yet rolled) live.
 */
export function planPeriod(period: ReportPeriod, rolledUntil: Date | undefined): PeriodPlan {
  const from = period.from.getTime();
  const to = period.to.getTime();
  const firstDay = Math.ceil(from / DAY_MS) * DAY_MS;
  const endDay = Math.min(Math.floor(to / DAY_MS) * DAY_MS, rolledUntil?.getTime() ?? -Infinity);
  if (endDay <= firstDay) return { live: [period] };
  const live: ReportPeriod[] = [];
  if (from < firstDay) live.push({ from: period.from, to: new Date(firstDay) });
  if (endDay < to) live.push({ from: new Date(endDay), to: period.to });
  return { rolled: { fromDay: dayOf(firstDay), toDay: dayOf(endDay) }, live };
}

/** `YYYY-MM-DD` of a UTC midnight. */
export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Rolled days split into whole calendar months (read from the monthly roll-up) and the days around them. */
export interface RolledSplit {
  /** `[fromMonth, toMonth)`, first days of months (`YYYY-MM-01`). */
  readonly months?: { readonly fromMonth: string; readonly toMonth: string };
  /** `[fromDay, toDay)` ranges of days outside those months. */
  readonly days: readonly { readonly fromDay: string; readonly toDay: string }[];
}

/** Splits days `[fromDay, toDay)` (`YYYY-MM-DD`) into the whole months inside them and the rest. */
export function splitMonths(fromDay: string, toDay: string): RolledSplit {
  const firstMonth = fromDay.endsWith('-01') ? fromDay : nextMonth(fromDay);
  const endMonth = `${toDay.slice(0, 7)}-01`;
  if (firstMonth >= endMonth) return { days: [{ fromDay, toDay }] };
  const days = [];
  if (fromDay < firstMonth) days.push({ fromDay, toDay: firstMonth });
  if (endMonth < toDay) days.push({ fromDay: endMonth, toDay });
  return { months: { fromMonth: firstMonth, toMonth: endMonth }, days };
}

/** The first day of the month after the one of `day`. */
function nextMonth(day: string): string {
  const d = new Date(`${day.slice(0, 7)}-01T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + 1);
  return dayOf(d.getTime());
}
