import { sql, type Kysely, type QueryCreator, type Transaction } from 'kysely';
import type { AlertStatus } from '../domain/alert';
import type { FlappingPolicy } from '../domain/grouping-policy';
import type { IncidentStatus } from '../domain/incident-lifecycle';
import type { Database } from './database';
import { LaterWrites } from './later-writes';
import { anyOf, unnest } from './unnest';

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

/** The tracking rows of these alerts, locked (their alert rows are locked too: dedup holds them). */
export async function lockTrackedAlerts(trx: Trx, fingerprints: readonly string[]): Promise<Map<string, TrackedAlert>> {
  if (fingerprints.length === 0) return new Map();
  const rows = await tracked(trx).where('f.fingerprint', '=', anyOf([...fingerprints].sort(), 'text'))
    .orderBy('f.fingerprint').forUpdate('f').execute();
  return new Map(rows.map((r) => [r.fingerprint, toTracked(r)]));
}

/**
 * Event times (epoch ms) of the alerts' recorded state changes that happened after `since`
 * (an alert's latest change may be kept on its tracking row instead: TrackedAlert.unrecordedStatus).
 *
 * A separate statement from {@link lockTrackedAlerts}, whose rows give its bound. One statement
 * reading both (a subquery per alert, bounded before the rows are known) saved a round trip for
 * small batches but cost a storm's batch of ~4,000 alerts about 500 ms, where these two cost about
 * 25 ms (query log, one worker, a 30,000-alert storm).
 */
export async function readStateChanges(
  trx: Trx, fingerprints: readonly string[], since: Date,
): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  if (fingerprints.length === 0) return out;
  const rows = await trx.selectFrom('alert_state_changes').select(['fingerprint', 'event_at'])
    .where('fingerprint', '=', anyOf(fingerprints, 'text')).where('event_at', '>', since).execute();
  for (const r of rows) {
    const list = out.get(r.fingerprint);
    if (list === undefined) out.set(r.fingerprint, [r.event_at.getTime()]);
    else list.push(r.event_at.getTime());
  }
  return out;
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
 * fingerprint order): one statement, or, with `later`, two writes that travel with a later
 * statement (LaterWrites). An alert's latest change is kept on its tracking row only
 * (`lastStatus`, `lastEventAt`, `lastChangeAt`), not in `changes`; the change it supersedes
 * (the row's `unrecordedStatus`, if any) is in `changes`. So the history written is every change
 * but the latest, one row fewer per change (none for an alert's first), and the history of an
 * alert is its recorded changes plus its row's unrecorded one.
 */
export async function saveChanges(
  trx: Trx, changes: readonly StateChange[], rows: readonly Tracking[], later?: LaterWrites,
): Promise<void> {
  const writes = later ?? new LaterWrites();
  if (changes.length > 0) {
    writes.add(trx.insertInto('alert_state_changes').columns(['fingerprint', 'status', 'at', 'event_at'])
      .expression(unnest(changes, [
        ['fingerprint', 'text'], ['status', 'text'], ['at', 'timestamptz'], ['eventAt', 'timestamptz'],
      ])));
  }
  if (rows.length > 0) writes.add(saveTracking(trx, rows));
  if (later === undefined) await writes.flush(trx);
}

/** The upsert of alerts' tracking rows, in fingerprint order. */
function saveTracking(trx: Trx, rows: readonly Tracking[]) {
  const sorted = [...rows].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
  return trx.insertInto('alert_flapping')
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
    })));
}

/** Ends the flapping of alerts that settled. */
export async function markSettled(trx: Trx, fingerprints: readonly string[]): Promise<void> {
  if (fingerprints.length === 0) return;
  await trx.updateTable('alert_flapping').set({ flapping: false, flapping_since: null, settles_at: null })
    .where('fingerprint', '=', anyOf(fingerprints, 'text')).execute();
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
