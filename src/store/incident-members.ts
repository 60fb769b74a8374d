import type { Kysely } from 'kysely';
import type { AlertStatus, Labels } from '../domain/alert';
import type { Database } from './database';

export interface IncidentMember {
  readonly incidentId: number;
  readonly fingerprint: string;
  readonly labels: Labels;
  readonly status: AlertStatus;
  readonly startsAt: Date;
}

/**
 * Every alert episode of every incident, by incident then in the order they were linked: one
 * query where paging through each incident's alerts (alertsOfIncident) would be one per
 * incident. For whole-database reads of a small database (`quell replay`, rule tests), not the
 * API.
 */
export async function allIncidentMembers(db: Kysely<Database>): Promise<Map<number, IncidentMember[]>> {
  const rows = await db.selectFrom('incident_alerts as ia').innerJoin('alerts as a', 'a.fingerprint', 'ia.fingerprint')
    .select(['ia.incident_id', 'ia.fingerprint', 'a.labels', 'ia.status', 'ia.starts_at'])
    .orderBy('ia.incident_id').orderBy('ia.linked_at').orderBy('ia.fingerprint').orderBy('ia.starts_at')
    .execute();
  const out = new Map<number, IncidentMember[]>();
  for (const r of rows) {
    const member = {
      incidentId: r.incident_id, fingerprint: r.fingerprint, labels: r.labels, status: r.status, startsAt: r.starts_at,
    };
    const list = out.get(r.incident_id);
    if (list) list.push(member); else out.set(r.incident_id, [member]);
  }
  return out;
}
