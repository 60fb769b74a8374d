import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../store/database';

/** The queue runbook runs are executed from (BullMQ `quell-runbook`, or the embedded queue's `runbook`). */
export const RUNBOOK_QUEUE = 'runbook';

/** What a `runbook` job carries: the run to execute (its row has everything else). */
export interface RunbookJob {
  readonly runId: number;
}

/**
 * Records that run `runId` is to be executed (again), in the caller's transaction: an outbox
 * row that the relay (rb-core) hands to the `runbook` queue after commit. `jobId` is the job's
 * id in the queue, so recording or relaying the same one twice is one job: `run-<id>` when the
 * run is triggered, `run-<id>-approved-<n>` after its n-th approval, `run-<id>-slot-<run>` when a
 * concurrency slot freed by `<run>` lets it start.
 */
export async function enqueueRun(trx: Transaction<Database> | Kysely<Database>, runId: number, jobId: string): Promise<void> {
  const payload: RunbookJob = { runId };
  await trx.insertInto('outbox')
    .values({ queue: RUNBOOK_QUEUE, job_id: jobId, payload: JSON.stringify(payload) })
    .onConflict((oc) => oc.columns(['queue', 'job_id']).doNothing())
    .execute();
}

/** The job id of the next approval of a run: one more than the approvals it has had. */
export async function nextApprovalJobId(trx: Transaction<Database>, runId: number): Promise<string> {
  const prefix = `run-${runId}-approved-`;
  const row = await trx.selectFrom('outbox').select(sql<number>`count(*)::int`.as('n'))
    .where('queue', '=', RUNBOOK_QUEUE).where('job_id', 'like', `${prefix}%`).executeTakeFirstOrThrow();
  return `${prefix}${row.n + 1}`;
}
