import { sql, type Kysely, type QueryCreator, type Transaction } from 'kysely';
import type { AlertStatus } from '../domain/alert';
import type { FlappingPolicy } from '../domain/grouping-policy';
import type { IncidentStatus } from '../domain/incident-lifecycle';
import type { Database } from './database';
import { unnest } from './unnest';

type Trx = Transaction<Database>;

/** How long state changes are kept: a day, the longest flapping window, and an hour's slack. */
export const STATE_CHANGES_RETENTION_HOURS = 25;

/** A tracked alert: one whose rule detects flapping. */
export interface TrackedAlert {
  readonly fingerprint: string;
  readonly policy: FlappingPolicy;
  readonly flapping: boolean;
  /** When it started flapping (ISO 8601), while it is. */
  readonly flappingSince: string | null;
  /** When Quell applied its latest change (epoch ms, Quell's clock). */
  readonly lastChangeAt: number;
  /** When its latest change happened (epoch ms, the alert's clock). */
  readonly lastEventAt: number;
  readonly episodeStartsAt: string;
  /**
   * Its latest change's status, when that change is kept on the row only (at `lastEventAt`,
   * applied at `lastChangeAt`) and not yet in the history: {@link saveChanges}.
   */
  readonly unrecordedStatus?: AlertStatus;
  /** The incident its latest episode belongs to, if any. */
  readonly incident?: {
    readonly id: number;
    readonly status: IncidentStatus;
    /** When Quell resolved it (epoch ms), if Quell did. */
    readonly autoResolvedAt?: number;
  };
}

function tracked(db: QueryCreator<Database>) {
  return db.selectFrom('alert_flapping as f')
    .leftJoin('incident_alerts as ia', (j) => j.onRef('ia.fingerprint', '=', 'f.fingerprint')
      .onRef('ia.starts_at', '=', 'f.episode_starts_at'))
    .leftJoin('incidents as i', 'i.id', 'ia.incident_id')
    .select(['f.fingerprint', 'f.changes', 'f.window_ms', 'f.flapping', 'f.flapping_since', 'f.last_change_at',
      'f.last_event_at', 'f.episode_starts_at', 'f.last_status', 'i.id as incident_id', 'i.status', 'i.resolved_at',
      'i.resolved_by']);
}

type TrackedRow = Awaited<ReturnType<ReturnType<typeof tracked>['execute']>>[number];

function toTracked(r: TrackedRow): TrackedAlert {
  const base = {
    fingerprint: r.fingerprint, policy: { changes: r.changes, windowMs: r.window_ms }, flapping: r.flapping,
    flappingSince: r.flapping_since?.toISOString() ?? null,
    lastChangeAt: r.last_change_at.getTime(), lastEventAt: r.last_event_at.getTime(),
    episodeStartsAt: r.episode_starts_at.toISOString(),
    ...(r.last_status !== null ? { unrecordedStatus: r.last_status } : {}),
  };
  if (r.incident_id === null || r.status === null) return base;
  const auto = r.status === 'resolved' && r.resolved_by === 'auto' && r.resolved_at !== null;
  const autoResolved = auto ? { autoResolvedAt: (r.resolved_at as Date).getTime() } : {};
  return { ...base, incident: { id: r.incident_id, status: r.status, ...autoResolved } };
}

/** What the flapping stage reads of a batch's alerts before deciding: {@link readTrackedAlerts}. */
export interface TrackedRead {
  readonly rows: Map<string, TrackedAlert>;
  /** Event times (epoch ms, any order) of each alert's state changes in the span read. */
  readonly history: Map<string, number[]>;
}

/**
 * One statement for what the flapping stage reads before deciding: the tracking rows of
 * `fingerprints`, locked in fingerprint order (their alert rows are locked too: dedup holds
 * them), and the state changes of every one of `fingerprints` (tracked or not) whose event
 * time is after `historyFrom.at` less the longest of `historyFrom.windowMs` and the windows of
 * the rows found. The caller, knowing the rows only now, narrows the history to its own bound,
 * which must not be earlier: its earliest change time no earlier than `at` (a row only moves
 * an alert's change times later), its longest window no longer than that longest.
 */
export async function readTrackedAlerts(
  trx: Trx, fingerprints: readonly string[], historyFrom: { readonly at: number; readonly windowMs: number },
): Promise<TrackedRead> {
  const read: TrackedRead = { rows: new Map(), history: new Map() };
  if (fingerprints.length === 0) return read;
  const sorted = [...fingerprints].sort();
  const from = sql<Date>`${new Date(historyFrom.at)}::timestamptz
    - greatest(${historyFrom.windowMs}::integer, (select max(t.window_ms) from t)) * interval '1 millisecond'`;
  const rows = await trx
    .with('t', (db) => tracked(db).where('f.fingerprint', '=', sql<string>`any(${sorted}::text[])`)
      .orderBy('f.fingerprint').forUpdate('f'))
    .selectFrom(sql<{ fingerprint: string }>`(select unnest(${sorted}::text[]) as fingerprint)`.as('c'))
    .leftJoin('t', 't.fingerprint', 'c.fingerprint')
    .selectAll('t')
    .select((eb) => [
      eb.ref('c.fingerprint').as('candidate'),
      sql<Date[]>`array(select s.event_at from alert_state_changes s
        where s.fingerprint = c.fingerprint and s.event_at > ${from})`.as('history'),
    ])
    .execute();
  for (const { candidate, history, ...row } of rows) {
    if (history.length > 0) read.history.set(candidate, history.map((d) => d.getTime()));
    // The row's columns are null only where the left join found none.
    if (row.fingerprint !== null) read.rows.set(candidate, toTracked(row as TrackedRow));
  }
  return read;
}

