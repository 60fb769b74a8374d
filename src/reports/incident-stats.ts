import { sql, type Kysely, type RawBuilder } from 'kysely';
import { addTo, bucketSql, type Histogram } from '../domain/duration-histogram';
import { planPeriod, splitMonths, type PeriodPlan, type ReportPeriod } from '../domain/report-period';
import type { Database } from '../store/database';

/**
 * What the KPI reports are computed from, per priority and service, for a period: the roll-up of
 * the whole days it covers (src/reports/report-rollup.ts; whole months from the monthly one) plus
 * a live read of `incidents` for the rest (today, the partial days at its ends). Each figure
 * belongs to the time its event happened:
 *
 * - opened, alerts: incidents whose `opened_at` is in the period, and their `alert_count`;
 * - acknowledged, ttaSeconds: incidents whose `acknowledged_at` is in it, and the sum of
 *   `acknowledged_at - opened_at`;
 * - resolved, ttrSeconds: likewise with `resolved_at`;
 * - reopened: `reopened` timeline events in it.
 *
 * An incident is counted under its priority and service as they are when read (rolled).
 */
export interface IncidentStats {
  readonly priority: number;
  /** '' for incidents with no service. */
  readonly service: string;
  readonly opened: number;
  readonly alerts: number;
  readonly acknowledged: number;
  readonly ttaSeconds: number;
  readonly resolved: number;
  readonly ttrSeconds: number;
  readonly reopened: number;
}

/** Time to acknowledge or time to resolve. */
export type DurationMeasure = 'tta' | 'ttr';

const DURATION_COLUMN: Readonly<Record<DurationMeasure, string>> = { tta: 'acknowledged_at', ttr: 'resolved_at' };

type Db = Kysely<Database>;
type Time = Date | string;

/** `(col at time zone 'UTC')::date` when rolling up by day; nothing otherwise. */
const dayOf = (byDay: boolean, col: string): RawBuilder<unknown> =>
  byDay ? sql`(${sql.raw(col)} at time zone 'UTC')::date as day, ` : sql``;

const seconds = (col: string): string => `greatest(0, extract(epoch from ${col} - opened_at)::float8)`;

/**
 * The figures of IncidentStats for [from, to) from `incidents` and `incident_events`, by priority
 * and service (and by day).
 */
export function statsQuery(from: Time, to: Time, byDay: boolean): RawBuilder<unknown> {
  const range = (col: string) => sql`${sql.raw(col)} >= ${from} and ${sql.raw(col)} < ${to}`;
  const day = byDay ? sql`day, ` : sql``;
  return sql`select ${day}priority, service, sum(opened)::int as opened, sum(alerts)::bigint as alerts,
      sum(acknowledged)::int as acknowledged, sum(tta)::float8 as tta_seconds, sum(resolved)::int as resolved,
      sum(ttr)::float8 as ttr_seconds, sum(reopened)::int as reopened
    from (
      select ${dayOf(byDay, 'opened_at')}priority, coalesce(service, '') as service, 1 as opened, alert_count as alerts,
        0 as acknowledged, 0::float8 as tta, 0 as resolved, 0::float8 as ttr, 0 as reopened
        from incidents where ${range('opened_at')}
      union all
      select ${dayOf(byDay, 'acknowledged_at')}priority, coalesce(service, ''), 0, 0, 1,
          ${sql.raw(seconds('acknowledged_at'))}, 0, 0, 0
        from incidents where ${range('acknowledged_at')}
      union all
      select ${dayOf(byDay, 'resolved_at')}priority, coalesce(service, ''), 0, 0, 0, 0, 1,
          ${sql.raw(seconds('resolved_at'))}, 0
        from incidents where ${range('resolved_at')}
      union all
      select ${dayOf(byDay, 'e.at')}i.priority, coalesce(i.service, ''), 0, 0, 0, 0, 0, 0, 1
        from incident_events e join incidents i on i.id = e.incident_id where e.kind = 'reopened' and ${range('e.at')}
    ) x group by ${day}priority, service`;
}

/** Histogram counts of the measures' durations for [from, to), by priority and bucket (and by day). */
export function durationsQuery(
  from: Time, to: Time, byDay: boolean, measures: readonly DurationMeasure[],
): RawBuilder<unknown> {
  const day = byDay ? sql`day, ` : sql``;
  const parts = measures.map((m) => {
    const col = DURATION_COLUMN[m];
    return sql`select ${dayOf(byDay, col)}priority, ${m}::text as measure, ${sql.raw(bucketSql(seconds(col)))} as bucket
      from incidents where ${sql.raw(col)} >= ${from} and ${sql.raw(col)} < ${to}`;
  });
  return sql`select ${day}priority, measure, bucket, count(*)::int as n
    from (${sql.join(parts, sql` union all `)}) x group by ${day}priority, measure, bucket`;
}

