import type { Kysely } from 'kysely';
import type { Database, IncidentStatus } from './database';

const SUMMARY = ['id', 'title', 'status', 'priority', 'group_key', 'alert_count', 'opened_at', 'resolved_at',
  'rule', 'acknowledged_at', 'first_alert_at', 'last_alert_at'] as const;

export interface ListOptions {
  readonly statuses?: readonly IncidentStatus[];
  /** @defaultValue 100 */
  readonly limit?: number;
}

/** Newest first. */
export async function listIncidents(db: Kysely<Database>, opts: ListOptions = {}) {
  let q = db.selectFrom('incidents').select(SUMMARY).orderBy('opened_at', 'desc').orderBy('id', 'desc').limit(opts.limit ?? 100);
  if (opts.statuses && opts.statuses.length > 0) q = q.where('status', 'in', [...opts.statuses]);
  return q.execute();
}

/** The incident with its alert episodes and its timeline, or undefined. */
export async function getIncident(db: Kysely<Database>, id: number) {
  const incident = await db.selectFrom('incidents').select(SUMMARY).where('id', '=', id).executeTakeFirst();
  if (incident === undefined) return undefined;
  const alerts = await db.selectFrom('incident_alerts as ia').innerJoin('alerts as a', 'a.fingerprint', 'ia.fingerprint')
    .select(['ia.fingerprint', 'a.labels', 'a.annotations', 'ia.status', 'ia.starts_at', 'ia.ends_at', 'ia.received_at', 'ia.linked_at'])
    .where('ia.incident_id', '=', id).orderBy('ia.linked_at').orderBy('ia.fingerprint').execute();
  const timeline = await db.selectFrom('incident_events').select(['at', 'kind', 'actor', 'detail'])
    .where('incident_id', '=', id).orderBy('id').execute();
  return { ...incident, alerts, timeline };
}

export async function countOpenIncidents(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('incidents').select((eb) => eb.fn.countAll<string>().as('n'))
    .where('status', '!=', 'resolved').executeTakeFirstOrThrow();
  return Number(row.n);
}