/**
 * Flapping alerts due to settle by `now` (Quell's clock: quiet for their window since Quell
 * applied their latest change), oldest first, locked; those another transaction
 * holds are skipped (it settles them, or they are due again at the next look).
 */
export async function lockSettlingAlerts(trx: Trx, now: Date, limit: number): Promise<TrackedAlert[]> {
  const rows = await tracked(trx).where('f.flapping', '=', sql.lit(true)).where('f.settles_at', '<=', now)
    .orderBy('f.settles_at').limit(limit).forUpdate('f').skipLocked().execute();
  return rows.map(toTracked);
}

export interface StateChange {
  readonly fingerprint: string;
  readonly status: AlertStatus;
  /** When Quell applied it. */
  readonly at: string;
  /** When it happened (the alert's clock). */
  readonly eventAt: string;
}

/** A tracked alert's state after a batch. */
export interface Tracking {
  readonly fingerprint: string;
  readonly changes: number;
  readonly windowMs: number;
  readonly flapping: boolean;
  readonly flappingSince: string | null;
  /** Quell's clock. */
  readonly lastChangeAt: string;
  /** The alert's clock. */
  readonly lastEventAt: string;
  /** Quell's clock: when the tick settles it unless it changes again. */
  readonly settlesAt: string | null;
  readonly episodeStartsAt: string;
  /** Its latest change's status: that change is not among the changes recorded with it (see saveChanges). */
  readonly lastStatus: AlertStatus;
}

/**
 * Records a batch's state changes and saves its alerts' tracking (inserted or updated, in
 * fingerprint order): one statement. An alert's latest change is kept on its tracking row only
 * (`lastStatus`, `lastEventAt`, `lastChangeAt`), not in `changes`; the change it supersedes
 * (the row's `unrecordedStatus`, if any) is in `changes`. So the history written is every change
 * but the latest, one row fewer per change (none for an alert's first), and the history of an
 * alert is its recorded changes plus its row's unrecorded one.
 */
export async function saveChanges(
  trx: Trx, changes: readonly StateChange[], rows: readonly Tracking[],
): Promise<void> {
  if (changes.length === 0 && rows.length === 0) return;
  const sorted = [...rows].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
  await trx.with('recorded', (db) => db.insertInto('alert_state_changes')
    .columns(['fingerprint', 'status', 'at', 'event_at'])
    .expression(unnest(changes, [
      ['fingerprint', 'text'], ['status', 'text'], ['at', 'timestamptz'], ['eventAt', 'timestamptz'],
    ])))
    .insertInto('alert_flapping')
    .columns(['fingerprint', 'changes', 'window_ms', 'flapping', 'flapping_since', 'last_change_at', 'last_event_at',
      'settles_at', 'episode_starts_at', 'last_status'])
    .expression(unnest(sorted, [
      ['fingerprint', 'text'], ['changes', 'integer'], ['windowMs', 'integer'], ['flapping', 'boolean'],
      ['flappingSince', 'timestamptz'], ['lastChangeAt', 'timestamptz'], ['lastEventAt', 'timestamptz'],
      ['settlesAt', 'timestamptz'],
      ['episodeStartsAt', 'timestamptz'], ['lastStatus', 'text'],
    ]))
    .onConflict((oc) => oc.column('fingerprint').doUpdateSet((eb) => ({
      changes: eb.ref('excluded.changes'), window_ms: eb.ref('excluded.window_ms'),
      flapping: eb.ref('excluded.flapping'),
      flapping_since: eb.ref('excluded.flapping_since'), last_change_at: eb.ref('excluded.last_change_at'),
      last_event_at: eb.ref('excluded.last_event_at'),
      settles_at: eb.ref('excluded.settles_at'), episode_starts_at: eb.ref('excluded.episode_starts_at'),
      last_status: eb.ref('excluded.last_status'),
    })))
    .execute();
}

/** Ends the flapping of alerts that settled. */
export async function markSettled(trx: Trx, fingerprints: readonly string[]): Promise<void> {
  if (fingerprints.length === 0) return;
  await trx.updateTable('alert_flapping').set({ flapping: false, flapping_since: null, settles_at: null })
    .where('fingerprint', '=', sql<string>`any(${[...fingerprints]}::text[])`).execute();
}

/**
 * Forgets state changes older than the retention, and the tracking of alerts that are not
 * flapping and have not changed since (their next firing tracks them anew).
 */
export async function pruneFlappingHistory(
  db: Kysely<Database>, retentionHours = STATE_CHANGES_RETENTION_HOURS,
): Promise<number> {
  const cutoff = sql<Date>`now() - make_interval(hours => ${retentionHours})`;
  const changes = await db.deleteFrom('alert_state_changes').where('at', '<', cutoff).executeTakeFirst();
  await db.deleteFrom('alert_flapping').where('flapping', '=', false).where('last_change_at', '<', cutoff).execute();
  return Number(changes.numDeletedRows);
}
