import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

export const initial: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createTable('alerts')
      .addColumn('fingerprint', 'text', (c) => c.primaryKey())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('firing', 'resolved')`))
      .addColumn('labels', 'jsonb', (c) => c.notNull())
      .addColumn('annotations', 'jsonb', (c) => c.notNull())
      .addColumn('generator_url', 'text')
      .addColumn('starts_at', 'timestamptz', (c) => c.notNull())
      .addColumn('ends_at', 'timestamptz')
      .addColumn('occurrences', 'integer', (c) => c.notNull())
      .addColumn('first_seen_at', 'timestamptz', (c) => c.notNull())
      .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
      .execute();

    await db.schema.createTable('incidents')
      .addColumn('id', 'integer', (c) => c.primaryKey().generatedAlwaysAsIdentity())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('open', 'acknowledged', 'resolved')`))
      .addColumn('priority', 'smallint', (c) => c.notNull().check(sql`priority between 1 and 5`))
      .addColumn('rule', 'text', (c) => c.notNull())
      .addColumn('group_key', 'text', (c) => c.notNull())
      .addColumn('grouping_open', 'boolean', (c) => c.notNull())
      .addColumn('group_window_seconds', 'integer', (c) => c.notNull())
      .addColumn('alert_count', 'integer', (c) => c.notNull())
      .addColumn('opened_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('first_alert_at', 'timestamptz', (c) => c.notNull())
      .addColumn('last_alert_at', 'timestamptz', (c) => c.notNull())
      .addColumn('acknowledged_at', 'timestamptz')
      .addColumn('resolved_at', 'timestamptz')
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addCheckConstraint('incidents_resolved_not_grouping', sql`not (grouping_open and status = 'resolved')`)
      .execute();
    // The database, not timing, guarantees one incident per group that alerts can join.
    await db.schema.createIndex('incidents_one_open_per_group').on('incidents').column('group_key')
      .unique().where(sql.ref('grouping_open'), '=', true).execute();
    await db.schema.createIndex('incidents_status_opened').on('incidents').columns(['status', 'opened_at']).execute();

    await db.schema.createTable('incident_alerts')
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('starts_at', 'timestamptz', (c) => c.notNull())
      .addColumn('incident_id', 'integer', (c) => c.notNull().references('incidents.id'))
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('ends_at', 'timestamptz')
      .addColumn('received_at', 'timestamptz', (c) => c.notNull())
      .addColumn('linked_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
      .addPrimaryKeyConstraint('incident_alerts_pk', ['fingerprint', 'starts_at'])
      .execute();
    await db.schema.createIndex('incident_alerts_incident').on('incident_alerts')
      .columns(['incident_id', 'status']).execute();

    await db.schema.createTable('incident_events')
      .addColumn('id', 'bigint', (c) => c.primaryKey().generatedAlwaysAsIdentity())
      .addColumn('incident_id', 'integer', (c) => c.notNull().references('incidents.id'))
      .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('detail', 'jsonb', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('incident_events_incident').on('incident_events')
      .columns(['incident_id', 'id']).execute();

    await db.schema.createTable('processed_jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('processed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema.createIndex('processed_jobs_at').on('processed_jobs').column('processed_at').execute();

    await db.schema.createTable('queue_jobs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('payload', 'jsonb', (c) => c.notNull())
      .addColumn('enqueued_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('available_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
      .addColumn('last_error', 'text')
      .execute();
    await db.schema.createIndex('queue_jobs_available').on('queue_jobs')
      .columns(['available_at', 'enqueued_at']).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['queue_jobs', 'processed_jobs', 'incident_events', 'incident_alerts', 'incidents', 'alerts']) {
      await db.schema.dropTable(table).execute();
    }
  },
};
