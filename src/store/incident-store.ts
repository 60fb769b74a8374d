import { sql, type Kysely, type QueryCreator, type Transaction, type Updateable } from 'kysely';
import { timelineEntryOf, type IncidentEvent } from '../domain/incident-event';
import {
  pauseAfter, RESOLVED, statusesAllowing, transition, type HoldState, type LifecycleStep,
} from '../domain/incident-lifecycle';
import type { Database, IncidentRow, IncidentsTable, IncidentStatus } from './database';
import {
  TIMELINE_ONLY, workIncident, workIncidentIn, type IncidentEventsDeps, type IncidentWork, type LockedIncident,
  type WorkOutcome,
} from './incident-events-commit';
import { LaterWrites } from './later-writes';
import { unnest } from './unnest';

type Trx = Transaction<Database>;

export interface NewLink {
  readonly fingerprint: string;
  readonly startsAt: string;
  readonly incidentId: number;
  readonly receivedAt: string;
}

const LINK_COLUMNS = ['fingerprint', 'starts_at', 'incident_id', 'status', 'received_at'] as const;

/**
 * Links alert episodes to incidents; the primary key (fingerprint, starts_at) allows one incident
 * each. The link is the alert's disposition `incident` (read so in alert-queries.ts): its alert
 * row is not written.
 */
export async function linkAlerts(trx: Trx, links: readonly NewLink[]): Promise<void> {
  if (links.length === 0) return;
  await trx.insertInto('incident_alerts').columns(LINK_COLUMNS)
    .expression(unnest(links.map((l) => ({ ...l, status: 'firing' })), [
      ['fingerprint', 'text'], ['startsAt', 'timestamptz'], ['incidentId', 'integer'], ['status', 'text'],
      ['receivedAt', 'timestamptz'],
    ]))
    .execute();
}

/** An episode to link to an incident that the statement writing it finds by `key` (its id, or its group key). */
export interface KeyedLink extends Omit<NewLink, 'incidentId'> {
  readonly key: string;
}

/**
 * Links episodes as {@link linkAlerts} does, to the incidents that the CTE `to` of the same
 * statement returns (an insert or update of incidents `returning id` and the column `by`): each
 * link whose `key` matches a row's `by`, in the order given; those that match none are not
 * written. For a CTE, so that one statement writes incidents and their links.
 */
export function linkTo(db: QueryCreator<Database>, to: string, by: 'id' | 'group_key', links: readonly KeyedLink[]) {
  const rows = unnest(links.map((l, n) => ({ ...l, n })), [
    ['fingerprint', 'text'], ['startsAt', 'timestamptz'], ['receivedAt', 'timestamptz'], ['key', 'text'],
    ['n', 'integer'],
  ]);
  return db.insertInto('incident_alerts').columns(LINK_COLUMNS).expression(sql`
    select l.fingerprint, l.starts_at, t.id, 'firing', l.received_at
    from (${rows}) as l(fingerprint, starts_at, received_at, key, n)
      join ${sql.table(to)} t on t.${sql.ref(by)}::text = l.key
    order by l.n`);
}

export interface EndedEpisode {
  readonly fingerprint: string;
  readonly startsAt: string;
  readonly endsAt: string;
}

/** Marks episodes resolved; returns the incident of each one that was linked. */
export async function resolveLinks(
  trx: Trx, ended: readonly EndedEpisode[],
): Promise<{ incidentId: number; fingerprint: string }[]> {
  if (ended.length === 0) return [];
  const { rows } = await sql<{ incident_id: number; fingerprint: string }>`
    update incident_alerts ia set status = 'resolved', ends_at = v.ends_at
    from (${unnest(ended, [['fingerprint', 'text'], ['startsAt', 'timestamptz'], ['endsAt', 'timestamptz']])})
      as v(fingerprint, starts_at, ends_at)
    where ia.fingerprint = v.fingerprint and ia.starts_at = v.starts_at and ia.status = 'firing'
    returning ia.incident_id, ia.fingerprint`.execute(trx);
  return rows.map((r) => ({ incidentId: r.incident_id, fingerprint: r.fingerprint }));
}

/**
 * Resolves, as of `at`, those of `ids` (held or not) that have no firing alert left and no flapping alert
 * (whose latest episode they hold: flapping holds an incident open until the alert settles).
 * The rows are locked first, in a statement of their own, so that the check sees alerts a
 * concurrent batch has just linked; the flapping check reads the few flapping alerts once.
 */
export async function resolveIncidentsWithoutFiringAlerts(
  trx: Trx, ids: readonly number[], at: Date,
): Promise<number[]> {
  if (ids.length === 0) return [];
  const resolve = { action: 'resolve' } as const;
  const locked = await trx.selectFrom('incidents').select('id')
    .where('id', 'in', [...ids]).where('status', 'in', statusesAllowing(resolve)).orderBy('id').forUpdate().execute();
  if (locked.length === 0) return [];
  // A held incident resolves too (its alerts are gone); its pause ends as pauseAfter() ends one.
  const rows = await trx.updateTable('incidents')
    .set({
      status: RESOLVED, resolved_at: at, resolved_by: 'auto', grouping_open: false, updated_at: sql`now()`,
      paused_ms: sql`paused_ms
        + coalesce(greatest(0, round(extract(epoch from (${at}::timestamptz - paused_at)) * 1000)), 0)::bigint`,
      paused_at: null,
    })
    .where('id', 'in', locked.map((r) => r.id))
    .where((eb) => eb.not(eb.exists(
      eb.selectFrom('incident_alerts').select(sql`1`.as('one'))
        .whereRef('incident_alerts.incident_id', '=', 'incidents.id').where('incident_alerts.status', '=', 'firing'),
    )))
    .where('id', 'not in', (eb) => eb.selectFrom('alert_flapping as f')
      .innerJoin('incident_alerts as ia', (j) => j.onRef('ia.fingerprint', '=', 'f.fingerprint')
        .onRef('ia.starts_at', '=', 'f.episode_starts_at'))
      .select('ia.incident_id').where('f.flapping', '=', sql.lit(true)))
    .returning('id').execute();
  return rows.map((r) => r.id);
}

