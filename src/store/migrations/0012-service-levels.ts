import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

/**
 * Service levels and escalation: `sla_flags` holds what the sweep decided once per incident,
 * clock and level (a warning, a breach, an escalation step, a clock's stop observed in the
 * metrics): its primary key met with ON CONFLICT DO NOTHING, in the transaction that writes the
 * timeline, is what makes each of them happen once however many sweeps run. `notify_deliveries`
 * counts a notification's attempts and keeps its outcome (a redelivered job sends nothing twice).
 */
export const serviceLevels: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createTable('sla_flags')
      .addColumn('incident_id', 'integer', (c) => c.notNull())
      /** `tta`, `ttr`, or `escalation:<policy>`. */
      .addColumn('clock', 'text', (c) => c.notNull())
      /** `warning`, `breached`, `stopped`, or an escalation step `L<level>R<round>`. */
      .addColumn('level', 'text', (c) => c.notNull())
      .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('sla_flags_pkey', ['incident_id', 'clock', 'level'])
      .execute();
    // The sweep looks at incidents resolved lately (their clocks' stops); without this, a scan.
    await db.schema.createIndex('incidents_sla_resolved_at').on('incidents').column('resolved_at')
      .where(sql.ref('resolved_at'), 'is not', null).execute();

    await db.schema.createTable('notify_deliveries')
      .addColumn('job_id', 'text', (c) => c.primaryKey())
      .addColumn('incident_id', 'integer', (c) => c.notNull())
      .addColumn('target', 'text', (c) => c.notNull())
      /** `sending` (attempts under way), `delivered`, `failed`. */
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_error', 'text')
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('notify_deliveries').execute();
    await db.schema.dropIndex('incidents_sla_resolved_at').execute();
    await db.schema.dropTable('sla_flags').execute();
  },
};
