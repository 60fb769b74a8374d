import { sql, type Transaction } from 'kysely';
import type { Labels } from '../domain/alert';
import type { Database } from './database';
import { anyOf, unnest } from './unnest';

type Trx = Transaction<Database>;

/** An alert that matches an inhibit rule's source side, filed under the values of the rule's `equal` labels. */
export interface InhibitSource {
  readonly ruleKey: string;
  readonly equalKey: string;
  readonly fingerprint: string;
  readonly matchesTarget: boolean;
}

/**
 * Files alerts as inhibit sources (idempotent). Rows are never removed: an entry counts only
 * while its alert fires (checked at lookup), and an alert's labels never change.
 */
export async function fileInhibitSources(trx: Trx, sources: readonly InhibitSource[]): Promise<void> {
  if (sources.length === 0) return;
  const key = (s: InhibitSource) => `${s.ruleKey}\0${s.equalKey}\0${s.fingerprint}`;
  // Sorted, so that concurrent transactions filing the same entries cannot deadlock.
  const rows = [...new Map(sources.map((s) => [key(s), s])).values()].sort((a, b) => (key(a) < key(b) ? -1 : 1));
  await trx.insertInto('inhibit_sources').columns(['rule_key', 'equal_key', 'fingerprint', 'matches_target'])
    .expression(unnest(rows, [
      ['ruleKey', 'text'], ['equalKey', 'text'], ['fingerprint', 'text'], ['matchesTarget', 'boolean'],
    ]))
    .onConflict((oc) => oc.doNothing()).execute();
}

/** Of `scanKeys`, those whose already-firing sources have been filed. */
export async function scannedInhibitRules(trx: Trx, scanKeys: readonly string[]): Promise<Set<string>> {
  if (scanKeys.length === 0) return new Set();
  const rows = await trx.selectFrom('inhibit_source_scans').select('scan_key')
    .where('scan_key', '=', anyOf(scanKeys, 'text')).execute();
  return new Set(rows.map((r) => r.scan_key));
}

export async function markInhibitRulesScanned(trx: Trx, scanKeys: readonly string[]): Promise<void> {
  if (scanKeys.length === 0) return;
  await trx.insertInto('inhibit_source_scans').columns(['scan_key'])
    .expression(unnest([...scanKeys].sort().map((k) => ({ k })), [['k', 'text']]))
    .onConflict((oc) => oc.doNothing()).execute();
}

/**
 * Firing alerts whose labels have these values (a narrowing for a scan; the caller still
 * evaluates its matchers). With no equalities: every firing alert.
 */
export async function firingAlertsWith(
  trx: Trx, equalities: readonly { name: string; value: string }[],
): Promise<{ fingerprint: string; labels: Labels }[]> {
  let q = trx.selectFrom('alerts').select(['fingerprint', 'labels']).where('status', '=', 'firing');
  for (const { name, value } of equalities) q = q.where(sql<string>`labels->>${name}`, '=', value);
  return q.execute();
}

/** One question: does a firing source exist for this rule and these `equal` values? */
export interface InhibitorQuery {
  readonly ruleKey: string;
  readonly equalKey: string;
  /** The target matches the rule's source side too: sources that match its target side do not count. */
  readonly twoSided: boolean;
}

/** For each query (by position), the fingerprint of a firing source, if one exists. One statement for all. */
export async function findInhibitors(trx: Trx, queries: readonly InhibitorQuery[]): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  if (queries.length === 0) return found;
  const rows = queries.map((q, i) => ({ ...q, i }));
  const { rows: out } = await sql<{ i: number; fingerprint: string }>`
    select v.i, src.fingerprint
    from (${unnest(rows, [['i', 'integer'], ['ruleKey', 'text'], ['equalKey', 'text'], ['twoSided', 'boolean']])})
      as v(i, rule_key, equal_key, two_sided)
    cross join lateral (
      select s.fingerprint from inhibit_sources s join alerts a on a.fingerprint = s.fingerprint
      where s.rule_key = v.rule_key and s.equal_key = v.equal_key and not (v.two_sided and s.matches_target)
        and a.status = 'firing'
      order by s.fingerprint limit 1
    ) src`.execute(trx);
  for (const r of out) found.set(r.i, r.fingerprint);
  return found;
}
