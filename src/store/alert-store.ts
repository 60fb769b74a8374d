import { sql, type RawBuilder, type Selectable, type Transaction } from 'kysely';
import type { DispositionDecision } from '../domain/alert-disposition';
import type { AlertState } from '../domain/alert-state';
import type { AlertsTable, Database, NewAlertRow } from './database';
import { anyOf, unnest, type PgType } from './unnest';

/** An alert row as written: labels and annotations as objects (unnest sends each as one JSON document). */
export type AlertRow = Omit<NewAlertRow, 'labels' | 'annotations'> & {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
};

const ALERT_COLUMNS: readonly (readonly [keyof AlertRow, PgType])[] = [
  ['fingerprint', 'text'], ['source', 'text'], ['status', 'text'], ['labels', 'jsonb'], ['annotations', 'jsonb'],
  ['generator_url', 'text'], ['starts_at', 'timestamptz'], ['ends_at', 'timestamptz'], ['occurrences', 'integer'],
  ['first_seen_at', 'timestamptz'], ['last_seen_at', 'timestamptz'], ['expires_at', 'timestamptz'],
];
const ALERT_COLUMN_NAMES = ALERT_COLUMNS.map(([name]) => name);

type Trx = Transaction<Database>;

/** Locks the stored states of `fingerprints` (in sorted order, so concurrent batches cannot deadlock). */
export async function lockAlertStates(trx: Trx, fingerprints: readonly string[]): Promise<Map<string, AlertState>> {
  const states = new Map<string, AlertState>();
  if (fingerprints.length === 0) return states;
  const rows = await trx.selectFrom('alerts')
    .select(['fingerprint', 'status', 'starts_at', 'ends_at', 'occurrences'])
    .where('fingerprint', '=', anyOf([...fingerprints].sort(), 'text')).orderBy('fingerprint').forUpdate()
    .execute();
  for (const r of rows) states.set(r.fingerprint, alertStateOf(r));
  return states;
}

type StoredState = Pick<Selectable<AlertsTable>, 'status' | 'starts_at' | 'ends_at' | 'occurrences'>;

/** An alert's state as its row stores it. */
export const alertStateOf = (r: StoredState): AlertState => ({
  status: r.status, startsAt: r.starts_at.toISOString(), endsAt: r.ends_at ? r.ends_at.toISOString() : null,
  occurrences: r.occurrences,
});

/** Inserts alerts not stored yet; returns the fingerprints inserted (a concurrent batch may have won the others). */
export async function insertNewAlerts(trx: Trx, rows: readonly AlertRow[]): Promise<Set<string>> {
  const inserted = new Set<string>();
  if (rows.length === 0) return inserted;
  for (const r of await insertion(trx, rows).execute()) inserted.add(r.fingerprint);
  return inserted;
}

/**
 * The insert of insertNewAlerts, in fingerprint order (as every batch inserts): returns the
 * fingerprints inserted. With `where` (a condition on `r`, the row), only the rows it holds for.
 */
export const insertion = (trx: Trx, rows: readonly AlertRow[], where?: RawBuilder<boolean>) => {
  const sorted = unnest([...rows].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1)), ALERT_COLUMNS);
  const names = sql.join(ALERT_COLUMN_NAMES.map((n) => sql.ref(n)));
  return trx.insertInto('alerts').columns(ALERT_COLUMN_NAMES)
    .expression(where === undefined ? sorted
      : sql`select * from (${sorted}) as r(${names}) where ${where} order by r.fingerprint`)
    .onConflict((oc) => oc.column('fingerprint').doNothing()).returning('fingerprint');
};

const UPDATE_COLUMNS: readonly (readonly [keyof AlertUpdate, PgType])[] = [
  ...ALERT_COLUMNS.filter(([name]) => name !== 'first_seen_at' && name !== 'source'), ['newEpisode', 'boolean'],
];

type AlertUpdate = AlertRow & { readonly newEpisode: boolean };

/**
 * Writes new states of alerts this transaction has locked. `first_seen_at` is kept. A row whose
 * latest episode opened in this batch (`newEpisodes`) forgets what became of the one before
 * (disposition and release): the later stages decide the new one's.
 */
export async function updateAlerts(
  trx: Trx, rows: readonly AlertRow[], newEpisodes: ReadonlySet<string> = new Set(),
): Promise<LabelChanges> {
  const changes: Map<string, number> = new Map();
  if (rows.length === 0) return changes;
  const { rows: updated } = await update(rows, newEpisodes).execute(trx);
  for (const { source, labels_changed } of updated) {
    if (labels_changed) changes.set(source, (changes.get(source) ?? 0) + 1);
  }
  return changes;
}

/**
 * Inserts alerts not stored yet (as insertNewAlerts) and updates alerts this transaction has
 * locked (as updateAlerts), in one statement: the rows are apart, and the update waits for no
 * lock, so locks are taken as by the two statements. Returns the fingerprints inserted and the
 * label changes.
 */
export async function writeAlerts(
  trx: Trx, inserts: readonly AlertRow[], updates: readonly AlertRow[], newEpisodes: ReadonlySet<string>,
): Promise<{ inserted: Set<string>; labelChanges: Map<string, number> }> {
  if (updates.length === 0) return { inserted: await insertNewAlerts(trx, inserts), labelChanges: new Map() };
  if (inserts.length === 0) {
    return { inserted: new Set(), labelChanges: new Map(await updateAlerts(trx, updates, newEpisodes)) };
  }
  const { rows } = await sql<{ inserted: string | null; source: string | null }>`with
      inserted as (${insertion(trx, inserts)}),
      updated as (${update(updates, newEpisodes)})
    select fingerprint as inserted, null as source from inserted
    union all select null, source from updated where labels_changed`.execute(trx);
  const inserted = new Set<string>();
  const labelChanges = new Map<string, number>();
  for (const r of rows) {
    if (r.inserted !== null) inserted.add(r.inserted);
    if (r.source !== null) labelChanges.set(r.source, (labelChanges.get(r.source) ?? 0) + 1);
  }
  return { inserted, labelChanges };
}

