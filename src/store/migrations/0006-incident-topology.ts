import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

/**
 * What an incident knows of the topology: the CIs its alerts are bound to, and its root-cause
 * candidate (the most upstream of them, with each CI's path to it, and the CI's labels for
 * enrichment). The partial index serves the topology stage's read of a rule's grouping incidents.
 */
export const incidentTopology: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('incidents')
      .addColumn('cis', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
      .addColumn('root_cause', 'jsonb')
      .execute();
    await db.schema.createIndex('incidents_grouping_by_rule').on('incidents').column('rule')
      .where(sql.ref('grouping_open'), '=', true).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('incidents_grouping_by_rule').execute();
    await db.schema.alterTable('incidents').dropColumn('root_cause').dropColumn('cis').execute();
  },
};
