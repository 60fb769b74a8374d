import { sql, type Kysely, type Transaction } from 'kysely';
import { timelineEntryOf, type IncidentEvent } from '../domain/incident-event';
import { nextStatus, type IncidentAction } from '../domain/incident-lifecycle';
import type { Database, IncidentRow, IncidentStatus } from './database';
import { unnest } from './unnest';

type Trx = Transaction<Database>;

/** The alerts of one group, in one batch, that open or join an incident. */
export interface GroupOpening {
  readonly groupKey: string;
  readonly rule: string;
  readonly title: string;
  readonly priority: number;
  readonly groupWindowSeconds: number;
  readonly count: number;
  readonly firstAlertAt: string;
  readonly lastAlertAt: string;
}

export interface OpenedIncident {
  readonly id: number;
  readonly created: boolean;
}

/** Why an incident left the group (for the timeline). */
export interface ClosedGrouping { readonly id: number; readonly groupKey: string }

/**
 * Joins each group to its open incident, or opens one. The partial unique index on
 * `group_key where grouping_open` makes "one incident per group" the database's promise:
 * concurrent batches of the same group meet in ON CONFLICT, never in two inserts.
 * An incident whose window has passed stops grouping and a new one opens.
 */
export async function openOrJoinIncidents(trx: Trx, groups: readonly GroupOpening[]): Promise<{ incidents: Map<string, OpenedIncident>; closed: ClosedGrouping[] }> {
  const incidents = new Map<string, OpenedIncident>();
  const closed: ClosedGrouping[] = [];
  let pending = [...groups].sort((a, b) => (a.groupKey < b.groupKey ? -1 : 1));
  for (let round = 0; pending.length > 0; round++) {
    if (round > 2) throw new Error(`could not open incidents for ${pending.length} groups`);
    const rows = await trx.insertInto('incidents')
      .columns(['title', 'status', 'priority', 'rule', 'group_key', 'grouping_open', 'group_window_seconds', 'alert_count', 'first_alert_at', 'last_alert_at'])
      .expression(unnest(pending.map((g) => ({ ...g, status: 'open', groupingOpen: true })), [
        ['title', 'text'], ['status', 'text'], ['priority', 'smallint'], ['rule', 'text'], ['groupKey', 'text'], ['groupingOpen', 'boolean'],
        ['groupWindowSeconds', 'integer'], ['count', 'integer'], ['firstAlertAt', 'timestamptz'], ['lastAlertAt', 'timestamptz'],
      ]))
      .onConflict((oc) => oc.column('group_key').where('grouping_open', '=', true)
        .doUpdateSet({
          last_alert_at: sql`greatest(incidents.last_alert_at, excluded.last_alert_at)`,
          first_alert_at: sql`least(incidents.first_alert_at, excluded.first_alert_at)`,
          alert_count: sql`incidents.alert_count + excluded.alert_count`,
          priority: sql`least(incidents.priority, excluded.priority)`,
          updated_at: sql`now()`,
        })
        .where(sql<boolean>`excluded.first_alert_at <= incidents.last_alert_at + make_interval(secs => incidents.group_window_seconds)`))
      .returning(['id', 'group_key', sql<boolean>`(xmax = 0)`.as('created')])
      .execute();
    for (const r of rows) incidents.set(r.group_key, { id: r.id, created: r.created });
    pending = pending.filter((g) => !incidents.has(g.groupKey));
    if (pending.length === 0) break;
    // Conflicts left out by the window check: their incidents stop grouping, then retry.
    const out = await trx.updateTable('incidents').set({ grouping_open: false, updated_at: sql`now()` })
      .where('grouping_open', '=', true).where('group_key', '=', sql<string>`any(${pending.map((g) => g.groupKey)}::text[])`)
      .returning(['id', 'group_key']).execute();
    for (const r of out) closed.push({ id: r.id, groupKey: r.group_key });
  }
  return { incidents, closed };
}

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
 * Resolves those of `ids` that have no firing alert left. The rows are locked first, in a
 * statement of their own, so that the check sees alerts a concurrent batch has just linked.
 */
export async function resolveIncidentsWithoutFiringAlerts(trx: Trx, ids: readonly number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const locked = await trx.selectFrom('incidents').select('id')
    .where('id', 'in', [...ids]).where('status', '!=', 'resolved').orderBy('id').forUpdate().execute();
  if (locked.length === 0) return [];
  const rows = await trx.updateTable('incidents')
    .set({ status: 'resolved', resolved_at: sql`now()`, grouping_open: false, updated_at: sql`now()` })
    .where('id', 'in', locked.map((r) => r.id))
    .where(({ not, exists, selectFrom }) => not(exists(
      selectFrom('incident_alerts').select(sql`1`.as('one'))
        .whereRef('incident_alerts.incident_id', '=', 'incidents.id').where('incident_alerts.status', '=', 'firing'),
    )))
    .returning('id').execute();
  return rows.map((r) => r.id);
}

/** Writes events to their incidents' timelines, in order (one statement for all). */
export async function appendTimeline(db: Trx | Kysely<Database>, events: readonly IncidentEvent[]): Promise<void> {
  if (events.length === 0) return;
  const entries = events.map(timelineEntryOf);
  await db.insertInto('incident_events').columns(['incident_id', 'kind', 'actor', 'detail'])
    .expression(unnest(entries.map((e) => ({ ...e, detail: JSON.stringify(e.detail) })), [
      ['incidentId', 'integer'], ['kind', 'text'], ['actor', 'text'], ['detail', 'jsonb'],
    ]))
    .execute();
}

/** A change an operator asks for through the API. */
export type ManualChange = IncidentAction;

export type ChangeOutcome =
  | { readonly ok: true; readonly incident: IncidentRow; readonly event: IncidentEvent }
  | { readonly ok: false; readonly reason: 'not_found' | 'conflict'; readonly status?: IncidentStatus };

/**
 * Acknowledges or resolves an incident by hand, as the lifecycle allows, with its event on
 * the timeline, in one transaction.
 */
export async function changeIncident(
  db: Kysely<Database>, id: number, change: ManualChange, actor: string, comment?: string,
): Promise<ChangeOutcome> {
  return db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('incidents').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    if (current === undefined) return { ok: false, reason: 'not_found' };
    const next = nextStatus(current.status, change);
    if (next === undefined) return { ok: false, reason: 'conflict', status: current.status };
    const incident = await trx.updateTable('incidents').where('id', '=', id)
      .set(next === 'acknowledged'
        ? { status: next, acknowledged_at: sql`now()`, updated_at: sql`now()` }
        : { status: next, resolved_at: sql`now()`, grouping_open: false, updated_at: sql`now()` })
      .returningAll().executeTakeFirstOrThrow();
    const said = comment !== undefined && comment !== '' ? { comment } : {};
    const event: IncidentEvent = change === 'acknowledge'
      ? { kind: 'acknowledged', incidentId: id, by: actor, ...said }
      : { kind: 'resolved', incidentId: id, by: actor, ...said };
    await appendTimeline(trx, [event]);
    return { ok: true, incident, event };
  });
}