/** A range of a roll-up table: `daily` (by `day`) or `monthly` (by `month`), `[from, to)` as dates. */
interface RolledRange {
  readonly table: 'daily' | 'monthly';
  readonly key: 'day' | 'month';
  readonly from: string;
  readonly to: string;
}

/** The rolled days of a plan: their whole months from the monthly tables, the other days from the daily ones. */
function rolledRanges(plan: PeriodPlan): RolledRange[] {
  if (plan.rolled === undefined) return [];
  const split = splitMonths(plan.rolled.fromDay, plan.rolled.toDay);
  const ranges: RolledRange[] = split.days.map((d) => ({ table: 'daily', key: 'day', from: d.fromDay, to: d.toDay }));
  if (split.months) {
    ranges.push({ table: 'monthly', key: 'month', from: split.months.fromMonth, to: split.months.toMonth });
  }
  return ranges;
}

/** The roll-up's end (a UTC midnight), or undefined when nothing is rolled up. */
export async function rolledUntil(db: Db): Promise<Date | undefined> {
  const row = await db.selectFrom('report_rollup').select(sql<string>`rolled_until::text`.as('day')).executeTakeFirst();
  return row === undefined ? undefined : new Date(`${row.day}T00:00:00Z`);
}

interface StatsDbRow {
  priority: number; service: string; opened: number; alerts: string; acknowledged: number;
  tta_seconds: number; resolved: number; ttr_seconds: number; reopened: number;
}

/** The period's IncidentStats, one per priority and service that has any. */
export async function readStats(db: Db, period: ReportPeriod): Promise<IncidentStats[]> {
  const plan = planPeriod(period, await rolledUntil(db));
  const parts: Promise<{ rows: StatsDbRow[] }>[] = plan.live.map((p) =>
    statsQuery(p.from, p.to, false).execute(db) as Promise<{ rows: StatsDbRow[] }>);
  for (const r of rolledRanges(plan)) {
    parts.push(sql<StatsDbRow>`select priority, service, sum(opened)::int as opened, sum(alerts)::bigint as alerts,
        sum(acknowledged)::int as acknowledged, sum(tta_seconds)::float8 as tta_seconds, sum(resolved)::int as resolved,
        sum(ttr_seconds)::float8 as ttr_seconds, sum(reopened)::int as reopened
      from ${sql.table(`incident_${r.table}`)}
      where ${sql.ref(r.key)} >= ${r.from}::date and ${sql.ref(r.key)} < ${r.to}::date
      group by priority, service`.execute(db));
  }
  const merged = new Map<string, IncidentStats>();
  for (const { rows } of await Promise.all(parts)) {
    for (const r of rows) {
      const key = `${r.priority} ${r.service}`;
      const s = merged.get(key);
      merged.set(key, {
        priority: r.priority, service: r.service,
        opened: (s?.opened ?? 0) + r.opened, alerts: (s?.alerts ?? 0) + Number(r.alerts),
        acknowledged: (s?.acknowledged ?? 0) + r.acknowledged, ttaSeconds: (s?.ttaSeconds ?? 0) + r.tta_seconds,
        resolved: (s?.resolved ?? 0) + r.resolved, ttrSeconds: (s?.ttrSeconds ?? 0) + r.ttr_seconds,
        reopened: (s?.reopened ?? 0) + r.reopened,
      });
    }
  }
  return [...merged.values()];
}

/** The period's histogram of a measure's durations, by priority (src/domain/duration-histogram.ts). */
export async function readDurations(
  db: Db, period: ReportPeriod, measure: DurationMeasure,
): Promise<Map<number, Histogram>> {
  type Row = { priority: number; bucket: number; n: number };
  const plan = planPeriod(period, await rolledUntil(db));
  const parts: Promise<{ rows: Row[] }>[] = plan.live.map((p) =>
    durationsQuery(p.from, p.to, false, [measure]).execute(db) as Promise<{ rows: Row[] }>);
  for (const r of rolledRanges(plan)) {
    parts.push(sql<Row>`select priority, bucket, sum(n)::int as n from ${sql.table(`incident_durations_${r.table}`)}
      where measure = ${measure} and ${sql.ref(r.key)} >= ${r.from}::date and ${sql.ref(r.key)} < ${r.to}::date
      group by priority, bucket`.execute(db));
  }
  const out = new Map<number, Map<number, number>>();
  for (const { rows } of await Promise.all(parts)) {
    for (const r of rows) {
      let h = out.get(r.priority);
      if (h === undefined) out.set(r.priority, h = new Map<number, number>());
      addTo(h, r.bucket, r.n);
    }
  }
  return out;
}
