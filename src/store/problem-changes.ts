import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { ProblemEvent } from '../domain/problem-event';
import { nextProblemStatus, type ProblemAction } from '../domain/problem-lifecycle';
import type { Database, ProblemsTable } from './database';
import { commitIncidentEvents, TIMELINE_ONLY, type IncidentEventsDeps } from './incident-events-commit';
import {
  appendProblemEvents, applyWorkarounds, knownErrorEvent, linkIncidents, lockSignatures, type KnownErrorApplied,
} from './problem-store';
import type { RecordedOutbox } from '../outbox/outbox-store';

type Trx = Transaction<Database>;
type ProblemRow = Selectable<ProblemsTable>;

/**
 * Changes to problems made through the API, each in one transaction with its event on the
 * problem's timeline naming who made it. Each answers what it changed, or why it did not:
 * `not_found` (the problem, incident or change), `conflict` (the lifecycle does not allow it).
 */
export type ProblemOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'not_found'; readonly what: string }
  | { readonly ok: false; readonly reason: 'conflict'; readonly message: string };

const OK: ProblemOutcome = { ok: true };
const missing = (what: string): ProblemOutcome => ({ ok: false, reason: 'not_found', what });
const conflict = (message: string): ProblemOutcome => ({ ok: false, reason: 'conflict', message });

/** What a lifecycle action may carry: a known error's workaround (required for it), a comment. */
export interface ProblemActionInput {
  readonly workaround?: string | undefined;
  readonly runbook?: string | undefined;
  readonly comment?: string | undefined;
}

/** Runs `fn` on the problem locked for update, in a transaction; relays the outbox rows it returns after commit. */
async function withProblem(
  db: Kysely<Database>, id: number, deps: IncidentEventsDeps,
  fn: (trx: Trx, p: ProblemRow) => Promise<{ outcome: ProblemOutcome; outbox?: RecordedOutbox[] }>,
): Promise<ProblemOutcome> {
  let outbox: RecordedOutbox[] = [];
  const outcome = await db.transaction().execute(async (trx) => {
    // NO KEY UPDATE: detection linking incidents to it (a foreign key's KEY SHARE) is not held up.
    const p = await trx.selectFrom('problems').selectAll().where('id', '=', id).forNoKeyUpdate().executeTakeFirst();
    if (p === undefined) return missing(`no problem ${id}`);
    const r = await fn(trx, p);
    outbox = r.outbox ?? [];
    return r.outcome;
  });
  if (outbox.length > 0) deps.relay(outbox);
  return outcome;
}

/** A lifecycle action (src/domain/problem-lifecycle.ts): mark a known error, resolve, reopen, close. */
export async function changeProblemStatus(
  db: Kysely<Database>, id: number, action: ProblemAction, actor: string, input: ProblemActionInput = {},
): Promise<ProblemOutcome> {
  return withProblem(db, id, TIMELINE_ONLY, async (trx, p) => {
    const next = nextProblemStatus(p.status, action);
    if (next === undefined) return { outcome: conflict(`problem ${id} is ${p.status}; cannot ${action.replace(/_/g, ' ')}`) };
    if (action === 'reopen' && p.signature !== null) {
      // Detection holds this lock while it opens problems: no active one can appear meanwhile.
      await lockSignatures(trx, [p.signature], new Date());
      const other = await trx.selectFrom('problems').select('id').where('signature', '=', p.signature)
        .where('status', 'in', ['open', 'known_error']).executeTakeFirst();
      if (other !== undefined) return { outcome: conflict(`problem ${other.id} is already active for this signature`) };
    }
    const set: Record<string, unknown> = { status: next, updated_at: sql`now()` };
    const events: ProblemEvent[] = [];
    if (action === 'mark_known_error') {
      set['workaround'] = input.workaround ?? p.workaround;
      set['workaround_runbook'] = input.runbook ?? null;
      set['known_error_at'] = sql`now()`;
      events.push({
        kind: 'known_error', problemId: id, by: actor, workaround: String(set['workaround']),
        runbook: input.runbook ?? null,
      });
    } else {
      if (next === 'resolved') set['resolved_at'] = sql`now()`;
      if (next === 'closed') set['closed_at'] = sql`now()`;
      if (next === 'open') set['resolved_at'] = null;
      events.push({
        kind: 'status_changed', problemId: id, by: actor, status: next, previous: p.status,
        ...(input.comment !== undefined && input.comment !== '' ? { comment: input.comment } : {}),
      });
    }
    await trx.updateTable('problems').set(set).where('id', '=', id).execute();
    await appendProblemEvents(trx, events);
    return { outcome: OK };
  });
}

/** The fields of a problem the API edits; null clears one. */
export interface ProblemFields {
  readonly title?: string | undefined;
  readonly root_cause?: string | null | undefined;
  readonly workaround?: string | null | undefined;
  readonly workaround_runbook?: string | null | undefined;
}

