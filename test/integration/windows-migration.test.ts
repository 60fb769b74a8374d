import { sql } from 'kysely';
import { Migrator } from 'kysely';
import { MIGRATIONS, migrateToLatest } from '../../src/store/migrate';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/** Incidents stored before windows were explicit keep grouping as they did; resolved ones say how. */
let t: TestDatabase;
beforeAll(async () => { t = await createTestDatabase(); });
afterAll(async () => { await t.drop(); });

test('0005-windows fills in the window end of grouping incidents and how resolved ones were resolved', async () => {
  const provider = { getMigrations: async () => MIGRATIONS };
  const down = await new Migrator({ db: t.db, provider }).migrateTo('0002-read-keysets');
  expect(down.error).toBeUndefined();

  const { rows } = await sql<{ id: number }>`insert into incidents (title, status, priority, rule, group_key,
      grouping_open, group_window_seconds, alert_count, first_alert_at, last_alert_at, resolved_at)
    values ('open', 'open', 3, 'r', 'r:{a}', true, 600, 1, '2026-11-20T10:00:00Z', '2026-11-20T10:05:00Z', null),
      ('auto', 'resolved', 3, 'r', 'r:{b}', false, 600, 1, '2026-11-20T10:00:00Z', '2026-11-20T10:00:00Z', now()),
      ('hand', 'resolved', 3, 'r', 'r:{c}', false, 600, 1, '2026-11-20T10:00:00Z', '2026-11-20T10:00:00Z', now())
    returning id`.execute(t.db);
  const [open, auto, hand] = rows.map((r) => r.id);
  await sql`insert into incident_events (incident_id, kind, actor, detail)
    values (${auto}, 'resolved', 'quell', '{}'), (${hand}, 'resolved', 'alice', '{}')`.execute(t.db);

  expect(await migrateToLatest(t.db)).toContain('0005-windows');
  const after = await t.db.selectFrom('incidents').select(['id', 'window_kind', 'grouping_until', 'resolved_by'])
    .orderBy('id').execute();
  expect(after).toEqual([
    { id: open, window_kind: 'sliding', grouping_until: new Date('2026-11-20T10:15:00Z'), resolved_by: null },
    { id: auto, window_kind: 'sliding', grouping_until: null, resolved_by: 'auto' },
    { id: hand, window_kind: 'sliding', grouping_until: null, resolved_by: 'manual' },
  ]);
});
