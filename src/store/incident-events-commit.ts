import type { Kysely, Transaction, Updateable } from 'kysely';
import type { IncidentEvent } from '../domain/incident-event';
import type { RecordedOutbox } from '../outbox/outbox-store';
import type { RunbookSet } from '../runbooks/runbook';
import { createRuns, readIncidentFacts } from '../runbooks/runbook-run-store';
import { candidatesOf, needsLabels, NO_RUNBOOKS, runsFor, type TriggeredRun } from '../runbooks/runbook-triggers';
import { itemAt } from '../domain/invariant';
import type { Database, IncidentRow, IncidentsTable } from './database';
import { appendTimeline } from './incident-store';
import type { LaterWrites } from './later-writes';

/** What committing incident events needs besides the transaction. */
export interface IncidentEventsDeps {
  /** The runbooks in force (a function: a rules reload takes effect at the next transaction). */
  readonly runbooks: () => RunbookSet;
  /** The rules' version, recorded with each run. */
  readonly rulesVersion?: () => string;
  /** Hands outbox rows to their queues; called after commit, never throws (see OutboxRelay.relayLater). */
  readonly relay: (rows: readonly RecordedOutbox[]) => void;
}

/** No runbooks, nothing to relay: the timeline only. */
export const TIMELINE_ONLY: IncidentEventsDeps = { runbooks: () => NO_RUNBOOKS, relay: () => undefined };

/**
 * The one path for incident events into the transaction that made them (the pipeline's record
 * stage, the API's acknowledge and resolve): writes them to their timelines and starts the
 * runbooks they trigger: runs (once per trigger key), their outbox rows and `runbook` timeline
 * events, all in `trx`. Returns the outbox rows, which the caller hands to `deps.relay` once
 * `trx` has committed. With no runbook on any of the events' triggers it reads nothing. The
 * timeline's statement carries the writes `later` holds.
 */
export async function commitIncidentEvents(
  trx: Transaction<Database>, events: readonly IncidentEvent[], deps: IncidentEventsDeps, later?: LaterWrites,
): Promise<RecordedOutbox[]> {
  if (events.length === 0) return [];
  const set = deps.runbooks();
  if (set.all.length === 0) {
    await appendTimeline(trx, events, { later });
    return [];
  }
  const candidates = events.map((e) => candidatesOf(e, set));
  if (candidates.every((c) => c.length === 0)) {
    await appendTimeline(trx, events, { later });
    return [];
  }
  const seqs = await appendTimeline(trx, events, { ids: true, later });
  const ids = events.filter((_, i) => itemAt(candidates, i, 'runbook candidates').length > 0).map((e) => e.incidentId);
  const facts = await readIncidentFacts(trx, ids, needsLabels([...new Set(candidates.flat())]));
  const runs: TriggeredRun[] = [];
  events.forEach((event, i) => {
    const f = facts.get(event.incidentId);
    const own = itemAt(candidates, i, 'runbook candidates');
    if (own.length > 0 && f !== undefined) runs.push(...runsFor(event, itemAt(seqs, i, 'timeline ids'), own, f));
  });
  return createRuns(trx, runs, deps.rulesVersion?.());
}

/** What a change decided, seeing the incident locked: refused (with its status), or its update and events. */
export type IncidentWork =
  | { readonly conflict: true }
  | { readonly conflict?: false; readonly set?: Updateable<IncidentsTable>; readonly events: readonly IncidentEvent[] };

export type WorkOutcome =
  | { readonly ok: true; readonly incident: IncidentRow; readonly events: readonly IncidentEvent[] }
  | { readonly ok: false; readonly reason: 'not_found' | 'conflict'; readonly status?: IncidentRow['status'] };

/** The locked row as `decide` sees it: `now` is the transaction's time, `paused_total` is `paused_ms` as a number. */
export type LockedIncident = IncidentRow & { readonly now: Date; readonly paused_total: number };

/**
 * One change to one incident inside `trx`: locks the row, lets `decide` say what changes (or
 * refuse) and writes it. The events are returned, not committed: the caller commits them
 * through {@link commitIncidentEvents} (workIncident below) or emits them to the pipeline's
 * event log (the acknowledge stage), so that they reach the timeline exactly once.
 */
export async function workIncidentIn(
  trx: Transaction<Database>, id: number, decide: (current: LockedIncident) => IncidentWork,
): Promise<WorkOutcome> {
  const current = await trx.selectFrom('incidents').selectAll()
    .select((eb) => [
      eb.fn<Date>('now', []).as('now'), eb.cast<number>('paused_ms', 'double precision').as('paused_total'),
    ])
    .where('id', '=', id).forUpdate().executeTakeFirst();
  if (current === undefined) return { ok: false, reason: 'not_found' };
  const work = decide(current);
  if (work.conflict === true) return { ok: false, reason: 'conflict', status: current.status };
  const { now: _now, paused_total: _paused, ...row } = current;
  const incident = work.set === undefined ? row
    : await trx.updateTable('incidents').where('id', '=', id).set({ ...work.set, updated_at: current.now })
      .returningAll().executeTakeFirstOrThrow();
  return { ok: true, incident, events: work.events };
}

/**
 * One change to one incident, as a person or a runbook asks it: {@link workIncidentIn} and its
 * events through {@link commitIncidentEvents} in one transaction; the outbox is relayed after commit.
 */
export async function workIncident(
  db: Kysely<Database>, id: number, decide: (current: LockedIncident) => IncidentWork, deps: IncidentEventsDeps,
): Promise<WorkOutcome> {
  let outbox: RecordedOutbox[] = [];
  const outcome = await db.transaction().execute(async (trx): Promise<WorkOutcome> => {
    const worked = await workIncidentIn(trx, id, decide);
    if (worked.ok) outbox = await commitIncidentEvents(trx, worked.events, deps);
    return worked;
  });
  deps.relay(outbox);
  return outcome;
}
