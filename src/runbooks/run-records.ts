import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { IncidentEvent } from '../domain/incident-event';
import type { ChangesTable, Database, RunbookRunStatus, RunbookRunsTable } from '../store/database';
import type { KeysetSource } from '../store/keyset';
import { writeIncidentEvents } from './incident-port';
import { enqueueRun, nextApprovalJobId } from './run-queue';

/**
 * The records of runs and changes, and the state changes both the executor and the API make
 * (settling a run, approving, rejecting, cancelling, the kill switch): one implementation each,
 * every one in a transaction with its timeline event.
 */

type Db = Kysely<Database>;
type Trx = Transaction<Database>;
export type RunRow = Selectable<RunbookRunsTable>;
export type ChangeRow = Selectable<ChangesTable>;

/** quell_settings key of the kill switch set through the API (`true`/`false`; absent: enabled). */
export const KILL_SWITCH_KEY = 'runbooks.enabled';

/** What a run waiting for a concurrency slot has as `status_reason` (it stays `queued`). */
export const WAITING_FOR_SLOT = 'waiting for a slot';

/** Runs in these hold one of their runbook's concurrency slots. */
export const ACTIVE_STATUSES: readonly RunbookRunStatus[] = ['running', 'verifying'];
export const FINAL_STATUSES: readonly RunbookRunStatus[] = [
  'succeeded', 'failed', 'ineffective', 'cancelled', 'rejected',
];

export interface KillSwitch {
  /** As set through the API (true when never set). */
  readonly enabled: boolean;
  readonly updatedBy: string | null;
  readonly updatedAt: Date | null;
}

export async function readKillSwitch(db: Db | Trx): Promise<KillSwitch> {
  const row = await db.selectFrom('quell_settings').select(['value', 'updated_by', 'updated_at'])
    .where('key', '=', KILL_SWITCH_KEY).executeTakeFirst();
  if (row === undefined) return { enabled: true, updatedBy: null, updatedAt: null };
  return { enabled: row.value !== false, updatedBy: row.updated_by, updatedAt: row.updated_at };
}

export async function setKillSwitch(db: Db, enabled: boolean, by: string): Promise<KillSwitch> {
  const row = await db.insertInto('quell_settings')
    .values({ key: KILL_SWITCH_KEY, value: JSON.stringify(enabled), updated_by: by })
    .onConflict((oc) => oc.column('key').doUpdateSet({
      value: JSON.stringify(enabled), updated_by: by, updated_at: sql`now()`,
    }))
    .returning(['value', 'updated_by', 'updated_at']).executeTakeFirstOrThrow();
  return { enabled: row.value !== false, updatedBy: row.updated_by, updatedAt: row.updated_at };
}

/**
 * Serializes, per runbook, the decisions that count its runs (concurrency, and the wake-up of
 * runs waiting for a slot): held to the end of the transaction.
 */
