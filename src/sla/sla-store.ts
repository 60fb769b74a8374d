import { sql, type Kysely, type Transaction } from 'kysely';
import { ACTIVE_STATUSES } from '../domain/incident-lifecycle';
import { PAUSE_KINDS, pausesOf, type ClockFacts, type PauseInterval } from '../domain/service-level';
import type { Database } from '../store/database';
import { anyOf, unnest } from '../store/unnest';

type Db = Kysely<Database> | Transaction<Database>;

/** An incident the sweep looks at, with what its clocks are computed from. */
export interface SweptIncident extends ClockFacts {
  readonly id: number;
  readonly title: string;
  readonly status: string;
  /** It was ever held (the lifecycle's `paused_at` / `paused_ms`): only then are its pauses read. */
  readonly everHeld: boolean;
}

/** One decision of the sweep, once per incident, clock and level. */
export interface SlaFlag {
  readonly incidentId: number;
  readonly clock: string;
  readonly level: string;
}

export const flagKey = (f: SlaFlag): string => `${f.incidentId}\u0000${f.clock}\u0000${f.level}`;

/**
 * The incidents whose clocks may still move or have just stopped: every active one (the
 * statuses index), and those resolved since `resolvedSince` (their final times, for the metrics).
 */
export async function readSweptIncidents(trx: Db, resolvedSince: Date): Promise<SweptIncident[]> {
  const columns = ['id', 'title', 'status', 'priority', 'opened_at', 'acknowledged_at', 'resolved_at'] as const;
  const held = sql<boolean>`paused_at is not null or paused_ms > 0`.as('ever_held');
  const rows = await trx.selectFrom('incidents').select([...columns, held]).where('status', 'in', [...ACTIVE_STATUSES])
    .union(trx.selectFrom('incidents').select([...columns, held]).where('resolved_at', '>=', resolvedSince))
    .execute();
  return rows.sort((a, b) => a.id - b.id).map((r) => ({
    id: r.id, title: r.title, status: r.status, priority: r.priority, everHeld: r.ever_held,
    openedAt: r.opened_at, acknowledgedAt: r.acknowledged_at, resolvedAt: r.resolved_at, pauses: [],
  }));
}

/** The incidents with the pauses of those ever held read from their timelines (one statement). */
export async function withPauses(db: Db, incidents: readonly SweptIncident[]): Promise<SweptIncident[]> {
  const pauses = await readPauses(db, incidents.filter((i) => i.everHeld).map((i) => i.id));
  return incidents.map((i) => ({ ...i, pauses: pauses.get(i.id) ?? [] }));
}

/** Each incident's pauses, from its timeline (see pausesOf). */
export async function readPauses(db: Db, ids: readonly number[]): Promise<Map<number, PauseInterval[]>> {
  const out = new Map<number, PauseInterval[]>();
  if (ids.length === 0) return out;
  const rows = await db.selectFrom('incident_events')
    .select(['incident_id', 'kind', 'at', sql<string | null>`detail->>'state'`.as('state')])
    .where('incident_id', '=', anyId(ids)).where('kind', 'in', [...PAUSE_KINDS])
    .orderBy('incident_id').orderBy('id').execute();
  const byIncident = new Map<number, typeof rows>();
  for (const r of rows) byIncident.set(r.incident_id, [...(byIncident.get(r.incident_id) ?? []), r]);
  for (const [id, entries] of byIncident) out.set(id, pausesOf(entries));
  return out;
}

/** The flags already set for these incidents. */
export async function readFlags(trx: Db, ids: readonly number[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await trx.selectFrom('sla_flags').select(['incident_id', 'clock', 'level'])
    .where('incident_id', '=', anyId(ids)).execute();
  return new Set(rows.map((r) => flagKey({ incidentId: r.incident_id, clock: r.clock, level: r.level })));
}

/**
 * Sets flags; returns the keys of those this call set (a flag another sweep set first is not
 * returned). Key order: two transactions setting the same flags lock them in one order.
 */
export async function insertFlags(trx: Transaction<Database>, flags: readonly SlaFlag[]): Promise<Set<string>> {
  if (flags.length === 0) return new Set();
  const sorted = [...new Map(flags.map((f) => [flagKey(f), f])).values()]
    .sort((a, b) => a.incidentId - b.incidentId
      || (a.clock < b.clock ? -1 : a.clock > b.clock ? 1 : a.level < b.level ? -1 : 1));
  const rows = await trx.insertInto('sla_flags').columns(['incident_id', 'clock', 'level'])
    .expression(unnest(sorted, [['incidentId', 'integer'], ['clock', 'text'], ['level', 'text']]))
    .onConflict((oc) => oc.columns(['incident_id', 'clock', 'level']).doNothing())
    .returning(['incident_id', 'clock', 'level']).execute();
  return new Set(rows.map((r) => flagKey({ incidentId: r.incident_id, clock: r.clock, level: r.level })));
}

/** `= any($1::integer[])`: one parameter however many ids (an `in` list stops at 65535). */
function anyId(ids: readonly number[]) {
  return anyOf([...new Set(ids)], 'integer');
}

/** How long the flags of a resolved incident, and notification outcomes, are kept. */
export const SLA_RETENTION_DAYS = 30;

/**
 * Forgets the flags of incidents resolved more than the retention ago (one reopened after that
 * would be flagged, and observed in the metrics, again) and notification outcomes as old;
 * returns how many rows went.
 */
export async function pruneSlaRecords(db: Kysely<Database>, retentionDays = SLA_RETENTION_DAYS): Promise<number> {
  const cutoff = sql<Date>`now() - make_interval(days => ${retentionDays})`;
  const flags = await db.deleteFrom('sla_flags')
    .where('incident_id', 'in', (eb) => eb.selectFrom('incidents').select('id').where('resolved_at', '<', cutoff))
    .executeTakeFirst();
  const deliveries = await db.deleteFrom('notify_deliveries').where('updated_at', '<', cutoff)
    .where('status', '!=', 'sending').executeTakeFirst();
  return Number(flags.numDeletedRows) + Number(deliveries.numDeletedRows);
}
