import { sql, type Kysely } from 'kysely';
import cron from 'node-cron';
import type { Logger } from '../log';
import type { Database } from '../store/database';
import { pruneExpiredSilences } from '../store/silence-store';

/**
 * How long a processed job's id is remembered. A redelivery can only come from a job still
 * in the queue, and a job's retries end within about an hour (see JOB_OPTIONS).
 */
export const PROCESSED_JOBS_RETENTION_HOURS = 48;

/** Forgets processed job ids past the retention; returns how many. */
export async function pruneProcessedJobs(db: Kysely<Database>, retentionHours = PROCESSED_JOBS_RETENTION_HOURS): Promise<number> {
  const result = await db.deleteFrom('processed_jobs')
    .where('processed_at', '<', sql<Date>`now() - make_interval(hours => ${retentionHours})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Hourly housekeeping in every worker process (deletes are idempotent, so several may run it):
 * forgets processed job ids and silences expired past their retention.
 */
export function scheduleMaintenance(db: Kysely<Database>, log: Logger): { stop(): void } {
  const task = cron.schedule('17 * * * *', async () => {
    try {
      const pruned = await pruneProcessedJobs(db);
      if (pruned > 0) log.info({ pruned }, 'pruned processed job ids');
      const silences = await pruneExpiredSilences(db);
      if (silences > 0) log.info({ silences }, 'pruned silences expired past their retention');
    } catch (err) {
      log.warn({ err }, 'maintenance failed; will try next hour');
    }
  }, { name: 'quell-maintenance', noOverlap: true });
  return { stop: () => { void task.stop(); } };
}
