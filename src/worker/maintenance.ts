import { sql, type Kysely } from 'kysely';
import cron from 'node-cron';
import type { Logger } from '../log';
import type { Database } from '../store/database';
import { pruneExpiredSilences } from '../store/silence-store';
import { pruneFlappingHistory } from '../store/flapping-store';
import { prunePendingAlerts } from '../store/pending-alert-store';
import { pruneOutbox } from '../outbox/outbox-store';
import { pruneSlaRecords } from '../sla/sla-store';
import { pruneProblemOccurrences } from '../store/problem-store';
import { rollUpReports } from '../reports/report-rollup';

/**
 * How long a processed job's id is remembered. A redelivery can only come from a job still
 * in the queue, and a job's retries end within about an hour (see JOB_OPTIONS).
 */
export const PROCESSED_JOBS_RETENTION_HOURS = 48;

/** Forgets processed job ids past the retention; returns how many. */
export async function pruneProcessedJobs(
  db: Kysely<Database>, retentionHours = PROCESSED_JOBS_RETENTION_HOURS,
): Promise<number> {
  const result = await db.deleteFrom('processed_jobs')
    .where('processed_at', '<', sql<Date>`now() - make_interval(hours => ${retentionHours})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Hourly housekeeping in every worker process (deletes are idempotent, so several may run it):
 * forgets processed job ids, silences expired past their retention, relayed outbox rows,
 * service-level flags of incidents resolved long ago, problem occurrences past the longest
 * recurrence window; rolls up the closed days for the KPI reports (one process at a time;
 * QUELL_REPORTS_SETTLE_DAYS).
 */
export function scheduleMaintenance(db: Kysely<Database>, log: Logger, reportSettleDays = 7): { stop(): void } {
  const task = cron.schedule('17 * * * *', async () => {
    try {
      const pruned = await pruneProcessedJobs(db);
      if (pruned > 0) log.info({ pruned }, 'pruned processed job ids');
      const silences = await pruneExpiredSilences(db);
      if (silences > 0) log.info({ silences }, 'pruned silences expired past their retention');
      const changes = await pruneFlappingHistory(db);
      if (changes > 0) log.info({ pruned: changes }, 'pruned alert state changes (flapping history)');
      const pending = await prunePendingAlerts(db);
      if (pending > 0) log.info({ pruned: pending }, 'pruned pending alerts that resolved or fired anew');
      const outbox = await pruneOutbox(db);
      if (outbox > 0) log.info({ pruned: outbox }, 'pruned outbox rows relayed past their retention');
      const sla = await pruneSlaRecords(db);
      if (sla > 0) {
        log.info({ pruned: sla }, 'pruned service-level flags and notification outcomes past their retention');
      }
      const occurrences = await pruneProblemOccurrences(db);
      if (occurrences > 0) log.info({ pruned: occurrences }, 'pruned problem occurrences past the longest window');
      const rolled = await rollUpReports(db, new Date(), reportSettleDays);
      if (rolled !== undefined) log.debug(rolled, 'rolled up closed days for the reports');
    } catch (err) {
      log.warn({ err }, 'maintenance failed; will try next hour');
    }
  }, { name: 'quell-maintenance', noOverlap: true });
  return { stop: () => { void task.stop(); } };
}

/** How often each worker runs the pipeline with no alerts (flapping alerts settle within this of their time). */
export const TICK_INTERVAL_MS = 10_000;

/**
 * Runs `tick` every `intervalMs` (never two at once). A failure is logged once until a tick
 * succeeds again: while the database is down, the job path already says so.
 */
export function scheduleTicks(
  tick: () => Promise<void>, log: Logger, intervalMs = TICK_INTERVAL_MS,
): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  let failing = false;
  const timer = setInterval(() => {
    if (running !== undefined) return;
    running = tick().then(() => { failing = false; }, (err: unknown) => {
      if (!failing) log.warn({ err }, 'pipeline tick failed; will try again');
      failing = true;
    }).finally(() => { running = undefined; });
  }, intervalMs);
  timer.unref();
  /** Stops ticking; resolves once a tick under way has ended. */
  return { stop: async () => { clearInterval(timer); await running; } };
}
