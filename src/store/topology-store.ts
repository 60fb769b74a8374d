import { sql, type Transaction } from 'kysely';
import type { Database, RootCauseRecord } from './database';
import { anyOf, arrayParam, unnest } from './unnest';

type Trx = Transaction<Database>;

/**
 * Serialises topology decisions per rule across every worker until the transaction ends: which
 * incident a new alert's CI joins depends on the CIs of the rule's open incidents, which a
 * concurrent transaction may be changing. Rules are locked in sorted order (no deadlock).
 */
export async function lockTopologyRules(trx: Trx, rules: readonly string[]): Promise<void> {
  for (const rule of [...new Set(rules)].sort()) {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`quell:topology:${rule}`}, 0))`.execute(trx);
  }
}


export interface GroupingIncident {
  readonly id: number;
  readonly rule: string;
  readonly groupKey: string;
  readonly cis: readonly string[];
  readonly root?: string;
  /** Until when (ms since the epoch) an alert on one of its CIs may join it: its window (sliding or fixed). */
  readonly joinableUntil: number;
  /** Until when an alert on a CI new to it may join: its first alert plus the window. */
  readonly freshUntil: number;
}

/**
 * The incidents of `rule` still taking alerts that hold one of `near` among their CIs or as
 * their root cause (see nearCis), with their CIs: one index lookup per near CI (the partial
 * indexes of migration 0008), each answering whole rows (no join after them), an incident once.
 *
 * Written so that the plan does not depend on the table's statistics, which lag far behind
 * during a storm (incidents are created by the thousand before autovacuum analyses them):
 * - lookups per CI, because PostgreSQL cannot estimate `cis && array[...]` and scans every
 *   grouping incident instead (2.6 s at 100,000 of them);
 * - no `rule = ...` in the lookups: without statistics on `rule` the planner took the partial
 *   index on (rule) of migration 0006 for each lookup and filtered every grouping incident of
 *   the rule per near CI (43 s for a batch of 3,000 near CIs at 5,000 incidents: the storm
 *   stalled under the rule's lock). The rule is checked here instead; incidents of other rules
 *   holding the same CIs are few.
 * - without JIT, which those row estimates would start at a cost of seconds per batch.
 */
export async function groupingIncidentsNear(
  trx: Trx, rule: string, near: readonly string[],
): Promise<GroupingIncident[]> {
  if (near.length === 0) return [];
  const { rows: [jit] } = await sql<{ prev: string }>`select current_setting('jit') as prev,
    set_config('jit', 'off', true)`.execute(trx);
  const { rows } = await sql<{
    id: number; rule: string; group_key: string; cis: string[]; first_alert_at: Date; last_alert_at: Date;
    grouping_until: Date | null; group_window_seconds: number; root: string | null;
  }>`
    select distinct on (j.id) j.* from unnest(${arrayParam([...new Set(near)], 'text')}) n(ci) cross join lateral (
      select id, rule, group_key, cis, first_alert_at, last_alert_at, grouping_until, group_window_seconds,
          root_cause->>'ci' as root
        from incidents where grouping_open and cis @> array[n.ci]
      union all
      select id, rule, group_key, cis, first_alert_at, last_alert_at, grouping_until, group_window_seconds,
          root_cause->>'ci' as root
        from incidents where grouping_open and root_cause->>'ci' = n.ci) j
    order by j.id`.execute(trx);
  await sql`select set_config('jit', ${jit?.prev ?? 'on'}, true)`.execute(trx);
  return rows.filter((r) => r.rule === rule).map((r) => ({
    id: r.id, rule: r.rule, groupKey: r.group_key, cis: r.cis, ...(r.root !== null ? { root: r.root } : {}),
    joinableUntil: r.grouping_until?.getTime() ?? r.last_alert_at.getTime() + r.group_window_seconds * 1000,
    freshUntil: r.first_alert_at.getTime() + r.group_window_seconds * 1000,
  }));
}

/** An incident's CIs and root-cause candidate as stored. */
export interface IncidentTopology {
  readonly id: number;
  readonly cis: readonly string[];
  readonly rootCause: RootCauseRecord | null;
}

/** The stored CIs and root cause of incidents (already locked by the transaction's grouping). */
export async function readIncidentTopology(trx: Trx, ids: readonly number[]): Promise<IncidentTopology[]> {
  if (ids.length === 0) return [];
  const rows = await trx.selectFrom('incidents').select(['id', 'cis', 'root_cause'])
    .where('id', '=', anyOf(ids, 'integer')).execute();
  return rows.map((r) => ({ id: r.id, cis: r.cis, rootCause: r.root_cause }));
}

/**
 * Writes incidents' CIs and root causes, each incident's row once (one statement for all):
 * a storm's new incidents are written twice in all (insert, then this), not three times.
 */
export async function writeIncidentTopology(trx: Trx, incidents: readonly IncidentTopology[]): Promise<void> {
  if (incidents.length === 0) return;
  const sorted = [...incidents].sort((a, b) => a.id - b.id);
  await sql`
    update incidents i set cis = array(select jsonb_array_elements_text(v.cis)), root_cause = v.rc, updated_at = now(),
      service = coalesce(i.service, nullif(v.rc -> 'labels' ->> 'service', ''))
    from (${unnest(sorted, [['id', 'integer'], ['cis', 'jsonb'], ['rootCause', 'jsonb']])}) as v(id, cis, rc)
    where i.id = v.id`.execute(trx);
}
