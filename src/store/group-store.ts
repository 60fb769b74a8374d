import { createHash } from 'node:crypto';
import { sql, type RawBuilder, type Transaction } from 'kysely';
import type { GroupingIncident, LatestIncident } from '../domain/group-window';
import type { WindowKind } from '../domain/grouping-policy';
import { ACTIVE_STATUSES, nextStatus, OPENED, statusesAllowing } from '../domain/incident-lifecycle';
import type { Database } from './database';
import { linkTo, type KeyedLink } from './incident-store';
import { anyOf, arrayParam, unnest } from './unnest';

type Trx = Transaction<Database>;

/** The first key of Quell's group locks (`pg_advisory_xact_lock(class, bucket)`): "QELL". */
const GROUP_LOCK_CLASS = 0x5145_4c4c;

/**
 * Group locks are taken per bucket of group keys, not per key: each advisory lock takes a slot
 * of PostgreSQL's shared lock table (`max_locks_per_transaction` x connections, 6,400 by
 * default), which a storm's batch of thousands of new groups would exhaust. Two groups of one
 * bucket only wait for each other.
 */
export const GROUP_LOCK_BUCKETS = 128;

const bucketOf = (groupKey: string): number =>
  createHash('sha256').update(groupKey).digest().readUInt32BE(0) % GROUP_LOCK_BUCKETS;

/**
 * Takes the locks of these groups until the transaction ends, for decisions over state that
 * has no row to lock (a group's pending alerts, its latest resolved incident): one transaction
 * at a time decides, over what the ones before it committed. Taken in one statement, in one
 * order (sorted buckets), so that batches do not deadlock on them.
 */
export async function lockGroups(trx: Trx, groupKeys: readonly string[]): Promise<void> {
  if (groupKeys.length === 0) return;
  const buckets = [...new Set(groupKeys.map(bucketOf))].sort((a, b) => a - b);
  await sql`select pg_advisory_xact_lock(${GROUP_LOCK_CLASS}::int4, b)
    from unnest(${arrayParam(buckets, 'integer')}) as t(b)`.execute(trx);
}

/**
 * The groups' incidents that take alerts, locked in group key order (unless the transaction
 * holds their locks already): concurrent batches lock the incidents they share in one order (an
 * UPDATE … FROM locks in the order of its join, which differs between plans, and would deadlock
 * them), and one that a person resolves meanwhile waits, or is resolved and not returned.
 */
export async function readGroupingIncidents(
  trx: Trx, groupKeys: readonly string[], lock = true,
): Promise<Map<string, GroupingIncident>> {
  const out = new Map<string, GroupingIncident>();
  if (groupKeys.length === 0) return out;
  const query = trx.selectFrom('incidents')
    .select(['id', 'group_key', 'grouping_until', 'last_alert_at', 'group_window_seconds', 'window_kind'])
    .where('grouping_open', '=', sql.lit(true)).where('group_key', '=', anyOf(groupKeys, 'text'));
  const rows = await (lock ? query.orderBy('group_key').forUpdate() : query).execute();
  for (const r of rows) out.set(r.group_key, groupingOf(r));
  return out;
}

function groupingOf(r: {
  id: number; grouping_until: Date | null; last_alert_at: Date; group_window_seconds: number; window_kind: WindowKind;
}): GroupingIncident {
  const windowMs = r.group_window_seconds * 1000;
  const groupingUntil = r.grouping_until?.getTime() ?? r.last_alert_at.getTime() + windowMs;
  return { id: r.id, groupingUntil, window: r.window_kind, windowMs };
}

/**
 * The latest incident of each group, for groups with no incident taking alerts (so their latest
 * is one that no longer does): whether Quell resolved it, and when.
 */
export async function readLatestIncidents(
  trx: Trx, groupKeys: readonly string[],
): Promise<Map<string, LatestIncident>> {
  const out = new Map<string, LatestIncident>();
  if (groupKeys.length === 0) return out;
  const rows = await trx.selectFrom('incidents').select(['id', 'group_key', 'status', 'resolved_at', 'resolved_by'])
    .distinctOn('group_key').where('grouping_open', '=', sql.lit(false))
    .where('group_key', '=', anyOf(groupKeys, 'text'))
    .orderBy('group_key').orderBy('id', 'desc').execute();
  for (const r of rows) {
    const autoResolvedAt = r.status === 'resolved' && r.resolved_by === 'auto' ? r.resolved_at : null;
    out.set(r.group_key, autoResolvedAt !== null
      ? { id: r.id, autoResolvedAt: autoResolvedAt.getTime() } : { id: r.id });
  }
  return out;
}

/** Alerts raise an incident's priority, unless a person set its impact and urgency (incident-work.ts). */
const KEPT_OR_RAISED_PRIORITY = sql`case when i.impact is not null and i.urgency is not null then i.priority
  else least(i.priority, v.priority) end`;

