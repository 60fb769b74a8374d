import { sql, type Kysely } from 'kysely';
import type { ProblemStatus } from '../domain/problem-lifecycle';
import type { Database } from './database';
import { exactTime, type KeysetSource } from './keyset';

/** Problems newest first: (opened_at, id) descending. */
export type ProblemKey = readonly [openedAt: string, id: number];
/** A problem's incidents, by incident id. */
export type ProblemIncidentKey = readonly [incidentId: number];
/** A problem's timeline, by entry id (a bigint, as text). */
export type ProblemEventKey = readonly [id: string];

const SUMMARY = ['p.id', 'p.title', 'p.status', 'p.signature', 'p.rule', 'p.opened_by', 'p.opened_at',
  'p.known_error_at', 'p.resolved_at', 'p.closed_at', 'p.updated_at'] as const;

export interface ProblemFilter {
  readonly statuses?: readonly ProblemStatus[] | undefined;
  readonly signature?: string | undefined;
  /** Problems opened at or after this. */
  readonly since?: Date | undefined;
}

const incidentCount = sql<number>`(select count(*)::int from problem_incidents pi where pi.problem_id = p.id)`;

/** Problems newest first, with how many incidents each links, as a keyset source. */
export function problemsInOrder(db: Kysely<Database>, filter: ProblemFilter = {}) {
  return async (after: ProblemKey | undefined, limit: number) => {
    let q = db.selectFrom('problems as p')
      .select([...SUMMARY, incidentCount.as('incident_count'), exactTime('p.opened_at').as('opened_key')])
      .orderBy('p.opened_at', 'desc').orderBy('p.id', 'desc').limit(limit);
    if (filter.statuses && filter.statuses.length > 0) q = q.where('p.status', 'in', [...filter.statuses]);
    if (filter.signature !== undefined) q = q.where('p.signature', '=', filter.signature);
    if (filter.since !== undefined) q = q.where('p.opened_at', '>=', filter.since);
    if (after) q = q.where(sql`(p.opened_at, p.id)`, '<', sql`(${after[0]}::timestamptz, ${after[1]}::integer)`);
    const rows = await q.execute();
    return rows.map(({ opened_key, ...row }) => ({ key: [opened_key, row.id] as ProblemKey, row }));
  };
}

/** A problem's own fields (root cause, workaround and its runbook too), or undefined. */
export async function findProblem(db: Kysely<Database>, id: number) {
  return db.selectFrom('problems as p')
    .select([...SUMMARY, 'p.root_cause', 'p.workaround', 'p.workaround_runbook', incidentCount.as('incident_count')])
    .where('p.id', '=', id).executeTakeFirst();
}

/** A problem's incidents (their summary, when and by whom linked), by incident id. */
export function incidentsOfProblem(db: Kysely<Database>, problemId: number): KeysetSource<ProblemIncidentKey, unknown> {
  return async (after, limit) => {
    let q = db.selectFrom('problem_incidents as pi').innerJoin('incidents as i', 'i.id', 'pi.incident_id')
      .select(['i.id', 'i.title', 'i.status', 'i.priority', 'i.group_key', 'i.opened_at', 'i.resolved_at',
        'i.workaround', 'pi.linked_by', 'pi.linked_at'])
      .where('pi.problem_id', '=', problemId).orderBy('pi.incident_id').limit(limit);
    if (after) q = q.where('pi.incident_id', '>', after[0]);
    const rows = await q.execute();
    return rows.map((row) => ({ key: [row.id] as ProblemIncidentKey, row }));
  };
}

/** A problem's timeline, oldest first. */
export function timelineOfProblem(db: Kysely<Database>, problemId: number): KeysetSource<ProblemEventKey, unknown> {
  return async (after, limit) => {
    let q = db.selectFrom('problem_events').select(['id', 'at', 'kind', 'actor', 'detail'])
      .where('problem_id', '=', problemId).orderBy('id').limit(limit);
    if (after) q = q.where('id', '>', sql<string>`${after[0]}::bigint`);
    const rows = await q.execute();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion -- int8: as the driver gives it
    return rows.map(({ id, ...row }) => ({ key: [String(id)] as ProblemEventKey, row }));
  };
}

/** The changes linked to a problem (few: each a fix or an attempt), oldest link first. */
export async function changesOfProblem(db: Kysely<Database>, problemId: number, limit = 100) {
  return db.selectFrom('problem_changes as pc').innerJoin('changes as c', 'c.id', 'pc.change_id')
    .select([
      'c.id', 'c.runbook', 'c.type', 'c.status', 'c.outcome', 'c.incident_id', 'c.created_at', 'pc.linked_by',
      'pc.linked_at',
    ])
    .where('pc.problem_id', '=', problemId).orderBy('pc.linked_at').orderBy('c.id').limit(limit).execute();
}

/** One row of {@link topRecurringProblems}. */
export interface RecurringProblem {
  readonly id: number;
  readonly title: string;
  readonly status: ProblemStatus;
  readonly signature: string | null;
  /** Its linked incidents that opened in the period. */
  readonly incident_count: number;
}

/**
 * The problems with the most linked incidents opened in `[from, to)`, most first (ties: lower id
 * first); at most `limit` (default 10). For reports (KPI "top recurring problems"). Reads
 * `problem_incidents` alone through its `(incident_opened_at, problem_id)` index, plus the
 * problems it returns: its cost grows with the incidents that belong to problems in the period,
 * not with all incidents.
 *
 * @example topRecurringProblems(db, { from: new Date('2026-11-01'), to: new Date('2026-12-01'), limit: 5 })
 */
export async function topRecurringProblems(
  db: Kysely<Database>, period: { readonly from: Date; readonly to: Date; readonly limit?: number },
): Promise<RecurringProblem[]> {
  const counted = db.selectFrom('problem_incidents').select(['problem_id', sql<number>`count(*)::int`.as('n')])
    .where('incident_opened_at', '>=', period.from).where('incident_opened_at', '<', period.to).groupBy('problem_id');
  return db.selectFrom(counted.as('c')).innerJoin('problems as p', 'p.id', 'c.problem_id')
    .select(['p.id', 'p.title', 'p.status', 'p.signature', 'c.n as incident_count'])
    .orderBy('c.n', 'desc').orderBy('p.id').limit(period.limit ?? 10).execute();
}
