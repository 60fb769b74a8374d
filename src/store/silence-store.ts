import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { matcherOf, MatcherSyntaxError, type Matcher, type MatchOp } from '../domain/matchers';
import { silenceState, type Silence, type SilenceState } from '../domain/silence';
import type { Database, SilenceMatcherJson, SilencesTable } from './database';
import { exactTime, type KeysetSource } from './keyset';

type Db = Kysely<Database> | Transaction<Database>;
export type SilenceRow = Selectable<SilencesTable>;

/** Silences newest first: (created_at, id) descending. */
export type SilenceKey = readonly [createdAt: string, id: string];

/** A silence as the API shows it: Alertmanager's v2 `gettableSilence`. */
export interface SilenceJson {
  readonly id: string;
  readonly status: { readonly state: SilenceState };
  readonly updatedAt: string;
  readonly matchers: readonly SilenceMatcherJson[];
  readonly startsAt: string;
  readonly endsAt: string;
  readonly createdBy: string;
  readonly comment: string;
}

export interface NewSilence {
  readonly matchers: readonly SilenceMatcherJson[];
  readonly startsAt: string;
  readonly endsAt: string;
  readonly createdBy: string;
  readonly comment: string;
}

/** Alertmanager's matcher object as Quell's matcher (RE2, anchored); throws MatcherSyntaxError. */
export function matcherOfJson(m: SilenceMatcherJson): Matcher {
  const op: MatchOp = m.isRegex ? (m.isEqual ? '=~' : '!~') : (m.isEqual ? '=' : '!=');
  return matcherOf(m.name, op, m.value);
}

export function silenceJson(row: SilenceRow, now: Date): SilenceJson {
  const startsAt = row.starts_at.toISOString();
  const endsAt = row.ends_at.toISOString();
  return {
    id: row.id, status: { state: silenceState({ startsAt, endsAt }, now) }, updatedAt: row.updated_at.toISOString(),
    matchers: row.matchers, startsAt, endsAt, createdBy: row.created_by, comment: row.comment,
  };
}

/**
 * Every change to silences moves this counter, in the change's transaction (see SilenceCache).
 * An upsert, and a missing row reads as 0: an emptied database (the dry-run engine's reset) works.
 */
async function bumpVersion(trx: Transaction<Database>): Promise<void> {
  await trx.insertInto('silences_version').values({ one: true, version: 1 })
    .onConflict((oc) => oc.column('one').doUpdateSet({ version: sql`silences_version.version + 1` })).execute();
}

export async function readSilencesVersion(db: Db): Promise<string> {
  const row = await db.selectFrom('silences_version').select('version').executeTakeFirst();
  return silencesVersionOf(row?.version);
}

/** The counter's value as read (a missing row reads as 0); a worker transaction's first statement reads it too. */
export const silencesVersionOf = (version: string | null | undefined): string => String(version ?? 0);

export async function createSilence(db: Kysely<Database>, s: NewSilence): Promise<SilenceRow> {
  return db.transaction().execute(async (trx) => {
    const row = await trx.insertInto('silences').values({
      id: randomUUID(), matchers: JSON.stringify(s.matchers), starts_at: s.startsAt, ends_at: s.endsAt,
      created_by: s.createdBy, comment: s.comment,
    }).returningAll().executeTakeFirstOrThrow();
    await bumpVersion(trx);
    return row;
  });
}

export async function findSilence(db: Db, id: string): Promise<SilenceRow | undefined> {
  return db.selectFrom('silences').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Expires a silence at `now`, as Alertmanager does: an active one ends now, a pending one
 * starts and ends now; an expired one stays as it is. The alerts it holds that still fire are
 * taken up at the release task's next run (another silence or a window may still hold them).
 */
export async function expireSilence(db: Kysely<Database>, id: string, now: Date): Promise<SilenceRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom('silences').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    if (row === undefined || row.ends_at.getTime() <= now.getTime()) return row;
    const expired = await trx.updateTable('silences').where('id', '=', id)
      .set({ ends_at: now, starts_at: sql`least(starts_at, ${now})`, updated_at: sql`clock_timestamp()` })
      .returningAll().executeTakeFirstOrThrow();
    await bumpVersion(trx);
    await trx.updateTable('alerts').set({ release_at: now })
      .where('release_at', 'is not', null).where('disposition', '=', 'silenced')
      .where('status', '=', 'firing')
      .where(sql<boolean>`disposition_detail->'silenced_by' ? ${id}`).execute();
    return expired;
  });
}

/** Silences newest first, as a keyset source; `states` as of `now`. */
export function silencesInOrder(
  db: Kysely<Database>, now: Date, states?: readonly SilenceState[],
): KeysetSource<SilenceKey, SilenceJson> {
  return async (after, limit) => {
    let q = db.selectFrom('silences').selectAll().select(exactTime('created_at').as('created_key'))
      .orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit);
    if (states !== undefined && states.length > 0 && states.length < 3) {
      q = q.where((eb) => eb.or(states.map((state) => {
        if (state === 'pending') return eb('starts_at', '>', now);
        if (state === 'active') return eb.and([eb('starts_at', '<=', now), eb('ends_at', '>', now)]);
        return eb('ends_at', '<=', now);
      })));
    }
    if (after) q = q.where(sql`(created_at, id)`, '<', sql`(${after[0]}::timestamptz, ${after[1]}::uuid)`);
    const rows = await q.execute();
    return rows.map(({ created_key, ...row }) => ({ key: [created_key, row.id] as const, row: silenceJson(row, now) }));
  };
}

/**
 * Silences that end after `now` (active or pending), compiled. A stored silence whose matchers
 * no longer compile (they were checked when it was made) cannot match, and is left out.
 */
export async function loadLiveSilences(db: Db, now: Date): Promise<Silence[]> {
  const rows = await db.selectFrom('silences').selectAll().where('ends_at', '>', now).execute();
  const out: Silence[] = [];
  for (const row of rows) {
    try {
      const json = silenceJson(row, now);
      out.push({ ...json, matchers: row.matchers.map(matcherOfJson) });
    } catch (err) {
      if (!(err instanceof MatcherSyntaxError)) throw err;
    }
  }
  return out;
}

/** How long an expired silence stays readable, as Alertmanager's default `--data.retention`. */
export const SILENCE_RETENTION_HOURS = 120;

/** Deletes silences expired longer than the retention ago; returns how many. */
export async function pruneExpiredSilences(
  db: Kysely<Database>, retentionHours = SILENCE_RETENTION_HOURS,
): Promise<number> {
  const result = await db.deleteFrom('silences')
    .where('ends_at', '<', sql<Date>`now() - make_interval(hours => ${retentionHours})`).executeTakeFirst();
  return Number(result.numDeletedRows);
}
