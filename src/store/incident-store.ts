import { sql, type Kysely, type Transaction } from 'kysely';
import { timelineEntryOf, type IncidentEvent } from '../domain/incident-event';
import { nextStatus, type IncidentAction } from '../domain/incident-lifecycle';
import type { Database, IncidentRow, IncidentStatus } from './database';
import { commitIncidentEvents, TIMELINE_ONLY, type IncidentEventsDeps } from './incident-events-commit';
import { unnest } from './unnest';

type Trx = Transaction<Database>;

export interface NewLink {
  readonly fingerprint: string;
  readonly startsAt: string;
  readonly incidentId: number;
  readonly receivedAt: string;
}

/** Links alert episodes to incidents; the primary key (fingerprint, starts_at) allows one incident each. */
export async function linkAlerts(trx: Trx, links: readonly NewLink[]): Promise<void> {
  if (links.length === 0) return;
  await trx.insertInto('incident_alerts').columns(['fingerprint', 'starts_at', 'incident_id', 'status', 'received_at'])
    .expression(unnest(links.map((l) => ({ ...l, status: 'firing' })), [
      ['fingerprint', 'text'], ['startsAt', 'timestamptz'], ['incidentId', 'integer'], ['status', 'text'], ['receivedAt', 'timestamptz'],
    ]))
    .execute();
}

export interface EndedEpisode {
  readonly fingerprint: string;
  readonly startsAt: string;
  readonly endsAt: string;
}

/** Marks episodes resolved; returns the incident of each one that was linked. */
export async function resolveLinks(trx: Trx, ended: readonly EndedEpisode[]): Promise<{ incidentId: number; fingerprint: string }[]> {
  if (ended.length === 0) return [];
  const { rows } = await sql<{ incident_id: number; fingerprint: string }>`
    update incident_alerts ia set status = 'resolved', ends_at = v.ends_at
    from (${unnest(ended, [['fingerprint', 'text'], ['startsAt', 'timestamptz'], ['endsAt', 'timestamptz']])}) as v(fingerprint, starts_at, ends_at)
    where ia.fingerprint = v.fingerprint and ia.starts_at = v.starts_at and ia.status = 'firing'
    returning ia.incident_id, ia.fingerprint`.execute(trx);
  return rows.map((r) => ({ incidentId: r.incident_id, fingerprint: r.fingerprint }));
}

/**
 * Resolves, as of `at`, those of `ids` that have no firing alert left and no flapping alert
 * (whose latest episode they hold: flapping holds an incident open until the alert settles).
 * The rows are locked first, in a statement of their own, so that the check sees alerts a
 * concurrent batch has just linked; the flapping check reads the few flapping alerts once.
 */
export async function resolveIncidentsWithoutFiringAlerts(
  trx: Trx, ids: readonly number[], at: Date,
): Promise<number[]> {
  if (ids.length === 0) return [];
  const locked = await trx.selectFrom('incidents').select('id')
    .where('id', 'in', [...ids]).where('status', '!=', 'resolved').orderBy('id').forUpdate().execute();
  if (locked.length === 0) return [];
  const rows = await trx.updateTable('incidents')
    .set({
      status: 'resolved', resolved_at: at, resolved_by: 'auto', grouping_open: false, updated_at: sql`now()`,
    })
    .where('id', 'in', locked.map((r) => r.id))
    .where(({ not, exists, selectFrom }) => not(exists(
      selectFrom('incident_alerts').select(sql`1`.as('one'))
        .whereRef('incident_alerts.incident_id', '=', 'incidents.id').where('incident_alerts.status', '=', 'firing'),
    )))
    .where('id', 'not in', ({ selectFrom }) => selectFrom('alert_flapping as f')
      .innerJoin('incident_alerts as ia', (j) => j.onRef('ia.fingerprint', '=', 'f.fingerprint')
        .onRef('ia.starts_at', '=', 'f.episode_starts_at'))
      .select('ia.incident_id').where('f.flapping', '=', sql.lit(true)))
    .returning('id').execute();
  return rows.map((r) => r.id);
}

/**
 * Writes events to their incidents' timelines, in order (one statement for all). With
 * `ids`, returns each event's row id (in the events' order), else nothing.
 */
export async function appendTimeline(db: Trx | Kysely<Database>, events: readonly IncidentEvent[], opts: { ids?: boolean } = {}): Promise<string[]> {
  if (events.length === 0) return [];
  const entries = events.map(timelineEntryOf);
  const insert = db.insertInto('incident_events').columns(['incident_id', 'kind', 'actor', 'detail'])
    .expression(unnest(entries.map((e) => ({ ...e, detail: JSON.stringify(e.detail) })), [
      ['incidentId', 'integer'], ['kind', 'text'], ['actor', 'text'], ['detail', 'jsonb'],
    ]));
  if (opts.ids !== true) {
    await insert.execute();
    return [];
  }
  // The sequence numbers the rows in the order unnest gives them, which is the events' order.
  const rows = await insert.returning('id').execute();
  return rows.map((r) => BigInt(r.id)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
}

/** A change an operator asks for through the API (reopening is Quell's, when its group fires again). */
export type ManualChange = Exclude<IncidentAction, 'reopen'>;

export type ChangeOutcome =
  | { readonly ok: true; readonly incident: IncidentRow; readonly event: IncidentEvent }
  | { readonly ok: false; readonly reason: 'not_found' | 'conflict'; readonly status?: IncidentStatus };

/**
 * Acknowledges or resolves an incident by hand, as the lifecycle allows, with its event on
 * the timeline and the runbooks it triggers, in one transaction (their jobs are relayed after
 * it commits).
 */
export async function changeIncident(
  db: Kysely<Database>, id: number, change: ManualChange, actor: string, comment?: string,
  events: IncidentEventsDeps = TIMELINE_ONLY,
): Promise<ChangeOutcome> {
  let outbox: Awaited<ReturnType<typeof commitIncidentEvents>> = [];
  const outcome = await db.transaction().execute(async (trx): Promise<ChangeOutcome> => {
    const changed = await changeIncidentIn(trx, id, change, actor, comment);
    if (changed.ok) outbox = await commitIncidentEvents(trx, [changed.event], events);
    return changed;
  });
  events.relay(outbox);
  return outcome;
}

/**
 * The change itself, inside `trx`: locks the incident, applies the lifecycle and returns the
 * event, which the caller commits through the one path for incident events (the API above;
 * the pipeline's acknowledge stage emits it to the transaction's event log).
 */
export async function changeIncidentIn(
  trx: Trx, id: number, change: ManualChange, actor: string, comment?: string,
): Promise<ChangeOutcome> {
  const current = await trx.selectFrom('incidents').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  if (current === undefined) return { ok: false, reason: 'not_found' };
  const next = nextStatus(current.status, change);
  if (next === undefined) return { ok: false, reason: 'conflict', status: current.status };
  const incident = await trx.updateTable('incidents').where('id', '=', id)
    .set(next === 'acknowledged'
      ? { status: next, acknowledged_at: sql`now()`, updated_at: sql`now()` }
      : {
        status: next, resolved_at: sql`now()`, resolved_by: 'manual', grouping_open: false, updated_at: sql`now()`,
      })
    .returningAll().executeTakeFirstOrThrow();
  const said = comment !== undefined && comment !== '' ? { comment } : {};
  const event: IncidentEvent = change === 'acknowledge'
    ? { kind: 'acknowledged', incidentId: id, by: actor, ...said }
    : { kind: 'resolved', incidentId: id, by: actor, ...said };
  return { ok: true, incident, event };
}
