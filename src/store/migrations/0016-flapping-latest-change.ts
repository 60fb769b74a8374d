import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

/**
 * `alert_flapping.last_status`: a tracked alert's latest change (its status here, its times in
 * `last_event_at` and `last_change_at`) is kept on its tracking row only, and goes to
 * `alert_state_changes` when a later change supersedes it: one row fewer per change written
 * (a storm of new alerts writes no history at all). Null on rows written before: their latest
 * change is in `alert_state_changes` already.
 */
export const flappingLatestChange: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('alert_flapping').addColumn('last_status', 'text').execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    // The latest changes kept on the rows go back to the history first, as before this migration.
    await sql`insert into alert_state_changes (fingerprint, status, at, event_at)
      select fingerprint, last_status, last_change_at, last_event_at from alert_flapping
      where last_status is not null`.execute(db);
    await db.schema.alterTable('alert_flapping').dropColumn('last_status').execute();
  },
};
