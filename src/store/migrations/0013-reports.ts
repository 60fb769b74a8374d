import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

/**
 * KPI reports (src/reports): the incident's service, and a daily roll-up of closed days.
 *
 * `incident_daily` holds, per UTC day, priority and service, what the reports sum: incidents
 * opened that day (and their alerts), acknowledged and resolved that day (with the sums of their
 * times to acknowledge and resolve), and reopenings. `incident_durations_daily` holds, per day
 * and priority, the log-scale histogram of those times (src/domain/duration-histogram.ts), from
 * which percentiles are read. `incident_monthly` and `incident_durations_monthly` sum them per
 * calendar month. `report_rollup` says up to which day they are rolled: later times
 * are read live from `incidents`, through the indexes below (partial, so that an incident not yet
 * acknowledged or resolved costs them nothing; covering, so that reads skip the table). The write
 * path does not touch the roll-up.
 */
export const reports: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('incidents').addColumn('service', 'text').execute();
    await db.schema.createIndex('incidents_opened_at').on('incidents').column('opened_at').execute();
    // With what the reports read of them, so that a read is an index-only scan.
    for (const col of ['acknowledged_at', 'resolved_at']) {
      await sql`create index ${sql.id(`incidents_${col}`)} on incidents (${sql.id(col)})
        include (opened_at, priority, service) where ${sql.id(col)} is not null`.execute(db);
    }
    await db.schema.createIndex('incident_events_reopened_at').on('incident_events').column('at')
      .where(sql.ref('kind'), '=', 'reopened').execute();

    await db.schema.createTable('incident_daily')
      .addColumn('day', 'date', (c) => c.notNull())
      .addColumn('priority', 'smallint', (c) => c.notNull())
      .addColumn('service', 'text', (c) => c.notNull())
      .addColumn('opened', 'integer', (c) => c.notNull())
      .addColumn('alerts', 'bigint', (c) => c.notNull())
      .addColumn('acknowledged', 'integer', (c) => c.notNull())
      .addColumn('tta_seconds', 'float8', (c) => c.notNull())
      .addColumn('resolved', 'integer', (c) => c.notNull())
      .addColumn('ttr_seconds', 'float8', (c) => c.notNull())
      .addColumn('reopened', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('incident_daily_pk', ['day', 'priority', 'service'])
      .execute();
    await db.schema.createTable('incident_durations_daily')
      .addColumn('day', 'date', (c) => c.notNull())
      .addColumn('priority', 'smallint', (c) => c.notNull())
      .addColumn('measure', 'text', (c) => c.notNull().check(sql`measure in ('tta', 'ttr')`))
      .addColumn('bucket', 'smallint', (c) => c.notNull())
      .addColumn('n', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('incident_durations_daily_pk', ['day', 'priority', 'measure', 'bucket'])
      .execute();
    // The same, summed per calendar month (the first day of the month): a year reads twelve of them.
    await db.schema.createTable('incident_monthly')
      .addColumn('month', 'date', (c) => c.notNull())
      .addColumn('priority', 'smallint', (c) => c.notNull())
      .addColumn('service', 'text', (c) => c.notNull())
      .addColumn('opened', 'integer', (c) => c.notNull())
      .addColumn('alerts', 'bigint', (c) => c.notNull())
      .addColumn('acknowledged', 'integer', (c) => c.notNull())
      .addColumn('tta_seconds', 'float8', (c) => c.notNull())
      .addColumn('resolved', 'integer', (c) => c.notNull())
      .addColumn('ttr_seconds', 'float8', (c) => c.notNull())
      .addColumn('reopened', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('incident_monthly_pk', ['month', 'priority', 'service'])
      .execute();
    await db.schema.createTable('incident_durations_monthly')
      .addColumn('month', 'date', (c) => c.notNull())
      .addColumn('priority', 'smallint', (c) => c.notNull())
      .addColumn('measure', 'text', (c) => c.notNull())
      .addColumn('bucket', 'smallint', (c) => c.notNull())
      .addColumn('n', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('incident_durations_monthly_pk', ['month', 'priority', 'measure', 'bucket'])
      .execute();
    await db.schema.createTable('report_rollup')
      .addColumn('one', 'boolean', (c) => c.primaryKey().defaultTo(true).check(sql`one`))
      .addColumn('rolled_until', 'date', (c) => c.notNull())
      .addColumn('rolled_at', 'timestamptz', (c) => c.notNull())
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    const tables = [
      'report_rollup', 'incident_durations_monthly', 'incident_monthly', 'incident_durations_daily', 'incident_daily',
    ];
    for (const t of tables) await db.schema.dropTable(t).execute();
    const indexes = [
      'incident_events_reopened_at', 'incidents_resolved_at', 'incidents_acknowledged_at', 'incidents_opened_at',
    ];
    for (const i of indexes) {
      await db.schema.dropIndex(i).execute();
    }
    await db.schema.alterTable('incidents').dropColumn('service').execute();
  },
};
