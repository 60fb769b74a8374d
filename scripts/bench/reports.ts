/**
 * `npm run bench -- reports`: the KPI reports over a year of incidents (issue 7: one million
 * answer in under a second). Makes a fresh database, fills it with one INSERT … SELECT
 * generate_series (incidents over the year before now, with priorities, services, alert counts,
 * acknowledge and resolve times, and `reopened` events for some), rolls up the closed days as
 * the hourly job does, then times each report over the full year and over the last month:
 * through the roll-up, and read wholly live (no roll-up) for comparison.
 *
 *   BENCH_INCIDENTS    incidents (default 1,000,000)
 *   BENCH_SERVICES     distinct services (default 50)
 *   BENCH_RUNS         runs of each report; the median is shown (default 3)
 *   BENCH_LIVE         0: skip timing the reports read wholly live, before the roll-up (default 1)
 *   BENCH_DATABASE_URL PostgreSQL admin URL (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_OUT          write the figures as JSON here too
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { connectDatabase } from '../../src/store/connect';
import { migrateToLatest } from '../../src/store/migrate';
import type { ReportContext } from '../../src/reports/report';
import { REPORTS } from '../../src/reports/report-registry';
import { rollUpReports } from '../../src/reports/report-rollup';
import { adminQuery, intEnv, onCleanup, say } from './bench-kit';

const adminUrl = process.env['BENCH_DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/postgres';
const INCIDENTS = intEnv('BENCH_INCIDENTS', 1_000_000);
const SERVICES = intEnv('BENCH_SERVICES', 50);
const RUNS = intEnv('BENCH_RUNS', 3);
const DAY_MS = 86_400_000;

/** Median wall time of `runs` runs, in ms. */
async function timed(runs: number, f: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)] as number;
}

export async function main(): Promise<number> {
  const dbName = `quell_bench_reports_${randomBytes(4).toString('hex')}`;
  await adminQuery(adminUrl, `create database ${dbName}`);
  onCleanup(`drop database ${dbName}`, () => adminQuery(adminUrl, `drop database if exists ${dbName} with (force)`));
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const { db } = await connectDatabase({ url: url.toString(), dataDir: '', poolSize: 4 });
  onCleanup('close the pool', () => db.destroy());
  await migrateToLatest(db);

  const now = new Date();
  const yearAgo = new Date(now.getTime() - 365 * DAY_MS);
  say(`${INCIDENTS} incidents over ${yearAgo.toISOString()} .. ${now.toISOString()}, ${SERVICES} services`
    + ` (database ${dbName})`);
  let t0 = performance.now();
  // Priority 1 5 %, 2 15 %, 3 30 %, 4 35 %, 5 15 %; 90 % acknowledged after ~2 min x priority,
  // resolved ~1 h x priority after, unless that is still to come; 3 % reopened once.
  await sql`insert into incidents (title, status, priority, rule, group_key, grouping_open, group_window_seconds,
      alert_count, opened_at, first_alert_at, last_alert_at, acknowledged_at, resolved_at, resolved_by, service)
    select 'bench incident ' || i,
      case when res <= ${now} then 'resolved' when ack is not null then 'acknowledged' else 'open' end,
      p, 'bench', 'bench:' || i, false, 600, 1 + floor(-ln(1 - random()) * 8)::int, opened, opened, opened,
      case when ack <= ${now} then ack end, case when res <= ${now} then res end,
      case when res <= ${now} then 'auto' end,
      case when i % 20 = 0 then null else 'service-' || (i % ${SERVICES}) end
    from (
      select i, opened, p,
        case when random() < 0.9 then opened + make_interval(secs => -ln(1 - random()) * 120 * p) end as ack,
        opened + make_interval(secs => -ln(1 - random()) * 3600 * p) as res
      from (
        select i,
          ${yearAgo}::timestamptz + make_interval(secs => (i - 1) * ${(365 * 86_400) / INCIDENTS}::float8) as opened,
          (case when r < 0.05 then 1 when r < 0.2 then 2 when r < 0.5 then 3 when r < 0.85 then 4 else 5 end)::smallint
            as p
        from (select i, random() as r from generate_series(1, ${INCIDENTS}) i) g
      ) o
    ) x`.execute(db);
  await sql`insert into incident_events (incident_id, at, kind, actor, detail)
    select id, resolved_at - interval '1 second', 'reopened', 'quell', '{}' from incidents
    where resolved_at is not null and id % 33 = 0`.execute(db);
  await sql`vacuum analyze incidents`.execute(db);
  await sql`vacuum analyze incident_events`.execute(db);
  const loadS = (performance.now() - t0) / 1000;
  say(`loaded in ${loadS.toFixed(1)} s`);

  const ctx: ReportContext = {
    db, slaTargets: () => ({ 1: { ttaSeconds: 300, ttrSeconds: 4 * 3600 },
      2: { ttaSeconds: 600, ttrSeconds: 8 * 3600 } }),
  };
  const periods = {
    year: { from: yearAgo, to: now },
    month: { from: new Date(now.getTime() - 30 * DAY_MS), to: now },
  };
  const results: Record<string, Record<string, number>> = {};
  const timeAll = async (label: string) => {
    for (const [pname, period] of Object.entries(periods)) {
      const key = `${label} ${pname}`;
      results[key] = {};
      for (const report of REPORTS.values()) {
        // top-problems is the problem module's: nothing to time here.
        if (report.name === 'top-problems') continue;
        results[key][report.name] = await timed(RUNS, () => report.run(ctx, period));
      }
      const timings = Object.entries(results[key] as object).map(([n, ms]) => `${n} ${(ms as number).toFixed(0)} ms`);
      say(`${key.padEnd(18)} ${timings.join(', ')}`);
    }
  };

  if (process.env['BENCH_LIVE'] !== '0') await timeAll('live (no roll-up)');
  t0 = performance.now();
  const rolled = await rollUpReports(db, now, 7);
  const rollupS = (performance.now() - t0) / 1000;
  const { rows: [size] } = await sql<{ daily: number; durations: number }>`
    select (select count(*) from incident_daily)::int as daily,
    (select count(*) from incident_durations_daily)::int as durations`.execute(db);
  say(`first roll-up ${JSON.stringify(rolled)}: ${rollupS.toFixed(1)} s;`
    + ` ${size?.daily} daily rows, ${size?.durations} histogram rows`);
  t0 = performance.now();
  await rollUpReports(db, now, 7);
  const hourlyS = (performance.now() - t0) / 1000;
  say(`hourly roll-up (settle 7 days): ${hourlyS.toFixed(2)} s`);
  await timeAll('rolled up');

  if (process.env['BENCH_OUT']) {
    writeFileSync(process.env['BENCH_OUT'], JSON.stringify({ incidents: INCIDENTS, services: SERVICES, loadS, rollupS,
      hourlyS, size, results }, null, 2));
  }
  const slowest = Math.max(...Object.entries(results).filter(([k]) => k.startsWith('rolled'))
    .flatMap(([, r]) => Object.values(r)));
  say(`slowest report through the roll-up: ${slowest.toFixed(0)} ms`);
  return 0;
}
