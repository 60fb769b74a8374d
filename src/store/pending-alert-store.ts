import { sql, type Kysely, type Transaction } from 'kysely';
import type { WindowMember } from '../domain/group-window';
import type { Database } from './database';
import { anyOf, unnest } from './unnest';

type Trx = Transaction<Database>;

/** A firing alert waiting for its group's `min_alerts`. */
export interface PendingAlert extends WindowMember {
  readonly groupKey: string;
  readonly rule: string;
  readonly title: string;
  readonly priority: number;
  /** Its episode's start, as stored (ISO 8601). */
  readonly episodeStartsAt: string;
  readonly receivedAt: string;
}

/** The groups' pending alerts (not expired). */
export async function readPendingAlerts(trx: Trx, groupKeys: readonly string[]): Promise<Map<string, PendingAlert[]>> {
  const out = new Map<string, PendingAlert[]>();
  if (groupKeys.length === 0) return out;
  const rows = await trx.selectFrom('pending_alerts')
    .select(['fingerprint', 'starts_at', 'group_key', 'rule', 'title', 'priority', 'received_at'])
    .where('expired', '=', sql.lit(false)).where('group_key', '=', anyOf(groupKeys, 'text'))
    .orderBy('starts_at').execute();
  for (const r of rows) {
    const list = out.get(r.group_key) ?? [];
    list.push({
      fingerprint: r.fingerprint, startsAt: r.starts_at.getTime(), episodeStartsAt: r.starts_at.toISOString(),
      groupKey: r.group_key, rule: r.rule, title: r.title, priority: r.priority,
      receivedAt: r.received_at.toISOString(),
    });
    out.set(r.group_key, list);
  }
  return out;
}

/** Stores alerts as pending (or expired), one row per fingerprint: its latest episode. */
export async function putPendingAlerts(
  trx: Trx, alerts: readonly (Omit<PendingAlert, 'startsAt'> & { readonly expired: boolean })[], now: Date,
): Promise<void> {
  if (alerts.length === 0) return;
  const latest = new Map<string, (typeof alerts)[number]>();
  for (const a of alerts) {
    const seen = latest.get(a.fingerprint);
    const later = seen === undefined || Date.parse(a.episodeStartsAt) > Date.parse(seen.episodeStartsAt);
    if (later) latest.set(a.fingerprint, a);
  }
  const rows = [...latest.values()].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1))
    .map((a) => ({ ...a, pendingSince: now.toISOString() }));
  await trx.insertInto('pending_alerts')
    .columns(['fingerprint', 'starts_at', 'group_key', 'rule', 'title', 'priority', 'received_at', 'expired',
      'pending_since'])
    .expression(unnest(rows, [
      ['fingerprint', 'text'], ['episodeStartsAt', 'timestamptz'], ['groupKey', 'text'], ['rule', 'text'],
      ['title', 'text'],
      ['priority', 'smallint'], ['receivedAt', 'timestamptz'], ['expired', 'boolean'], ['pendingSince', 'timestamptz'],
    ]))
    .onConflict((oc) => oc.column('fingerprint').doUpdateSet((eb) => ({
      starts_at: eb.ref('excluded.starts_at'), group_key: eb.ref('excluded.group_key'), rule: eb.ref('excluded.rule'),
      title: eb.ref('excluded.title'), priority: eb.ref('excluded.priority'),
      received_at: eb.ref('excluded.received_at'),
      expired: eb.ref('excluded.expired'), pending_since: eb.ref('excluded.pending_since'),
    })))
    .execute();
}

export interface Episode {
  readonly fingerprint: string;
  readonly startsAt: string;
}

/** Marks pending alerts expired: their window passed short of `min_alerts`. */
export async function expirePendingAlerts(trx: Trx, episodes: readonly Episode[]): Promise<void> {
  if (episodes.length === 0) return;
  await sql`update pending_alerts p set expired = true
    from (${unnest(episodes, [['fingerprint', 'text'], ['startsAt', 'timestamptz']])}) as v(fingerprint, starts_at)
    where p.fingerprint = v.fingerprint and p.starts_at = v.starts_at`.execute(trx);
}

/**
 * Forgets pending rows whose alert has since resolved or fired anew outside of them (left by
 * a rule whose `min_alerts` was lowered, or whose rule changed); returns how many.
 */
export async function prunePendingAlerts(db: Kysely<Database>): Promise<number> {
  const result = await sql`delete from pending_alerts p using alerts a
    where a.fingerprint = p.fingerprint and (a.status = 'resolved' or a.starts_at <> p.starts_at)`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** Removes the pending rows of these episodes (they joined an incident, or resolved). */
export async function removePendingAlerts(trx: Trx, episodes: readonly Episode[]): Promise<void> {
  if (episodes.length === 0) return;
  await sql`delete from pending_alerts p
    using (${unnest(episodes, [['fingerprint', 'text'], ['startsAt', 'timestamptz']])}) as v(fingerprint, starts_at)
    where p.fingerprint = v.fingerprint and p.starts_at = v.starts_at`.execute(trx);
}
