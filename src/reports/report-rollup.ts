import { sql, type Kysely } from 'kysely';
import { dayOf } from '../domain/report-period';
import type { Database } from '../store/database';
import { durationsQuery, statsQuery } from './incident-stats';

/** The first key of the roll-up's advisory lock: "QRPT". */
const ROLLUP_LOCK_CLASS = 0x5152_5054;
const DAY_MS = 86_400_000;

/** What a roll-up did: the days [fromDay, toDay) it (re)computed. */
export interface RollupResult {
  readonly fromDay: string;
  readonly toDay: string;
}

/**
 * Rolls up the closed UTC days (before `now`'s day) into `incident_daily` and
 * `incident_durations_daily`, and their months into the monthly tables: the days not rolled yet,
 * and again the last `settleDays` rolled ones, since an incident opened then may still change
 * (alerts join it, its priority moves, a reopening clears its resolve). A closed day's
 * acknowledgements and resolves do not move: only those attributes of its incidents do.
 * Idempotent (each day's rows are replaced), in one transaction, and one process at a time
 * (another one running it meanwhile skips: undefined).
 */
export async function rollUpReports(
  db: Kysely<Database>, now: Date, settleDays: number,
): Promise<RollupResult | undefined> {
  return db.transaction().execute(async (trx) => {
    const { rows: [lock] } = await sql<{ ok: boolean }>`
      select pg_try_advisory_xact_lock(${ROLLUP_LOCK_CLASS}::int4, 0) as ok`.execute(trx);
    if (!lock?.ok) return undefined;
    const toDay = dayOf(Math.floor(now.getTime() / DAY_MS) * DAY_MS);
    const state = await trx.selectFrom('report_rollup').select(sql<string>`rolled_until::text`.as('day'))
      .executeTakeFirst();
    let fromDay: string;
    if (state !== undefined) {
      fromDay = dayOf(Date.parse(`${state.day}T00:00:00Z`) - settleDays * DAY_MS);
    } else {
      const first = await trx.selectFrom('incidents')
        .select(sql<string | null>`(min(opened_at) at time zone 'UTC')::date::text`.as('day'))
        .executeTakeFirst();
      fromDay = first?.day ?? toDay;
    }
    if (fromDay < toDay) {
      for (const table of ['incident_daily', 'incident_durations_daily'] as const) {
        await trx.deleteFrom(table).where(sql<boolean>`day >= ${fromDay}::date and day < ${toDay}::date`).execute();
      }
      const from = `${fromDay}T00:00:00Z`;
      const to = `${toDay}T00:00:00Z`;
      await sql`insert into incident_daily (day, priority, service, opened, alerts, acknowledged, tta_seconds, resolved,
          ttr_seconds, reopened) ${statsQuery(from, to, true)}`.execute(trx);
      await sql`insert into incident_durations_daily (day, priority, measure, bucket, n)
        ${durationsQuery(from, to, true, ['tta', 'ttr'])}`.execute(trx);
      // The months those days are in, summed again from all their rolled days.
      const fromMonth = `${fromDay.slice(0, 7)}-01`;
      for (const table of ['incident_monthly', 'incident_durations_monthly'] as const) {
        await trx.deleteFrom(table).where(sql<boolean>`month >= ${fromMonth}::date and month < ${toDay}::date`)
          .execute();
      }
      await sql`insert into incident_monthly (month, priority, service, opened, alerts, acknowledged, tta_seconds,
          resolved, ttr_seconds, reopened)
        select date_trunc('month', day)::date, priority, service, sum(opened), sum(alerts), sum(acknowledged),
          sum(tta_seconds), sum(resolved), sum(ttr_seconds), sum(reopened)
        from incident_daily where day >= ${fromMonth}::date and day < ${toDay}::date group by 1, 2, 3`.execute(trx);
      await sql`insert into incident_durations_monthly (month, priority, measure, bucket, n)
        select date_trunc('month', day)::date, priority, measure, bucket, sum(n)
        from incident_durations_daily where day >= ${fromMonth}::date and day < ${toDay}::date
        group by 1, 2, 3, 4`.execute(trx);
    }
    await trx.insertInto('report_rollup').values({ one: true, rolled_until: toDay, rolled_at: now })
      .onConflict((oc) => oc.column('one').doUpdateSet({ rolled_until: toDay, rolled_at: now })).execute();
    return { fromDay, toDay };
  });
}
