import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

/**
 * ITIL problem management: problems (one active per signature: a partial unique index, met with
 * ON CONFLICT), the incidents and changes linked to them, their timeline, the occurrences that
 * recurrence counts, and on incidents the known error whose workaround they got.
 */
export const problems: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createTable('problems')
      .addColumn('id', 'serial', (c) => c.primaryKey())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().defaultTo('open')
        .check(sql`status in ('open', 'known_error', 'resolved', 'closed')`))
      /** What its incidents share (src/domain/problem-recurrence.ts); null for a problem opened by hand without one. */
      .addColumn('signature', 'text')
      .addColumn('rule', 'text')
      .addColumn('root_cause', 'text')
      .addColumn('workaround', 'text')
      .addColumn('workaround_runbook', 'text')
      .addColumn('opened_by', 'text', (c) => c.notNull())
      .addColumn('opened_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('known_error_at', 'timestamptz')
      .addColumn('resolved_at', 'timestamptz')
      .addColumn('closed_at', 'timestamptz')
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema.createIndex('problems_one_active_per_signature').on('problems').column('signature').unique()
      .where(sql.ref('status'), 'in', sql`('open', 'known_error')`).execute();
    await db.schema.createIndex('problems_opened').on('problems').columns(['opened_at', 'id']).execute();

    await db.schema.createTable('problem_incidents')
      .addColumn('problem_id', 'integer', (c) => c.notNull().references('problems.id').onDelete('cascade'))
      .addColumn('incident_id', 'integer', (c) => c.notNull())
      /** The incident's own opened_at, kept here so that "incidents per problem in a period" reads this table alone. */
      .addColumn('incident_opened_at', 'timestamptz', (c) => c.notNull())
      .addColumn('linked_by', 'text', (c) => c.notNull())
      .addColumn('linked_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('problem_incidents_pk', ['problem_id', 'incident_id'])
      .execute();
    await db.schema.createIndex('problem_incidents_incident').on('problem_incidents').column('incident_id').execute();
    await db.schema.createIndex('problem_incidents_opened').on('problem_incidents')
      .columns(['incident_opened_at', 'problem_id']).execute();

    await db.schema.createTable('problem_changes')
      .addColumn('problem_id', 'integer', (c) => c.notNull().references('problems.id').onDelete('cascade'))
      .addColumn('change_id', 'integer', (c) => c.notNull().references('changes.id').onDelete('cascade'))
      .addColumn('linked_by', 'text', (c) => c.notNull())
      .addColumn('linked_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addPrimaryKeyConstraint('problem_changes_pk', ['problem_id', 'change_id'])
      .execute();

    await db.schema.createTable('problem_events')
      .addColumn('id', 'bigserial', (c) => c.primaryKey())
      .addColumn('problem_id', 'integer', (c) => c.notNull().references('problems.id').onDelete('cascade'))
      .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('detail', 'jsonb', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('problem_events_problem').on('problem_events').columns(['problem_id', 'id']).execute();

    /**
     * One row per signature seen: detection locks a batch's signatures' rows (an upsert, in
     * signature order) from counting to commit. Row locks, not advisory ones: they take no slot
     * of the shared lock table, and batches wait only for those sharing a signature.
     */
    await db.schema.createTable('problem_signatures')
      .addColumn('signature', 'text', (c) => c.primaryKey())
      .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
      .execute();

    /** Each incident of a signature, once: what recurrence counts (pruned past the longest window). */
    await db.schema.createTable('problem_occurrences')
      .addColumn('signature', 'text', (c) => c.notNull())
      .addColumn('incident_id', 'integer', (c) => c.notNull())
      .addColumn('at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('problem_occurrences_pk', ['signature', 'incident_id'])
      .execute();
    await db.schema.createIndex('problem_occurrences_at').on('problem_occurrences')
      .columns(['signature', 'at']).execute();

    await db.schema.alterTable('incidents')
      .addColumn('known_error_problem_id', 'integer')
      .addColumn('workaround', 'text')
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('incidents').dropColumn('known_error_problem_id').dropColumn('workaround').execute();
    const tables = [
      'problem_occurrences', 'problem_signatures', 'problem_events', 'problem_changes', 'problem_incidents', 'problems',
    ];
    for (const table of tables) {
      await db.schema.dropTable(table).execute();
    }
  },
};
