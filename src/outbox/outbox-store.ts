import { sql, type Kysely, type Transaction } from 'kysely';
import type { QueuedJob } from '../queue/job-queue';
import type { Database } from '../store/database';
import { unnest } from '../store/unnest';

/** A job to hand to `queue` once the transaction that decided it commits. */
export interface OutboxJob {
  /** The queue's kind (`runbook`), a key of the relay's queues. */
  readonly queue: string;
  /** Its id is the queue job's id: handing it over twice is one job. */
  readonly job: QueuedJob;
}

/** An outbox row as recorded: `id` orders and marks it. */
export interface RecordedOutbox extends OutboxJob {
  readonly id: string;
}

/**
 * Records jobs in the deciding transaction (the outbox): they exist exactly when the decision
 * commits. A job already recorded (same queue and id) is not recorded again, nor returned.
 */
export async function recordOutbox(trx: Transaction<Database>, jobs: readonly OutboxJob[]): Promise<RecordedOutbox[]> {
  if (jobs.length === 0) return [];
  const rows = await trx.insertInto('outbox').columns(['queue', 'job_id', 'payload'])
    .expression(unnest(jobs.map((j) => ({ queue: j.queue, jobId: j.job.id, payload: j.job })), [
      ['queue', 'text'], ['jobId', 'text'], ['payload', 'jsonb'],
    ]))
    .onConflict((oc) => oc.columns(['queue', 'job_id']).doNothing())
    .returning(['id', 'queue', 'payload']).execute();
  return rows.map((r) => ({ id: idText(r.id), queue: r.queue, job: r.payload as QueuedJob }));
}

/** Rows not relayed `olderThanMs` after they were recorded (their process died, or their queue was down). */
export async function unrelayedOutbox(
  db: Kysely<Database>, olderThanMs: number, limit: number,
): Promise<RecordedOutbox[]> {
  const rows = await db.selectFrom('outbox').select(['id', 'queue', 'payload'])
    .where('relayed_at', 'is', null)
    .where('created_at', '<', sql<Date>`clock_timestamp() - make_interval(secs => ${olderThanMs / 1000})`)
    .orderBy('id').limit(limit).execute();
  return rows.map((r) => ({ id: idText(r.id), queue: r.queue, job: r.payload as QueuedJob }));
}

/** A bigserial id as text: node-postgres reads it as a string, PGlite as a number (the table type says string). */
function idText(id: string | number): string {
  return String(id);
}

export async function markRelayed(db: Kysely<Database>, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('outbox').set({ relayed_at: sql`clock_timestamp()` })
    .where('id', 'in', [...ids]).where('relayed_at', 'is', null).execute();
}

/** How long relayed rows are kept (what was handed to which queue, when). */
export const OUTBOX_RETENTION_HOURS = 24;

/** Forgets rows relayed more than the retention ago; returns how many. */
export async function pruneOutbox(db: Kysely<Database>, retentionHours = OUTBOX_RETENTION_HOURS): Promise<number> {
  const result = await db.deleteFrom('outbox')
    .where('relayed_at', '<', sql<Date>`now() - make_interval(hours => ${retentionHours})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
