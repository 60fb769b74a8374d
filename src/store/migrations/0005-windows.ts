import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

/**
 * Windows made explicit, `min_alerts`, reopening and flapping (see src/domain/grouping-policy.ts):
 *
 * - incidents keep their window's kind and where it ends (`grouping_until`: alerts starting up
 *   to then join), and how they were resolved (`resolved_by` `auto` or `manual`: only Quell's
 *   resolves reopen). A row
 *   without `grouping_until` (written by an older worker during a rolling upgrade) groups as
 *   before: until its latest alert plus its window;
 * - `pending_alerts`: firing alerts waiting for their group's `min_alerts`, linked to no incident;
 * - `alert_state_changes`: each tracked alert's firings and resolves (pruned after a day), and
 *   `alert_flapping`: whether it is flapping, and its latest episode (whose incident it holds open).
 */
export const windows: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('incidents')
      .addColumn('window_kind', 'text', (c) => c.notNull().defaultTo('sliding')
        .check(sql`window_kind in ('sliding', 'fixed')`))
      .addColumn('grouping_until', 'timestamptz')
      .addColumn('resolved_by', 'text', (c) => c.check(sql`resolved_by in ('auto', 'manual')`))
      .execute();
    await sql`update incidents set grouping_until = last_alert_at + make_interval(secs => group_window_seconds)
      where grouping_open`.execute(db);
    await sql`update incidents i set resolved_by = case (select e.actor from incident_events e
      where e.incident_id = i.id and e.kind = 'resolved' order by e.id desc limit 1)
      when 'quell' then 'auto' else 'manual' end
      where status = 'resolved'`.execute(db);
    // The latest incident of a group that has none taking alerts: what a new firing may reopen.
    // Partial, so that the updates of incidents taking alerts (a storm's) do not maintain it.
    await db.schema.createIndex('incidents_group_latest').on('incidents').columns(['group_key', 'id'])
      .where(sql.ref('grouping_open'), '=', false).execute();

    await db.schema.createTable('pending_alerts')
      .addColumn('fingerprint', 'text', (c) => c.primaryKey())
      .addColumn('starts_at', 'timestamptz', (c) => c.notNull())
      .addColumn('group_key', 'text', (c) => c.notNull())
      .addColumn('rule', 'text', (c) => c.notNull())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('priority', 'smallint', (c) => c.notNull())
      .addColumn('received_at', 'timestamptz', (c) => c.notNull())
      .addColumn('pending_since', 'timestamptz', (c) => c.notNull())
      .addColumn('expired', 'boolean', (c) => c.notNull().defaultTo(false))
      .execute();
    await db.schema.createIndex('pending_alerts_group').on('pending_alerts').column('group_key')
      .where(sql.ref('expired'), '=', false).execute();

    await db.schema.createTable('alert_state_changes')
      .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('firing', 'resolved')`))
      .addColumn('at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('alert_state_changes_fingerprint').on('alert_state_changes')
      .columns(['fingerprint', 'at']).execute();

    await db.schema.createTable('alert_flapping')
      .addColumn('fingerprint', 'text', (c) => c.primaryKey())
      .addColumn('changes', 'integer', (c) => c.notNull())
      .addColumn('window_ms', 'integer', (c) => c.notNull())
      .addColumn('flapping', 'boolean', (c) => c.notNull())
      .addColumn('flapping_since', 'timestamptz')
      .addColumn('last_change_at', 'timestamptz', (c) => c.notNull())
      .addColumn('settles_at', 'timestamptz')
      .addColumn('episode_starts_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('alert_flapping_due').on('alert_flapping').column('settles_at')
      .where(sql.ref('flapping'), '=', true).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['alert_flapping', 'alert_state_changes', 'pending_alerts']) {
      await db.schema.dropTable(table).execute();
    }
    await db.schema.dropIndex('incidents_group_latest').execute();
    await db.schema.alterTable('incidents').dropColumn('resolved_by').dropColumn('grouping_until')
      .dropColumn('window_kind').execute();
  },
};
