import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

/**
 * Flapping on the alerts' own clock: each state change keeps its event time (`event_at`: a
 * firing's start, a resolve's end) beside the time Quell applied it (`at`, which retention
 * prunes by), and each tracked alert its latest change's event time (`last_event_at`) beside
 * `last_change_at` (Quell's clock, which the tick's settling compares with). Existing rows
 * take Quell's time for both: the best known.
 */
export const flappingEventTime: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('alert_state_changes').addColumn('event_at', 'timestamptz').execute();
    await sql`update alert_state_changes set event_at = at`.execute(db);
    await db.schema.alterTable('alert_state_changes').alterColumn('event_at', (c) => c.setNotNull()).execute();
    // The history is read by alert and event time now.
    await db.schema.dropIndex('alert_state_changes_fingerprint').execute();
    await db.schema.createIndex('alert_state_changes_event').on('alert_state_changes')
      .columns(['fingerprint', 'event_at']).execute();

    await db.schema.alterTable('alert_flapping').addColumn('last_event_at', 'timestamptz').execute();
    await sql`update alert_flapping set last_event_at = last_change_at`.execute(db);
    await db.schema.alterTable('alert_flapping').alterColumn('last_event_at', (c) => c.setNotNull()).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('alert_flapping').dropColumn('last_event_at').execute();
    await db.schema.dropIndex('alert_state_changes_event').execute();
    await db.schema.createIndex('alert_state_changes_fingerprint').on('alert_state_changes')
      .columns(['fingerprint', 'at']).execute();
    await db.schema.alterTable('alert_state_changes').dropColumn('event_at').execute();
  },
};
