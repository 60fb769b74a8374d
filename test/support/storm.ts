import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { CanonicalAlert } from '../../src/domain/alert';
import { fingerprint } from '../../src/domain/fingerprint';
import type { IngestJob, IngestQueue } from '../../src/queue/ingest-queue';
import type { Database } from '../../src/store/database';

/** A firing Alertmanager-shaped alert as the connector would have normalised it. */
export function firingAlert(labels: Record<string, string>, startsAt = '2026-11-20T10:00:00Z'): CanonicalAlert {
  return { source: 'alertmanager', fingerprint: fingerprint('alertmanager', labels), status: 'firing', labels,
    annotations: {}, startsAt, endsAt: null };
}

/** Queues `alerts` in jobs of `perJob`, as the ingest API would. */
export async function enqueue(queue: IngestQueue, alerts: readonly CanonicalAlert[], perJob: number): Promise<number> {
  let jobs = 0;
  for (let i = 0; i < alerts.length; i += perJob) {
    const job: IngestJob = { id: randomUUID(), connector: 'alertmanager', receivedAt: new Date().toISOString(),
      alerts: alerts.slice(i, i + perJob) };
    await queue.add(job);
    jobs++;
  }
  return jobs;
}

export async function linkedCount(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('incident_alerts').select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Open incidents per group key. */
export async function openIncidentsByGroup(
  db: Kysely<Database>,
): Promise<Map<string, { count: number; alerts: number }>> {
  const rows = await db.selectFrom('incidents')
    .select(['group_key', sql<string>`count(*)`.as('n'), sql<string>`sum(alert_count)`.as('alerts')])
    .where('status', '!=', 'resolved').groupBy('group_key').execute();
  return new Map(rows.map((r) => [r.group_key, { count: Number(r.n), alerts: Number(r.alerts) }]));
}

/**
 * The record's own account of a storm, to compare with what was accepted: alerts stored, those
 * seen more than once (applied twice), distinct alerts linked to an incident, and the sum of
 * the incidents' alert counts. Counts come back as strings, as PostgreSQL's bigint does.
 */
export async function recordStats(
  db: Kysely<Database>,
): Promise<{ alerts: string; seen_twice: string; linked: string; counted: string }> {
  return db.selectFrom('alerts')
    .select([
      sql<string>`count(*)`.as('alerts'),
      sql<string>`count(*) filter (where occurrences <> 1)`.as('seen_twice'),
      sql<string>`(select count(distinct fingerprint) from incident_alerts)`.as('linked'),
      sql<string>`(select sum(alert_count) from incidents)`.as('counted'),
    ]).executeTakeFirstOrThrow();
}
