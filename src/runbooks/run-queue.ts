import { sql, type Transaction } from 'kysely';
import { recordOutbox, type RecordedOutbox } from '../outbox/outbox-store';
import { RUNBOOK_QUEUE, type RunbookJob } from './runbook-queue';
import type { Database } from '../store/database';

/**
 * Records that run `runId` is to be executed (again), in the caller's transaction: an outbox
 * row that the relay hands to the `runbook` queue after commit (or the sweeper, within seconds).
 * `jobId` is the job's id in the queue, so recording or relaying the same one twice is one job:
 * `run-<id>` when the run is triggered, `run-<id>-approved-<n>` after its n-th approval,
 * `run-<id>-slot-<run>` when a concurrency slot freed by `<run>` lets it start,
 * `run-<id>-wake-<n>` from the periodic wake-up. Returns the rows recorded (none for a repeat).
 */
export async function enqueueRun(trx: Transaction<Database>, runId: number, jobId: string): Promise<RecordedOutbox[]> {
  const job: RunbookJob = { id: jobId, runId };
  return recordOutbox(trx, [{ queue: RUNBOOK_QUEUE, job }]);
}

/** The job id of the next approval of a run: one more than the approvals it has had. */
export async function nextApprovalJobId(trx: Transaction<Database>, runId: number): Promise<string> {
  const prefix = `run-${runId}-approved-`;
  const row = await trx.selectFrom('outbox').select(sql<number>`count(*)::int`.as('n'))
    .where('queue', '=', RUNBOOK_QUEUE).where('job_id', 'like', `${prefix}%`).executeTakeFirstOrThrow();
  return `${prefix}${row.n + 1}`;
}
