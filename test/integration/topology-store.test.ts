import { sql } from 'kysely';
import { performance } from 'node:perf_hooks';
import { groupingIncidentsNear } from '../../src/store/topology-store';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * groupingIncidentsNear against PostgreSQL: what it answers, and that it stays index lookups on
 * a young incidents table (no statistics yet, as during a storm), where a lookup naming the rule
 * was planned on the rule's index and filtered every grouping incident per near CI.
 */
let t: TestDatabase;
beforeAll(async () => { t = await createTestDatabase(); });
afterAll(async () => { await t.drop(); });

async function insertIncident(
  rule: string, key: string, cis: string[], open: boolean, rootCi?: string,
): Promise<number> {
  const at = new Date('2026-01-01T00:00:00Z');
  const row = await t.db.insertInto('incidents').values({
    title: key, status: open ? 'open' : 'resolved', priority: 3, rule, group_key: key, grouping_open: open,
    group_window_seconds: 600, grouping_until: null, alert_count: 1, first_alert_at: at, last_alert_at: at,
    acknowledged_at: null, resolved_at: open ? null : at, resolved_by: open ? null : 'auto', cis,
    root_cause: rootCi === undefined ? null : JSON.stringify({ ci: rootCi, type: 'switch', labels: {}, paths: [] }),
  }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

test('answers the grouping incidents of the rule holding a near CI or rooted at one, each once', async () => {
  const byCi = await insertIncident('topo', 'a', ['h1', 'h2'], true);
  const byRoot = await insertIncident('topo', 'b', ['h9'], true, 'sw1');
  await insertIncident('other', 'c', ['h1'], true); // another rule
  await insertIncident('topo', 'd', ['h1'], false, 'sw1'); // no longer grouping
  await insertIncident('topo', 'e', ['h7'], true); // not near

  const found = await t.db.transaction().execute((trx) => groupingIncidentsNear(trx, 'topo',
    ['h1', 'h2', 'sw1', 'h1']));
  expect(found.map((i) => i.id).sort((x, y) => x - y)).toEqual([byCi, byRoot]);
  expect(found.find((i) => i.id === byRoot)).toMatchObject({ root: 'sw1', cis: ['h9'], groupKey: 'b', rule: 'topo' });
  expect(found.find((i) => i.id === byCi)?.root).toBeUndefined();
  expect(await t.db.transaction().execute((trx) => groupingIncidentsNear(trx, 'topo', []))).toEqual([]);
});

test('stays index lookups at thousands of grouping incidents without statistics, and the GIN index has no pending list',
  async () => {
  await sql`alter table incidents set (autovacuum_enabled = false)`.execute(t.db);
  await sql`
    insert into incidents (title, status, priority, rule, group_key, grouping_open, group_window_seconds, alert_count,
                           first_alert_at, last_alert_at, cis, root_cause)
    select 'x', 'open', 3, 'storm', 'storm-' || g, true, 600, 1, now(), now(), array['host-' || g],
           jsonb_build_object('ci', 'host-' || g, 'type', 'host', 'labels', '{}'::jsonb, 'paths', '[]'::jsonb)
      from generate_series(1, 20000) g`.execute(t.db);
  // Incidents updated as batches do (new row versions, new index entries).
  await sql`update incidents set cis = cis || array['extra-' || id] where rule = 'storm' and id % 2 = 0`.execute(t.db);

  const { rows } = await sql<{ reloptions: string[] | null }>`select reloptions from pg_class
    where relname = 'incidents_grouping_cis'`.execute(t.db);
  expect(rows[0]?.reloptions).toContain('fastupdate=off');

  const near = Array.from({ length: 4000 }, (_, i) => `host-${i * 5 + 1}`);
  const started = performance.now();
  const found = await t.db.transaction().execute((trx) => groupingIncidentsNear(trx, 'storm', near));
  const ms = performance.now() - started;
  expect(found).toHaveLength(4000);
  // Index lookups take tens of ms here; filtering 20,000 incidents per near CI takes minutes.
  expect(ms).toBeLessThan(5000);
}, 120_000);