/**
 * Writes events to their incidents' timelines, in order (one statement for all). With
 * `ids`, returns each event's row id (in the events' order), else nothing. With `later`, the
 * statement carries the writes it holds.
 */
export async function appendTimeline(
  db: Trx | Kysely<Database>, events: readonly IncidentEvent[], opts: { ids?: boolean; later?: LaterWrites } = {},
): Promise<string[]> {
  if (events.length === 0) return [];
  const entries = events.map(timelineEntryOf);
  const insert = db.insertInto('incident_events').columns(['incident_id', 'kind', 'actor', 'detail'])
    .expression(unnest(entries, [
      ['incidentId', 'integer'], ['kind', 'text'], ['actor', 'text'], ['detail', 'jsonb'],
    ]));
  const later = opts.later ?? new LaterWrites();
  if (opts.ids !== true) {
    await later.carriedBy(insert).execute(db);
    return [];
  }
  // The sequence numbers the rows in the order unnest gives them, which is the events' order.
  const { rows } = await later.carriedBy<{ id: string }>(insert.returning('id')).execute(db);
  return rows.map((r) => BigInt(r.id)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
}

/**
 * A lifecycle change a person (or a runbook) asks for: reopening is Quell's, when its group
 * fires again. `hold` names the state it waits in and, optionally, why.
 */
export type ManualChange =
  | 'acknowledge' | 'resolve' | 'resume'
  | { readonly action: 'hold'; readonly state: HoldState; readonly reason?: string };

export type ChangeOutcome =
  | { readonly ok: true; readonly incident: IncidentRow; readonly event: IncidentEvent }
  | { readonly ok: false; readonly reason: 'not_found' | 'conflict'; readonly status?: IncidentStatus };

/** The name of a change (`hold` for a hold), as a conflict names it. */
export const changeName = (change: ManualChange): string => (typeof change === 'string' ? change : change.action);

/**
 * Acknowledges, resolves, holds or resumes an incident, as the lifecycle allows, with its
 * event on the timeline and the runbooks it triggers, in one transaction (their jobs are
 * relayed after it commits). Holding starts the pause of its service-level clocks, leaving a
 * hold (resume, resolve) adds the pause to `paused_ms`.
 */
export async function changeIncident(
  db: Kysely<Database>, id: number, change: ManualChange, actor: string, comment?: string,
  events: IncidentEventsDeps = TIMELINE_ONLY,
): Promise<ChangeOutcome> {
  const outcome = await workIncident(db, id, decideChange(change, actor, comment), events);
  return outcomeOf(outcome);
}

/**
 * The same change inside `trx`, its event returned for the caller to commit once (the
 * pipeline's acknowledge stage emits it to the transaction's event log).
 */
export async function changeIncidentIn(
  trx: Trx, id: number, change: ManualChange, actor: string, comment?: string,
): Promise<ChangeOutcome> {
  return outcomeOf(await workIncidentIn(trx, id, decideChange(change, actor, comment)));
}

const outcomeOf = (outcome: WorkOutcome): ChangeOutcome => {
  if (!outcome.ok) return outcome;
  const [event] = outcome.events;
  if (event === undefined) throw new Error('a lifecycle change decided no event');
  return { ok: true, incident: outcome.incident, event };
};

/** What a lifecycle change does to the locked incident: its update and its one event, or a conflict. */
function decideChange(
  change: ManualChange, actor: string, comment?: string,
): (current: LockedIncident) => IncidentWork {
  const step: LifecycleStep = typeof change === 'string' ? { action: change } : { action: 'hold', state: change.state };
  return (current) => {
    const next = transition({ status: current.status, acknowledged: current.acknowledged_at !== null }, step);
    if (next === undefined) return { conflict: true };
    const at = current.now;
    const before = { pausedAt: current.paused_at, pausedMs: current.paused_total };
    const pause = pauseAfter(before, current.status, next, at);
    const set: Updateable<IncidentsTable> = {
      status: next, paused_at: pause.pausedAt, paused_ms: pause.pausedMs,
      ...(next === 'acknowledged' && current.acknowledged_at === null ? { acknowledged_at: at } : {}),
      ...(next === 'resolved' ? { resolved_at: at, resolved_by: 'manual', grouping_open: false } : {}),
    };
    const said = comment !== undefined && comment !== '' ? { comment } : {};
    const by = { incidentId: current.id, by: actor, ...said };
    const event: IncidentEvent = step.action === 'acknowledge' ? { kind: 'acknowledged', ...by }
      : step.action === 'resolve' ? { kind: 'resolved', ...by }
        : step.action === 'hold' ? { kind: 'held', ...by, state: step.state, ...reasonOf(change) }
          : { kind: 'resumed', ...by, status: next, heldMs: pause.pausedMs - before.pausedMs };
    return { set, events: [event] };
  };
}

const reasonOf = (change: ManualChange): { reason?: string } =>
  (typeof change !== 'string' && change.reason !== undefined && change.reason !== '' ? { reason: change.reason } : {});
