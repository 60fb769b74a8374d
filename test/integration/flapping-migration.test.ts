import { sql } from 'kysely';
import { Migrator } from 'kysely';
import { MIGRATIONS, migrateToLatest } from '../../src/store/migrate';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/** Flapping history stored before event times were kept takes Quell's times as its event times. */
let t: TestDatabase;
beforeAll(async () => { t = await createTestDatabase(); });
afterAll(async () => { await t.drop(); });

test('0007-flapping-event-time fills in event times from the times Quell applied the changes', async () => {
  const provider = { getMigrations: async () => MIGRATIONS };
  const down = await new Migrator({ db: t.db, provider }).migrateTo('0006-incident-topology');
  expect(down.error).toBeUndefined();
  await sql`insert into alert_state_changes (fingerprint, status, at)
    values ('fp1', 'firing', '2026-11-20T10:00:00Z'), ('fp1', 'resolved', '2026-11-20T10:01:00Z')`.execute(t.db);
  await sql`insert into alert_flapping (fingerprint, changes, window_ms, flapping, last_change_at, episode_starts_at)
    values ('fp1', 4, 600000, false, '2026-11-20T10:01:00Z', '2026-11-20T10:00:00Z')`.execute(t.db);

  expect(await migrateToLatest(t.db)).toContain('0007-flapping-event-time');
  expect(await t.db.selectFrom('alert_state_changes').select(['at', 'event_at']).orderBy('id').execute()).toEqual([
    { at: new Date('2026-11-20T10:00:00Z'), event_at: new Date('2026-11-20T10:00:00Z') },
    { at: new Date('2026-11-20T10:01:00Z'), event_at: new Date('2026-11-20T10:01:00Z') },
  ]);
  expect(await t.db.selectFrom('alert_flapping').select('last_event_at').executeTakeFirstOrThrow())
    .toEqual({ last_event_at: new Date('2026-11-20T10:01:00Z') });
});
