import { sql, type Kysely } from 'kysely';
import type { AlertStatus } from '../domain/alert';
import type { Selectable } from 'kysely';
import type { Database, IncidentStatus, IncidentsTable } from './database';
import { exactTime, type KeysetSource } from './keyset';

const SUMMARY = ['id', 'title', 'status', 'priority', 'group_key', 'alert_count', 'opened_at', 'resolved_at',
  'rule', 'acknowledged_at', 'first_alert_at', 'last_alert_at'] as const;

/** Incidents newest first: (opened_at, id) descending. */
export type IncidentKey = readonly [openedAt: string, id: number];
/** An incident's alert episodes in the order they were linked. */
export type AlertKey = readonly [linkedAt: string, fingerprint: string, startsAt: string];
/** Timeline entries in the order they were written: the entry's id (a bigint, as text). */
export type EventKey = readonly [id: string];

/** A timeline entry lists at most this many fingerprints; `fingerprint_count` has the total. */
export const TIMELINE_FINGERPRINTS = 20;

export type IncidentSummary = Pick<Selectable<IncidentsTable>, (typeof SUMMARY)[number]>;

export interface ListOptions {
  readonly statuses?: readonly IncidentStatus[] | undefined;
  /** @defaultValue 100 */
  readonly limit?: number;
}

/** Incidents newest first, as a keyset source. */
export function incidentsInOrder(
  db: Kysely<Database>, statuses?: readonly IncidentStatus[],
): KeysetSource<IncidentKey, IncidentSummary> {
  return async (after, limit) => {
    let q = db.selectFrom('incidents').select([...SUMMARY, exactTime('opened_at').as('opened_key')])
      .orderBy('opened_at', 'desc').orderBy('id', 'desc').limit(limit);
    if (statuses && statuses.length > 0) q = q.where('status', 'in', [...statuses]);
    if (after) q = q.where(sql`(opened_at, id)`, '<', sql`(${after[0]}::timestamptz, ${after[1]}::integer)`);
    const rows = await q.execute();
    return rows.map(({ opened_key, ...row }) => ({ key: [opened_key, row.id] as const, row }));
  };
}

/** The newest incidents. */
export async function listIncidents(db: Kysely<Database>, opts: ListOptions = {}): Promise<IncidentSummary[]> {
  return (await incidentsInOrder(db, opts.statuses)(undefined, opts.limit ?? 100)).map((k) => k.row);
}

/**
 * The incident's own fields, or undefined; with its root-cause candidate (`root_cause`: the CI,
 * its labels, the paths to it), how many CIs its alerts are bound to, and the known error whose
 * workaround it got (`workaround`, `known_error_problem_id`).
 */
export async function findIncident(db: Kysely<Database>, id: number) {
  return db.selectFrom('incidents')
    .select([...SUMMARY, 'root_cause', 'service', sql<number>`cardinality(cis)`.as('ci_count'),
      'assignee', 'assignment_group', 'impact', 'urgency', 'paused_at', sql<number>`paused_ms::float8`.as('paused_ms'),
      'workaround', 'known_error_problem_id'])
    .where('id', '=', id).executeTakeFirst();
}

export interface AlertSummary {
  readonly total: number;
  readonly firing: number;
  readonly resolved: number;
}

/** How many alert episodes the incident has, by status. */
export async function alertSummary(db: Kysely<Database>, incidentId: number): Promise<AlertSummary> {
  return db.selectFrom('incident_alerts').where('incident_id', '=', incidentId)
    .select([
      sql<number>`count(*)::int`.as('total'),
      sql<number>`(count(*) filter (where status = 'firing'))::int`.as('firing'),
      sql<number>`(count(*) filter (where status = 'resolved'))::int`.as('resolved'),
    ])
    .executeTakeFirstOrThrow();
}

/** The incident's alert episodes with their labels and annotations, in the order they were linked. */
export function alertsOfIncident(db: Kysely<Database>, incidentId: number, status?: AlertStatus) {
  return async (after: AlertKey | undefined, limit: number) => {
    let q = db.selectFrom('incident_alerts as ia').innerJoin('alerts as a', 'a.fingerprint', 'ia.fingerprint')
      .select(['ia.fingerprint', 'a.labels', 'a.annotations', 'ia.status', 'ia.starts_at', 'ia.ends_at',
        'ia.received_at', 'ia.linked_at',
        exactTime('ia.linked_at').as('linked_key'), exactTime('ia.starts_at').as('starts_key')])
      .where('ia.incident_id', '=', incidentId)
      .orderBy('ia.linked_at').orderBy('ia.fingerprint').orderBy('ia.starts_at').limit(limit);
    if (status) q = q.where('ia.status', '=', status);
    if (after) {
      q = q.where(sql`(ia.linked_at, ia.fingerprint, ia.starts_at)`, '>',
        sql`(${after[0]}::timestamptz, ${after[1]}::text, ${after[2]}::timestamptz)`);
    }
    const rows = await q.execute();
    return rows.map(({ linked_key, starts_key, ...row }) => ({
      key: [linked_key, row.fingerprint, starts_key] as const, row,
    }));
  };
}

/**
 * The incident's timeline, oldest first. A batch's entry names every fingerprint it linked or
 * resolved, thousands in a storm: an entry lists the first TIMELINE_FINGERPRINTS of them and
 * `fingerprint_count`; the alerts themselves are paged through alertsOfIncident.
 */
export function timelineOfIncident(db: Kysely<Database>, incidentId: number) {
  const sample = `$[0 to ${TIMELINE_FINGERPRINTS - 1}]`;
  return async (after: EventKey | undefined, limit: number) => {
    let q = db.selectFrom('incident_events').select(['id', 'at', 'kind', 'actor',
      sql<Record<string, unknown>>`case when jsonb_typeof(detail->'fingerprints') = 'array'
        then detail || jsonb_build_object(
          'fingerprints', jsonb_path_query_array(detail->'fingerprints', ${sample}::jsonpath),
          'fingerprint_count', jsonb_array_length(detail->'fingerprints'))
        else detail end`.as('detail')])
      .where('incident_id', '=', incidentId).orderBy('id').limit(limit);
    if (after) q = q.where('id', '>', sql<string>`${after[0]}::bigint`);
    const rows = await q.execute();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion -- int8: as the driver gives it
    return rows.map(({ id, ...row }) => ({ key: [String(id)] as const, row }));
  };
}

export async function countOpenIncidents(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('incidents').select((eb) => eb.fn.countAll<string>().as('n'))
    .where('status', '!=', 'resolved').executeTakeFirstOrThrow();
  return Number(row.n);
}
