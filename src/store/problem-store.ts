import { sql, type Kysely, type Transaction } from 'kysely';
import type { IncidentEvent } from '../domain/incident-event';
import { problemTimelineEntryOf, type ProblemEvent } from '../domain/problem-event';
import { MAX_PROBLEM_WINDOW_MS } from '../domain/problem-recurrence';
import type { Database } from './database';
import { arrayParam, unnest } from './unnest';

type Trx = Transaction<Database>;

/**
 * Locks these signatures until the transaction ends: one transaction at a time counts a
 * signature's recurrence and opens or joins its problem, over what the ones before committed
 * (under READ COMMITTED each later statement sees them). The lock is the signature's row in
 * `problem_signatures`, upserted in signature order (no deadlock between batches); batches wait
 * only for those sharing a signature. The partial unique index `problems_one_active_per_signature`
 * stays the final word.
 */
export async function lockSignatures(trx: Trx, signatures: readonly string[], at: Date): Promise<void> {
  if (signatures.length === 0) return;
  const sorted = [...new Set(signatures)].sort();
  await sql`insert into problem_signatures (signature, last_seen_at)
    select s, ${at.toISOString()}::timestamptz from unnest(${arrayParam(sorted, 'text')}) as t(s)
    on conflict (signature) do update
      set last_seen_at = greatest(problem_signatures.last_seen_at, excluded.last_seen_at)`
    .execute(trx);
}

/** Writes problem events to their timelines, in order, in one statement. */
export async function appendProblemEvents(db: Trx | Kysely<Database>, events: readonly ProblemEvent[]): Promise<void> {
  if (events.length === 0) return;
  const entries = events.map(problemTimelineEntryOf);
  await db.insertInto('problem_events').columns(['problem_id', 'kind', 'actor', 'detail'])
    .expression(unnest(entries, [
      ['problemId', 'integer'], ['kind', 'text'], ['actor', 'text'], ['detail', 'jsonb'],
    ]))
    .execute();
}

/**
 * Links incidents to problems (each pair once), with the incident's opened_at; returns the
 * pairs it linked (those linked already are not). Incidents that do not exist are skipped.
 */
export async function linkIncidents(
  trx: Trx | Kysely<Database>, links: readonly { readonly problemId: number; readonly incidentId: number }[],
  by: string,
): Promise<{ problemId: number; incidentId: number }[]> {
  if (links.length === 0) return [];
  const sorted = [...links].sort((a, b) => a.problemId - b.problemId || a.incidentId - b.incidentId);
  const rows = await sql<{ problem_id: number; incident_id: number }>`
    insert into problem_incidents (problem_id, incident_id, incident_opened_at, linked_by)
    select u.p, u.i, inc.opened_at, ${by}
      from unnest(${arrayParam(sorted.map((l) => l.problemId), 'integer')},
        ${arrayParam(sorted.map((l) => l.incidentId), 'integer')}) as u(p, i)
      join incidents inc on inc.id = u.i
    on conflict do nothing
    returning problem_id, incident_id`.execute(trx);
  return rows.rows.map((r) => ({ problemId: r.problem_id, incidentId: r.incident_id }));
}

/** What a known error gives each new incident of it. */
export interface KnownErrorApplied {
  readonly incidentId: number;
  readonly problemId: number;
  readonly workaround: string;
  readonly runbook?: string;
}

/**
 * Puts the known errors' workarounds on incidents that have none yet (an incident keeps the first
 * it got); returns those it put.
 */
export async function applyWorkarounds(
  trx: Trx | Kysely<Database>, applied: readonly KnownErrorApplied[],
): Promise<KnownErrorApplied[]> {
  if (applied.length === 0) return [];
  const sorted = [...applied].sort((a, b) => a.incidentId - b.incidentId);
  const rows = await sql<{ id: number }>`
    update incidents set known_error_problem_id = u.p, workaround = u.w, updated_at = now()
      from unnest(${arrayParam(sorted.map((a) => a.incidentId), 'integer')},
                  ${arrayParam(sorted.map((a) => a.problemId), 'integer')},
                  ${arrayParam(sorted.map((a) => a.workaround), 'text')}) as u(i, p, w)
     where incidents.id = u.i and incidents.known_error_problem_id is null
    returning incidents.id`.execute(trx);
  const done = new Set(rows.rows.map((r) => r.id));
  return sorted.filter((a) => done.has(a.incidentId));
}

/** The incident event of a workaround given to an incident. */
export function knownErrorEvent(a: KnownErrorApplied): IncidentEvent {
  return {
    kind: 'known_error', incidentId: a.incidentId, problemId: a.problemId, workaround: a.workaround,
    ...(a.runbook !== undefined ? { runbook: a.runbook } : {}),
  };
}

/**
 * Forgets occurrences, and signatures, not seen for longer than the longest window a rule may
 * have (they count for nothing); returns how many occurrences.
 */
export async function pruneProblemOccurrences(db: Kysely<Database>, now = new Date()): Promise<number> {
  const before = new Date(now.getTime() - MAX_PROBLEM_WINDOW_MS);
  const result = await db.deleteFrom('problem_occurrences').where('at', '<', before).executeTakeFirst();
  await db.deleteFrom('problem_signatures').where('last_seen_at', '<', before).execute();
  return Number(result.numDeletedRows);
}