export async function lockRunbook(trx: Trx, runbook: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext(${`quell.runbook:${runbook}`}))`.execute(trx);
}

/** How a run ends. */
export interface Settlement {
  readonly status: 'succeeded' | 'failed' | 'ineffective' | 'cancelled' | 'rejected';
  readonly reason?: string | undefined;
  /** Who ended it (the timeline's actor). */
  readonly by: string;
  readonly at: Date;
  /** successful, unsuccessful, did_not_fix (the change's outcome); none: leave the change's as it is. */
  readonly outcome?: 'successful' | 'unsuccessful' | 'did_not_fix' | undefined;
  readonly reviewNote?: string | undefined;
  /** Failed and ineffective runs count toward the breaker; a success resets it. */
  readonly breaker: 'count' | 'reset' | 'none';
  /** The runbook's breaker threshold (K), to record when it opens. */
  readonly breakerFailures?: number;
  /** More events of the same moment (an `escalated`). */
  readonly events?: readonly IncidentEvent[];
}

const CHANGE_STATUS: Readonly<Record<Settlement['status'], ChangesTable['status']>> = {
  succeeded: 'implemented', ineffective: 'implemented', failed: 'failed', cancelled: 'cancelled', rejected: 'rejected',
};

/**
 * Ends a run: its status, its change's status and outcome, the breaker, the timeline; then
 * wakes the runs of its runbook waiting for a slot (their jobs go to the outbox).
 */
export async function settleRun(
  trx: Trx, run: Pick<RunRow, 'id' | 'runbook' | 'incident_id'>, s: Settlement,
): Promise<void> {
  await trx.updateTable('runbook_runs')
    .set({ status: s.status, status_reason: s.reason ?? null, finished_at: s.at, updated_at: sql`now()` })
    .where('id', '=', run.id).execute();
  await trx.updateTable('changes')
    .set({
      status: CHANGE_STATUS[s.status], closed_at: s.at,
      ...(s.outcome !== undefined ? { outcome: s.outcome } : {}),
      ...(s.reviewNote !== undefined ? { review_note: s.reviewNote } : {}),
    })
    .where('run_id', '=', run.id).execute();
  if (s.breaker === 'reset') {
    // Only a breaker that counted failures is written: a success of a healthy runbook takes no
    // row lock, so that runs of one runbook end in parallel instead of queueing on its row.
    await trx.updateTable('runbook_breakers').set({ consecutive_failures: 0, opened_at: null })
      .where('runbook', '=', run.runbook)
      .where((eb) => eb.or([eb('consecutive_failures', '>', 0), eb('opened_at', 'is not', null)]))
      .execute();
  } else if (s.breaker === 'count') {
    const k = s.breakerFailures ?? Number.MAX_SAFE_INTEGER;
    await trx.insertInto('runbook_breakers')
      .values({ runbook: run.runbook, consecutive_failures: 1, opened_at: k <= 1 ? s.at : null })
      .onConflict((oc) => oc.column('runbook').doUpdateSet({
        consecutive_failures: sql`runbook_breakers.consecutive_failures + 1`,
        opened_at: sql`case
          when runbook_breakers.opened_at is null and runbook_breakers.consecutive_failures + 1 >= ${k}
          then ${s.at}::timestamptz else runbook_breakers.opened_at end`,
      })).execute();
  }
  await writeIncidentEvents(trx, [
    {
      kind: 'runbook', incidentId: run.incident_id, by: s.by, runId: run.id, runbook: run.runbook, status: s.status,
      ...(s.reason !== undefined ? { reason: s.reason } : {}),
    },
    ...(s.events ?? []),
  ]);
  // No lock: runs of one runbook end in parallel. A claim that counted this run busy and
  // records "waiting" after the read below is woken by wakeWaitingRuns instead.
  await releaseSlot(trx, run.runbook, run.id);
}

/**
 * A run of `runbook` left running/verifying (ended, or went to wait for an approval): every
 * run waiting for a slot is handed to the queue again; each checks the count anew under the
 * runbook's lock, and those that find no slot wait again. Call with the runbook's lock held.
 */
/** How long a run may wait for a slot before the periodic wake-up hands it to the queue again. */
const WAKE_AFTER_SECONDS = 5;

/**
 * Hands every run that has waited for a slot for a while to the queue again (each checks anew).
 * The liveness backstop of the slot hand-over: run by every worker periodically; job ids per
 * run and time step, so several workers waking the same run make one job.
 */
export async function wakeWaitingRuns(db: Db): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const waiting = await trx.selectFrom('runbook_runs').select('id')
      .where('status', '=', 'queued').where('status_reason', 'like', `${WAITING_FOR_SLOT}%`)
      .where('updated_at', '<', sql<Date>`now() - make_interval(secs => ${WAKE_AFTER_SECONDS})`)
      .orderBy('id').limit(100).execute();
    const step = Math.floor(Date.now() / (WAKE_AFTER_SECONDS * 1000));
    for (const w of waiting) await enqueueRun(trx, w.id, `run-${w.id}-wake-${step}`);
    return waiting.length;
  });
}

export async function releaseSlot(trx: Trx, runbook: string, freedBy: number): Promise<void> {
  const waiting = await trx.selectFrom('runbook_runs').select('id')
    .where('runbook', '=', runbook).where('status', '=', 'queued')
    .where('status_reason', 'like', `${WAITING_FOR_SLOT}%`)
    .orderBy('id').limit(100).execute();
  for (const w of waiting) await enqueueRun(trx, w.id, `run-${w.id}-slot-${freedBy}`);
}

export type Decision =
  | { readonly ok: true; readonly run: RunRow }
  | { readonly ok: false; readonly reason: 'not_found' | 'conflict'; readonly message: string };

/**
 * Approves a run awaiting approval (a normal change, a rate limit, an open breaker, a step left
 * unknown): it is queued again with its approver, its change (if waiting) approved, and a job
 * `run-<id>-approved-<n>` goes to the outbox. The executor then skips the guard rails an
 * approval answers (approval, rate limit, breaker), not the kill switch nor concurrency.
 */
export async function approveRun(db: Db, runId: number, by: string, comment?: string): Promise<Decision> {
  return db.transaction().execute(async (trx) => {
    const run = await trx.selectFrom('runbook_runs').selectAll().where('id', '=', runId).forUpdate().executeTakeFirst();
    if (run === undefined) return { ok: false, reason: 'not_found', message: `no runbook run ${runId}` };
    if (run.status !== 'awaiting_approval') {
      return { ok: false, reason: 'conflict', message: `runbook run ${runId} is ${run.status}, not awaiting approval` };
    }
    const updated = await trx.updateTable('runbook_runs')
      .set({ status: 'queued', status_reason: null, approved_by: by, approved_at: sql`now()`, updated_at: sql`now()` })
      .where('id', '=', runId).returningAll().executeTakeFirstOrThrow();
    await trx.updateTable('changes')
      .set({ status: 'approved', decided_by: by, decided_at: sql`now()`, decision_comment: comment ?? null })
      .where('run_id', '=', runId).where('status', '=', 'awaiting_approval').execute();
    await writeIncidentEvents(trx, [{
      kind: 'runbook', incidentId: run.incident_id, by, runId, runbook: run.runbook, status: 'approved',
      ...(comment !== undefined && comment !== '' ? { reason: comment } : {}),
    }]);
    await enqueueRun(trx, runId, await nextApprovalJobId(trx, runId));
    return { ok: true, run: updated };
  });
}

/** Rejects a run awaiting approval: it ends `rejected`, its change too, with who and why. */
export async function rejectRun(db: Db, runId: number, by: string, comment?: string): Promise<Decision> {
  return db.transaction().execute(async (trx) => {
    const run = await trx.selectFrom('runbook_runs').selectAll().where('id', '=', runId).forUpdate().executeTakeFirst();
    if (run === undefined) return { ok: false, reason: 'not_found', message: `no runbook run ${runId}` };
    if (run.status !== 'awaiting_approval') {
      return { ok: false, reason: 'conflict', message: `runbook run ${runId} is ${run.status}, not awaiting approval` };
    }
    await trx.updateTable('changes')
      .set({ decided_by: by, decided_at: sql`now()`, decision_comment: comment ?? null })
      .where('run_id', '=', runId).execute();
    const reason = `rejected by ${by}${comment !== undefined && comment !== '' ? `: ${comment}` : ''}`;
    await settleRun(trx, run, { status: 'rejected', reason, by, at: new Date(), breaker: 'none' });
    return { ok: true, run: await reread(trx, runId) };
  });
}

export type CancelOutcome =
  | {
    readonly ok: true; readonly run: RunRow;
    /** Whether it was ended now (false: its executor stops it). */ readonly ended: boolean;
  }
  | { readonly ok: false; readonly reason: 'not_found' | 'conflict'; readonly message: string };

/**
 * Cancels a run: one not started (queued, awaiting approval) ends `cancelled` now; a running
 * or verifying one gets `cancel_requested`, which its executor acts on (at once when it runs in
 * this process: the caller aborts it through RunAborts).
 */
export async function cancelRun(db: Db, runId: number, by: string): Promise<CancelOutcome> {
  return db.transaction().execute(async (trx) => {
    const run = await trx.selectFrom('runbook_runs').selectAll().where('id', '=', runId).forUpdate().executeTakeFirst();
    if (run === undefined) return { ok: false, reason: 'not_found', message: `no runbook run ${runId}` };
    if (FINAL_STATUSES.includes(run.status)) {
      return { ok: false, reason: 'conflict', message: `runbook run ${runId} has ended (${run.status})` };
    }
    if (run.status === 'queued' || run.status === 'awaiting_approval') {
      await settleRun(trx, run, {
        status: 'cancelled', reason: `cancelled by ${by}`, by, at: new Date(), outcome: 'unsuccessful', breaker: 'none',
      });
      return { ok: true, run: await reread(trx, runId), ended: true };
    }
    await trx.updateTable('runbook_runs').set({ cancel_requested: true, updated_at: sql`updated_at` })
      .where('id', '=', runId).execute();
    await writeIncidentEvents(trx, [{
      kind: 'runbook', incidentId: run.incident_id, by, runId, runbook: run.runbook, status: 'cancel_requested',
    }]);
    return { ok: true, run: await reread(trx, runId), ended: false };
  });
}

const reread = (trx: Trx, id: number) => trx.selectFrom('runbook_runs').selectAll().where('id', '=', id)
  .executeTakeFirstOrThrow();

// ---- reading ----

/** Runs newest first: by id descending. */
export type RunKey = readonly [id: number];
export type ChangeKey = readonly [id: number];

export interface RunFilter {
  readonly incidentId?: number | undefined;
  readonly runbook?: string | undefined;
  readonly statuses?: readonly string[] | undefined;
}

export function runsInOrder(db: Db, f: RunFilter): KeysetSource<RunKey, RunRow> {
  return async (after, limit) => {
    let q = db.selectFrom('runbook_runs').selectAll().orderBy('id', 'desc').limit(limit);
    if (f.incidentId !== undefined) q = q.where('incident_id', '=', f.incidentId);
    if (f.runbook !== undefined) q = q.where('runbook', '=', f.runbook);
    if (f.statuses !== undefined && f.statuses.length > 0) {
      q = q.where('status', 'in', f.statuses as RunbookRunStatus[]);
    }
    if (after !== undefined) q = q.where('id', '<', after[0]);
    return (await q.execute()).map((row) => ({ key: [row.id] as const, row }));
  };
}

export interface ChangeFilter {
  readonly statuses?: readonly string[] | undefined;
  readonly types?: readonly string[] | undefined;
}

export function changesInOrder(db: Db, f: ChangeFilter): KeysetSource<ChangeKey, ChangeRow> {
  return async (after, limit) => {
    let q = db.selectFrom('changes').selectAll().orderBy('id', 'desc').limit(limit);
    if (f.statuses !== undefined && f.statuses.length > 0) {
      q = q.where('status', 'in', f.statuses as ChangesTable['status'][]);
    }
    if (f.types !== undefined && f.types.length > 0) q = q.where('type', 'in', f.types as ChangesTable['type'][]);
    if (after !== undefined) q = q.where('id', '<', after[0]);
    return (await q.execute()).map((row) => ({ key: [row.id] as const, row }));
  };
}

/** A run with its steps (params and outputs as recorded: secrets masked) and its change. */
export async function runDetail(db: Db, id: number) {
  const run = await db.selectFrom('runbook_runs').selectAll().where('id', '=', id).executeTakeFirst();
  if (run === undefined) return undefined;
  const steps = await db.selectFrom('runbook_steps')
    .select(['idx', 'name', 'action', 'status', 'attempts', 'params', 'output', 'error', 'started_at', 'finished_at'])
    .where('run_id', '=', id).orderBy('idx').execute();
  const change = await db.selectFrom('changes').select(['id', 'type', 'status', 'outcome'])
    .where('run_id', '=', id).executeTakeFirst();
  return { ...run, steps, change: change ?? null };
}

export async function findChange(db: Db, id: number): Promise<ChangeRow | undefined> {
  return db.selectFrom('changes').selectAll().where('id', '=', id).executeTakeFirst();
}