/** Edits a problem's title, root cause or workaround; an `updated` event lists the fields that changed. */
export async function updateProblem(
  db: Kysely<Database>, id: number, fields: ProblemFields, actor: string,
): Promise<ProblemOutcome> {
  return withProblem(db, id, TIMELINE_ONLY, async (trx, p) => {
    const changed: Record<string, string | null> = {};
    for (const key of ['title', 'root_cause', 'workaround', 'workaround_runbook'] as const) {
      const value = fields[key];
      if (value !== undefined && value !== p[key]) changed[key] = value;
    }
    if (Object.keys(changed).length === 0) return { outcome: OK };
    if (p.status === 'known_error' && changed['workaround'] === null) {
      return {
        outcome: conflict(`problem ${id} is a known error: its workaround cannot be cleared (resolve or close it)`),
      };
    }
    await trx.updateTable('problems').set({ ...changed, updated_at: sql`now()` }).where('id', '=', id).execute();
    await appendProblemEvents(trx, [{ kind: 'updated', problemId: id, by: actor, fields: changed }]);
    return { outcome: OK };
  });
}

/**
 * Links an incident to a problem by hand. Linking it to a known error gives it the workaround
 * (if it has none) and triggers the workaround's runbook, as detection does.
 */
export async function linkIncidentToProblem(
  db: Kysely<Database>, id: number, incidentId: number, actor: string, deps: IncidentEventsDeps = TIMELINE_ONLY,
): Promise<ProblemOutcome> {
  return withProblem(db, id, deps, async (trx, p) => {
    const linked = await linkIncidents(trx, [{ problemId: id, incidentId }], actor);
    if (linked.length === 0) {
      const exists = await trx.selectFrom('incidents').select('id').where('id', '=', incidentId).executeTakeFirst();
      return { outcome: exists === undefined ? missing(`no incident ${incidentId}`) : OK };
    }
    const events: ProblemEvent[] = [{ kind: 'incidents_linked', problemId: id, by: actor, incidentIds: [incidentId] }];
    let outbox: RecordedOutbox[] = [];
    if (p.status === 'known_error' && p.workaround !== null) {
      const known: KnownErrorApplied = {
        incidentId, problemId: id, workaround: p.workaround,
        ...(p.workaround_runbook !== null ? { runbook: p.workaround_runbook } : {}),
      };
      const applied = await applyWorkarounds(trx, [known]);
      if (applied.length > 0) {
        events.push({ kind: 'workaround_applied', problemId: id, incidentIds: [incidentId] });
        outbox = await commitIncidentEvents(trx, applied.map(knownErrorEvent), deps);
      }
    }
    await appendProblemEvents(trx, events);
    return { outcome: OK, outbox };
  });
}

/** Unlinks an incident (a wrong match); its workaround, if it got one, stays on its record. */
export async function unlinkIncidentFromProblem(
  db: Kysely<Database>, id: number, incidentId: number, actor: string,
): Promise<ProblemOutcome> {
  return withProblem(db, id, TIMELINE_ONLY, async (trx) => {
    const gone = await trx.deleteFrom('problem_incidents').where('problem_id', '=', id)
      .where('incident_id', '=', incidentId).returning('incident_id').executeTakeFirst();
    if (gone === undefined) return { outcome: missing(`incident ${incidentId} is not linked to problem ${id}`) };
    await appendProblemEvents(trx, [{ kind: 'incident_unlinked', problemId: id, by: actor, incidentId }]);
    return { outcome: OK };
  });
}

/** Links an ITIL change (a runbook run's change record, `changes`) to a problem: the fix or its attempt. */
export async function linkChangeToProblem(
  db: Kysely<Database>, id: number, changeId: number, actor: string,
): Promise<ProblemOutcome> {
  return withProblem(db, id, TIMELINE_ONLY, async (trx) => {
    const change = await trx.selectFrom('changes').select('id').where('id', '=', changeId).executeTakeFirst();
    if (change === undefined) return { outcome: missing(`no change ${changeId}`) };
    const added = await trx.insertInto('problem_changes')
      .values({ problem_id: id, change_id: changeId, linked_by: actor })
      .onConflict((oc) => oc.columns(['problem_id', 'change_id']).doNothing()).returning('change_id')
      .executeTakeFirst();
    if (added !== undefined) {
      await appendProblemEvents(trx, [{ kind: 'change_linked', problemId: id, by: actor, changeId }]);
    }
    return { outcome: OK };
  });
}

/** A problem opened by hand (no signature: detection never adds to it), with the incidents given. */
export async function createProblem(
  db: Kysely<Database>,
  input: { readonly title: string; readonly rootCause?: string | undefined; readonly incidentIds: readonly number[] },
  actor: string,
): Promise<{ ok: true; id: number } | { ok: false; missing: number }> {
  return db.transaction().execute(async (trx) => {
    if (input.incidentIds.length > 0) {
      const rows = await trx.selectFrom('incidents').select('id').where('id', 'in', [...input.incidentIds]).execute();
      const found = new Set(rows.map((r) => r.id));
      const absent = input.incidentIds.find((i) => !found.has(i));
      if (absent !== undefined) return { ok: false, missing: absent };
    }
    const { id } = await trx.insertInto('problems')
      .values({
        title: input.title, root_cause: input.rootCause ?? null, opened_by: actor, signature: null, rule: null,
        workaround: null, workaround_runbook: null,
      })
      .returning('id').executeTakeFirstOrThrow();
    await linkIncidents(trx, input.incidentIds.map((incidentId) => ({ problemId: id, incidentId })), actor);
    await appendProblemEvents(trx, [{
      kind: 'opened', problemId: id, by: actor, signature: null, rule: null, incidentIds: [...input.incidentIds],
    }]);
    return { ok: true, id };
  });
}
