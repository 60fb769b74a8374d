import type { Kysely } from 'kysely';
import type { IngestJob, JobHandler } from '../queue/ingest-queue';
import type { Database } from '../store/database';
import type { PipelineMetrics } from '../pipeline/pipeline-metrics';
import { runPipeline } from '../pipeline/pipeline';
import type { Stage } from '../pipeline/stage';

/** PostgreSQL errors that a plain retry of the transaction can cure. */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);

/**
 * Applies one ingest job through the stages in one transaction. The job's id is recorded in
 * the same transaction, so a job delivered again after a crash changes nothing.
 * Throws (and the queue retries later) on operational errors such as the database being down.
 */
export function createJobProcessor(db: Kysely<Database>, stages: readonly Stage[], metrics: PipelineMetrics): JobHandler {
  return async (job: IngestJob) => {
    for (let attempt = 1; ; attempt++) {
      const effects: (() => void)[] = [];
      try {
        await db.transaction().execute(async (trx) => {
          const first = await trx.insertInto('processed_jobs').values({ id: job.id })
            .onConflict((oc) => oc.column('id').doNothing()).returning('id').executeTakeFirst();
          if (first === undefined) {
            effects.push(() => metrics.jobs.inc({ result: 'redelivered' }));
            return;
          }
          await runPipeline(stages, job.alerts.map((alert) => ({ alert })), { trx, job, afterCommit: (fn) => effects.push(fn) }, metrics);
          effects.push(() => {
            metrics.jobs.inc({ result: 'applied' });
            const seconds = Math.max(0, (Date.now() - Date.parse(job.receivedAt)) / 1000);
            for (let i = 0; i < job.alerts.length; i++) metrics.processing.observe(seconds);
          });
        });
        for (const fn of effects) fn();
        return;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code !== undefined && RETRYABLE_SQLSTATES.has(code) && attempt < 5) continue;
        metrics.jobs.inc({ result: 'error' });
        throw err;
      }
    }
  };
}
