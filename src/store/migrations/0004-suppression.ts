import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

/**
 * Suppression and every alert's fate:
 * - `alerts.disposition` / `disposition_detail`: what became of the latest episode and why
 *   (src/domain/alert-disposition.ts), and `release_at`: when a held alert still firing is
 *   taken up again (`infinity` for an inhibited one: when no source fires; null otherwise);
 * - `silences` (Alertmanager's), and `silences_version`, one counter every change increments,
 *   so that workers reload their cached silences only when it moves;
 * - `inhibit_sources`: firing alerts indexed by inhibit rule and their `equal` label values, so
 *   that finding an alert's inhibitor is an index lookup; `inhibit_source_scans` records which
 *   rules (per rule-file version) have had the alerts already firing indexed.
 * Alerts stored before this have no disposition, except those of an incident.
 */
export const suppression: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('alerts')
      .addColumn('disposition', 'text')
      .addColumn('disposition_detail', 'jsonb')
      .addColumn('release_at', 'timestamptz')
      .execute();
    // Only held alerts still firing (a resolve clears release_at): a small index, read each
    // minute by the release task. It names no column an incident's alert changes (disposition,
    // status), so those updates stay as cheap as they were.
    await db.schema.createIndex('alerts_held').on('alerts').column('release_at')
      .where(sql.ref('release_at'), 'is not', null).execute();
    await sql`update alerts a
      set disposition = 'incident', disposition_detail = jsonb_build_object('incident_id', ia.incident_id)
      from incident_alerts ia where ia.fingerprint = a.fingerprint and ia.starts_at = a.starts_at`.execute(db);

    await db.schema.createTable('silences')
      .addColumn('id', 'uuid', (c) => c.primaryKey())
      .addColumn('matchers', 'jsonb', (c) => c.notNull())
      .addColumn('starts_at', 'timestamptz', (c) => c.notNull())
      .addColumn('ends_at', 'timestamptz', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('comment', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
      .addCheckConstraint('silences_ends_after_start', sql`ends_at >= starts_at`)
      .execute();
    await db.schema.createIndex('silences_created').on('silences').columns(['created_at', 'id']).execute();
    await db.schema.createIndex('silences_ends').on('silences').column('ends_at').execute();
    await db.schema.createTable('silences_version')
      .addColumn('one', 'boolean', (c) => c.primaryKey().defaultTo(true).check(sql`one`))
      .addColumn('version', 'bigint', (c) => c.notNull())
      .execute();
    await sql`insert into silences_version (one, version) values (true, 0)`.execute(db);

    await db.schema.createTable('inhibit_sources')
      .addColumn('rule_key', 'text', (c) => c.notNull())
      .addColumn('equal_key', 'text', (c) => c.notNull())
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('matches_target', 'boolean', (c) => c.notNull())
      .addPrimaryKeyConstraint('inhibit_sources_pk', ['rule_key', 'equal_key', 'fingerprint'])
      .execute();
    await db.schema.createTable('inhibit_source_scans')
      .addColumn('scan_key', 'text', (c) => c.primaryKey())
      .addColumn('scanned_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['inhibit_source_scans', 'inhibit_sources', 'silences_version', 'silences']) {
      await db.schema.dropTable(table).execute();
    }
    await db.schema.dropIndex('alerts_held').execute();
    await db.schema.alterTable('alerts').dropColumn('release_at').dropColumn('disposition_detail')
      .dropColumn('disposition').execute();
  },
};