/** The update of updateAlerts: returns each row's source, and whether its labels changed. */
function update(rows: readonly AlertRow[], newEpisodes: ReadonlySet<string>) {
  const sorted = [...rows].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1))
    .map((r) => ({ ...r, newEpisode: newEpisodes.has(r.fingerprint) }));
  const names = sql.join(UPDATE_COLUMNS.map(([name]) => sql.ref(name === 'newEpisode' ? 'new_episode' : name)));
  // `o` is the row as it was before this statement: a firing alert re-sent firing with other
  // labels is counted (quell_fingerprint_label_changes_total), a measure of the fingerprint's
  // quality (two alerts merged flip its labels). Not across a resolve: many sources send a
  // recovery with its own severity, and the next episode with the firing one again.
  return sql<{ source: string; labels_changed: boolean }>`update alerts a
    set status = v.status, labels = v.labels, annotations = v.annotations,
      generator_url = v.generator_url, starts_at = v.starts_at, ends_at = v.ends_at, occurrences = v.occurrences,
      last_seen_at = v.last_seen_at, expires_at = v.expires_at,
      -- Sent again: the source fires it (src/worker/reconcile.ts).
      missing_since = null,
      disposition = case when v.new_episode then null else a.disposition end,
      disposition_detail = case when v.new_episode then null else a.disposition_detail end,
      -- A held alert that resolves is held no more (src/worker/suppression-release.ts).
      release_at = case when v.new_episode or v.status = 'resolved' then null else a.release_at end
    from (${unnest(sorted, UPDATE_COLUMNS)}) as v(${names}), alerts o
    where a.fingerprint = v.fingerprint and o.fingerprint = v.fingerprint and ${byKey(sorted)}
    returning a.source,
      o.status = 'firing' and a.status = 'firing' and o.labels is distinct from a.labels as labels_changed`;
}

/** Alerts whose labels changed under their fingerprint in one update, by source. */
export type LabelChanges = ReadonlyMap<string, number>;

interface DispositionRow {
  readonly fingerprint: string;
  readonly disposition: string;
  readonly detail: Readonly<Record<string, unknown>>;
  readonly releaseAt: string | null;
}

const DISPOSITION_COLUMNS: readonly (readonly [keyof DispositionRow, PgType])[] = [
  ['fingerprint', 'text'], ['disposition', 'text'], ['detail', 'jsonb'], ['releaseAt', 'timestamptz'],
];

/** The last decision per fingerprint, sorted by fingerprint (the order rows are locked in). */
function lastPerFingerprint(decisions: readonly DispositionDecision[]): DispositionRow[] {
  const last = new Map(decisions.map((d) => [d.fingerprint, d]));
  return [...last.values()].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1)).map((d) => ({
    fingerprint: d.fingerprint, disposition: d.disposition, detail: d.detail,
    releaseAt: d.releaseAt ?? null,
  }));
}

/**
 * The rows by primary key. Joined only with an unnest (whose size the planner knows), an update
 * of a batch's rows would hash the whole table; this makes it an index lookup.
 */
const byKey = (rows: readonly { fingerprint: string }[]) =>
  sql`a.fingerprint = ${anyOf(rows.map((r) => r.fingerprint), 'text')}`;

/**
 * Writes what became of alerts this transaction holds (dedup locked or inserted their rows),
 * one statement for all; the last decision per fingerprint wins.
 */
export async function setDispositions(trx: Trx, decisions: readonly DispositionDecision[]): Promise<void> {
  if (decisions.length === 0) return;
  const rows = lastPerFingerprint(decisions);
  await sql`update alerts a set disposition = v.disposition, disposition_detail = v.detail, release_at = v.release_at
    from (${unnest(rows, DISPOSITION_COLUMNS)}) as v(fingerprint, disposition, detail, release_at)
    where a.fingerprint = v.fingerprint and ${byKey(rows)}`.execute(trx);
}

/**
 * Marks alerts `stale`, keeping what they were in the detail's `previous` (one level: a stale
 * alert marked stale again keeps the disposition from before the first), `incident` included,
 * which is not stored but read from the episode's link (alert-queries.ts).
 */
export async function markStale(trx: Trx, decisions: readonly DispositionDecision[]): Promise<void> {
  if (decisions.length === 0) return;
  const rows = lastPerFingerprint(decisions);
  await sql`update alerts a set disposition = 'stale', release_at = null,
      disposition_detail = v.detail || jsonb_build_object('previous', case
        when a.disposition = 'stale' then a.disposition_detail->'previous'
        when ia.incident_id is not null
          then jsonb_build_object('disposition', 'incident',
            'detail', jsonb_build_object('incident_id', ia.incident_id))
        else jsonb_build_object('disposition', a.disposition, 'detail', a.disposition_detail) end)
    from (${unnest(rows, DISPOSITION_COLUMNS)}) as v(fingerprint, disposition, detail, release_at)
      left join incident_alerts ia on ia.fingerprint = v.fingerprint
        and ia.starts_at = (select a2.starts_at from alerts a2 where a2.fingerprint = v.fingerprint)
    where a.fingerprint = v.fingerprint and ${byKey(rows)}`.execute(trx);
}