/** What a batch adds to an incident. Times are ISO 8601; null where it adds nothing or changes nothing. */
export interface IncidentUpdate {
  readonly id: number;
  readonly count: number;
  readonly firstAlertAt: string | null;
  readonly lastAlertAt: string | null;
  readonly priority: number | null;
  /** Its window's new end; null: unchanged. */
  readonly groupingUntil: string | null;
  /** false: its window passed; null: unchanged. */
  readonly groupingOpen: boolean | null;
}

const UPDATE_COLUMNS = [
  ['id', 'integer'], ['count', 'integer'], ['firstAlertAt', 'timestamptz'], ['lastAlertAt', 'timestamptz'],
  ['priority', 'smallint'], ['groupingUntil', 'timestamptz'], ['groupingOpen', 'boolean'],
] as const;

/**
 * Adds alerts to incidents that are not resolved (held ones too; with `grouping`: that still take alerts), and
 * moves or closes their windows; returns the ids updated. A window only grows: the end kept is
 * the later of the stored one and the new one, whichever batch wrote first. Nulls change nothing.
 * `links` (by incident id) are linked to those it updates, in the same statement; those of
 * incidents it leaves are not written.
 */
export async function updateIncidents(
  trx: Trx, updates: readonly IncidentUpdate[], grouping = false, links: readonly KeyedLink[] = [],
): Promise<Set<number>> {
  if (updates.length === 0) return new Set();
  return updateLinking(trx, links, sql<{ id: number }>`update incidents i set alert_count = i.alert_count + v.count,
      first_alert_at = least(i.first_alert_at, v.first_alert_at),
      last_alert_at = greatest(i.last_alert_at, v.last_alert_at),
      priority = ${KEPT_OR_RAISED_PRIORITY}, grouping_until = greatest(i.grouping_until, v.grouping_until),
      grouping_open = coalesce(v.grouping_open, i.grouping_open), updated_at = now()
    from (${unnest(sortById(updates), UPDATE_COLUMNS)})
      as v(id, count, first_alert_at, last_alert_at, priority, grouping_until, grouping_open)
    where i.id = v.id and i.status = ${anyOf(ACTIVE_STATUSES, 'text')} ${grouping ? sql`and i.grouping_open` : sql``}
    returning i.id`);
}

/**
 * Runs an update of incidents (`returning i.id`); the same statement links `links` (by incident
 * id) to those it updates (incident-store's linkTo). Returns the ids updated.
 */
async function updateLinking(
  trx: Trx, links: readonly KeyedLink[], update: RawBuilder<{ id: number }>,
): Promise<Set<number>> {
  const statement = links.length === 0 ? update
    : sql<{ id: number }>`with updated as (${update}), linked as (${linkTo(trx, 'updated', 'id', links)})
      select id from updated`;
  const { rows } = await statement.execute(trx);
  return new Set(rows.map((r) => r.id));
}

/** An incident Quell resolved that takes alerts again, with a new window of the rule's kind. */
export interface IncidentReopening extends IncidentUpdate {
  readonly groupingUntil: string;
  readonly groupingOpen: boolean;
  readonly window: WindowKind;
  readonly windowSeconds: number;
}

/**
 * Reopens incidents that are still resolved (the lifecycle's `reopen`); returns the ids
 * reopened (another batch may have reopened one first). `links` (by incident id) are linked to
 * those it reopens, in the same statement.
 */
export async function reopenIncidents(
  trx: Trx, reopenings: readonly IncidentReopening[], links: readonly KeyedLink[] = [],
): Promise<Set<number>> {
  if (reopenings.length === 0) return new Set();
  const reopened = nextStatus('resolved', 'reopen');
  return updateLinking(trx, links, sql<{ id: number }>`update incidents i set status = ${reopened}, resolved_at = null,
      resolved_by = null, acknowledged_at = null, alert_count = i.alert_count + v.count,
      first_alert_at = least(i.first_alert_at, v.first_alert_at),
      last_alert_at = greatest(i.last_alert_at, v.last_alert_at),
      priority = ${KEPT_OR_RAISED_PRIORITY}, grouping_until = v.grouping_until, grouping_open = v.grouping_open,
      window_kind = v.window_kind, group_window_seconds = v.window_seconds, updated_at = now()
    from (${unnest(sortById(reopenings), [...UPDATE_COLUMNS, ['window', 'text'], ['windowSeconds', 'integer']])})
      as v(id, count, first_alert_at, last_alert_at, priority, grouping_until, grouping_open, window_kind,
        window_seconds)
    where i.id = v.id and i.status = ${anyOf(statusesAllowing({ action: 'reopen' }), 'text')}
    returning i.id`);
}

export interface NewIncident {
  readonly title: string;
  readonly priority: number;
  readonly rule: string;
  readonly groupKey: string;
  readonly groupingOpen: boolean;
  readonly window: WindowKind;
  readonly windowSeconds: number;
  readonly count: number;
  readonly firstAlertAt: string;
  readonly lastAlertAt: string;
  readonly groupingUntil: string;
  /** The `service` label of its alerts, if any has one. */
  readonly service: string | null;
}

