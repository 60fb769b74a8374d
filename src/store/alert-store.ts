import { sql, type Transaction } from 'kysely';
import type { AlertState } from '../domain/alert-state';
import type { Database, NewAlertRow } from './database';
import { unnest, type PgType } from './unnest';

const ALERT_COLUMNS: readonly (readonly [keyof NewAlertRow & string, PgType])[] = [
  ['fingerprint', 'text'], ['source', 'text'], ['status', 'text'], ['labels', 'jsonb'], ['annotations', 'jsonb'],
  ['generator_url', 'text'], ['starts_at', 'timestamptz'], ['ends_at', 'timestamptz'], ['occurrences', 'integer'],
  ['first_seen_at', 'timestamptz'], ['last_seen_at', 'timestamptz'],
];
const ALERT_COLUMN_NAMES = ALERT_COLUMNS.map(([name]) => name);

type Trx = Transaction<Database>;

/** Locks the stored states of `fingerprints` (in sorted order, so concurrent batches cannot deadlock). */
export async function lockAlertStates(trx: Trx, fingerprints: readonly string[]): Promise<Map<string, AlertState>> {
  const states = new Map<string, AlertState>();
  if (fingerprints.length === 0) return states;
  const rows = await trx.selectFrom('alerts')
    .select(['fingerprint', 'status', 'starts_at', 'ends_at', 'occurrences'])
    .where('fingerprint', '=', sql<string>`any(${[...fingerprints].sort()}::text[])`).orderBy('fingerprint').forUpdate().execute();
  for (const r of rows) {
    states.set(r.fingerprint, {
      status: r.status,
      startsAt: r.starts_at.toISOString(),
      endsAt: r.ends_at ? r.ends_at.toISOString() : null,
      occurrences: r.occurrences,
    });
  }
  return states;
}

/** Inserts alerts not stored yet; returns the fingerprints inserted (a concurrent batch may have won the others). */
export async function insertNewAlerts(trx: Trx, rows: readonly NewAlertRow[]): Promise<Set<string>> {
  const inserted = new Set<string>();
  if (rows.length === 0) return inserted;
  const sorted = [...rows].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
  const out = await trx.insertInto('alerts').columns(ALERT_COLUMN_NAMES).expression(unnest(sorted, ALERT_COLUMNS))
    .onConflict((oc) => oc.column('fingerprint').doNothing()).returning('fingerprint').execute();
  for (const r of out) inserted.add(r.fingerprint);
  return inserted;
}

/** Writes new states of alerts this transaction has locked. `first_seen_at` is kept. */
export async function updateAlerts(trx: Trx, rows: readonly NewAlertRow[]): Promise<void> {
  if (rows.length === 0) return;
  const sorted = [...rows].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
  await trx.insertInto('alerts').columns(ALERT_COLUMN_NAMES).expression(unnest(sorted, ALERT_COLUMNS))
    .onConflict((oc) => oc.column('fingerprint').doUpdateSet((eb) => ({
      status: eb.ref('excluded.status'),
      labels: eb.ref('excluded.labels'),
      annotations: eb.ref('excluded.annotations'),
      generator_url: eb.ref('excluded.generator_url'),
      starts_at: eb.ref('excluded.starts_at'),
      ends_at: eb.ref('excluded.ends_at'),
      occurrences: eb.ref('excluded.occurrences'),
      last_seen_at: eb.ref('excluded.last_seen_at'),
    })))
    .execute();
}
