import { sql } from 'kysely';
import { insertIncidents, updateIncidents, type NewIncident } from '../../src/store/group-store';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * Migration 0017 leaves room on the incidents' pages, so that an incident taking more alerts
 * (the workers' most frequent update: its count and times, no indexed column) is a HOT update,
 * which writes none of the table's indexes. Measured on the real PostgreSQL, from its own counters.
 */
let t: TestDatabase;
beforeAll(async () => { t = await createTestDatabase(); });
afterAll(async () => { await t.drop(); });

const incident = (i: number): NewIncident => ({
  title: `Down ${i}`, priority: 3, rule: 'default', groupKey: `{alertname="Down",instance="${i}"}`,
  groupingOpen: true, window: 'fixed', windowSeconds: 300, count: 1, firstAlertAt: '2026-11-27T10:00:00Z',
  lastAlertAt: '2026-11-27T10:00:00Z', groupingUntil: '2026-11-27T10:05:00Z', service: null,
});

test('incidents keep room on their pages: updates of their counts are HOT', async () => {
  const options = await sql<{ reloptions: string[] | null }>`select reloptions from pg_class
    where relname = 'incidents'`.execute(t.db);
  expect(options.rows[0]?.reloptions).toContain('fillfactor=50');

  // Enough incidents to fill several pages, then each takes alerts three times, as batches do.
  const ids = await t.db.transaction().execute((trx) => insertIncidents(trx, Array.from({ length: 600 }, (_, i) =>
    incident(i))));
  for (let round = 1; round <= 3; round++) {
    const at = `2026-11-27T10:0${round}:00Z`;
    await t.db.transaction().execute((trx) => updateIncidents(trx, ids.map((id) => ({
      id, count: 1, firstAlertAt: null, lastAlertAt: at, priority: null, groupingUntil: null, groupingOpen: null,
    }))));
  }
  await sql`select pg_stat_force_next_flush()`.execute(t.db);
  const stats = await sql<{ upd: string; hot: string }>`select n_tup_upd as upd, n_tup_hot_upd as hot
    from pg_stat_user_tables where relname = 'incidents'`.execute(t.db);
  const { upd, hot } = stats.rows[0] ?? { upd: '0', hot: '0' };
  expect(Number(upd)).toBe(1800);
  // With the default fillfactor most of these land on another page (measured: about a third HOT).
  expect(Number(hot) / Number(upd)).toBeGreaterThan(0.9);
});