const NEW_INCIDENT_COLUMNS = ['title', 'status', 'priority', 'rule', 'group_key', 'grouping_open', 'window_kind',
  'group_window_seconds', 'alert_count', 'first_alert_at', 'last_alert_at', 'grouping_until', 'service'] as const;

function newIncidents(incidents: readonly NewIncident[]) {
  return unnest(incidents.map((g) => ({ ...g, status: OPENED })), [
    ['title', 'text'], ['status', 'text'], ['priority', 'smallint'], ['rule', 'text'], ['groupKey', 'text'],
    ['groupingOpen', 'boolean'], ['window', 'text'], ['windowSeconds', 'integer'], ['count', 'integer'],
    ['firstAlertAt', 'timestamptz'], ['lastAlertAt', 'timestamptz'], ['groupingUntil', 'timestamptz'],
    ['service', 'text'],
  ]);
}

/** What openOrLockIncidents found for a group. */
export type Met =
  | { readonly created: true; readonly id: number }
  | { readonly created: false; readonly incident: GroupingIncident };

/**
 * For each group, in the order given (group key order): opens the incident given, or, when the
 * group has one that takes alerts, locks that one instead and returns it. The partial unique
 * index on `group_key where grouping_open` decides which, and makes a concurrent opening of the
 * same group wait for this one. One statement, in group key order, as every batch does:
 * concurrent batches meet on their first common group, not in a deadlock. (An ON CONFLICT update
 * whose condition is false locks the row and writes nothing; the batch writes it once, after.)
 * `links` (by group key) are linked to the incidents it opens, in the same statement; a group
 * that meets its incident links nothing here.
 *
 * The same statement reads the incidents it met (`met`), after the insert has locked them: its
 * FOR UPDATE takes locks this transaction already holds, and, as a locking read does, returns
 * each row as its latest version, whatever the statement's snapshot saw. Only an incident
 * opened by a transaction that committed after that snapshot is not seen: those few are read by
 * one more statement.
 */
export async function openOrLockIncidents(
  trx: Trx, openings: readonly NewIncident[], links: readonly KeyedLink[] = [],
): Promise<Met[]> {
  if (openings.length === 0) return [];
  const insert = trx.insertInto('incidents').columns(NEW_INCIDENT_COLUMNS).expression(newIncidents(openings))
    .onConflict((oc) => oc.column('group_key').where('grouping_open', '=', sql.lit(true))
      .doUpdateSet({ updated_at: sql`incidents.updated_at` }).where(sql.lit(false)))
    .returning(['id', 'group_key']);
  const keys = openings.map((o) => o.groupKey);
  const { rows } = await sql<MetRow & { created: boolean }>`with opened as (${insert}),
      linked as (${linkTo(trx, 'opened', 'group_key', links)}),
      met as (select id, group_key, grouping_until, last_alert_at, group_window_seconds, window_kind
        from incidents where grouping_open and group_key = ${anyOf(keys, 'text')} order by group_key for update)
    select true as created, id, group_key, null::timestamptz as grouping_until, null::timestamptz as last_alert_at,
      null::integer as group_window_seconds, null::text as window_kind from opened
    union all select false, id, group_key, grouping_until, last_alert_at, group_window_seconds, window_kind from met`
    .execute(trx);
  const ids = new Map<string, number>();
  const met = new Map<string, GroupingIncident>();
  for (const r of rows) {
    if (r.created) ids.set(r.group_key, r.id);
    else met.set(r.group_key, groupingOf(r));
  }
  const unseen = keys.filter((k) => !ids.has(k) && !met.has(k));
  for (const [k, incident] of await readGroupingIncidents(trx, unseen, false)) met.set(k, incident);
  return openings.map((o): Met => {
    const id = ids.get(o.groupKey);
    if (id !== undefined) return { created: true, id };
    const incident = met.get(o.groupKey);
    if (incident === undefined) throw new Error(`group ${o.groupKey} neither opened nor met an incident`);
    return { created: false, incident };
  });
}

/** An incident taking alerts as openOrLockIncidents reads it. */
interface MetRow {
  readonly id: number;
  readonly group_key: string;
  readonly grouping_until: Date | null;
  readonly last_alert_at: Date;
  readonly group_window_seconds: number;
  readonly window_kind: WindowKind;
}

/** Opens incidents; returns their ids in the order given. */
export async function insertIncidents(trx: Trx, incidents: readonly NewIncident[]): Promise<number[]> {
  if (incidents.length === 0) return [];
  const rows = await trx.insertInto('incidents').columns(NEW_INCIDENT_COLUMNS).expression(newIncidents(incidents))
    .returning(['id', 'group_key']).execute();
  if (rows.length !== incidents.length || rows.some((r, i) => r.group_key !== incidents[i]?.groupKey)) {
    throw new Error('incidents returned out of order');
  }
  return rows.map((r) => r.id);
}

/** In id order, as the rows are usually locked (a deadlock between batches is retried at once). */
const sortById = <T extends { readonly id: number }>(rows: readonly T[]): T[] => [...rows].sort((a, b) => a.id - b.id);
