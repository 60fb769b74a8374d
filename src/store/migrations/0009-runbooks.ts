import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

/**
 * Runbook automation: the outbox (jobs recorded in the transaction that decided them, handed
 * to their queue after commit), runs and their steps (the audit: a step's row is written
 * before its action runs), ITIL change records, per-runbook breakers, process-wide settings
 * (the kill switch), and the queue name of the embedded queue's jobs (one table, every queue).
 */
export const runbooks: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('queue_jobs')
      .addColumn('queue', 'text', (c) => c.notNull().defaultTo('ingest'))
      .execute();
    // Job ids are unique per queue (an ingest Idempotency-Key may look like a runbook job's id).
    await sql`alter table queue_jobs drop constraint queue_jobs_pkey, add primary key (queue, id)`.execute(db);
    await db.schema.createIndex('queue_jobs_queue_available').on('queue_jobs')
      .columns(['queue', 'available_at', 'enqueued_at']).execute();

    await db.schema.createTable('outbox')
      .addColumn('id', 'bigserial', (c) => c.primaryKey())
      .addColumn('queue', 'text', (c) => c.notNull())
      .addColumn('job_id', 'text', (c) => c.notNull())
      .addColumn('payload', 'jsonb', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
      .addColumn('relayed_at', 'timestamptz')
      .addUniqueConstraint('outbox_queue_job', ['queue', 'job_id'])
      .execute();
    await db.schema.createIndex('outbox_pending').on('outbox').column('id')
      .where(sql.ref('relayed_at'), 'is', null).execute();

    await db.schema.createTable('runbook_runs')
      .addColumn('id', 'serial', (c) => c.primaryKey())
      .addColumn('runbook', 'text', (c) => c.notNull())
      .addColumn('incident_id', 'integer', (c) => c.notNull())
      .addColumn('trigger', 'text', (c) => c.notNull())
      /** What made it, once: a second evaluation of the same event adds no run. */
      .addColumn('trigger_key', 'text', (c) => c.notNull().unique())
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('status_reason', 'text')
      .addColumn('dry_run', 'boolean', (c) => c.notNull().defaultTo(false))
      .addColumn('rules_version', 'text')
      .addColumn('cancel_requested', 'boolean', (c) => c.notNull().defaultTo(false))
      .addColumn('approved_by', 'text')
      .addColumn('approved_at', 'timestamptz')
      /**
       * When the run was recorded (late in the deciding transaction, so close to its commit): trigger latency
       * starts here.
       */
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
      .addColumn('started_at', 'timestamptz')
      .addColumn('finished_at', 'timestamptz')
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema.createIndex('runbook_runs_incident').on('runbook_runs').columns(['incident_id', 'id']).execute();
    await db.schema.createIndex('runbook_runs_runbook').on('runbook_runs').columns(['runbook', 'created_at']).execute();
    await db.schema.createIndex('runbook_runs_target').on('runbook_runs')
      .columns(['runbook', 'target', 'created_at']).execute();

    await db.schema.createTable('runbook_steps')
      .addColumn('run_id', 'integer', (c) => c.notNull().references('runbook_runs.id').onDelete('cascade'))
      .addColumn('idx', 'integer', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      /** Rendered parameters, secrets masked. */
      .addColumn('params', 'jsonb')
      .addColumn('output', 'jsonb')
      .addColumn('error', 'text')
      .addColumn('started_at', 'timestamptz')
      .addColumn('finished_at', 'timestamptz')
      .addPrimaryKeyConstraint('runbook_steps_pk', ['run_id', 'idx'])
      .execute();

    await db.schema.createTable('changes')
      .addColumn('id', 'serial', (c) => c.primaryKey())
      .addColumn('run_id', 'integer', (c) => c.notNull().unique().references('runbook_runs.id').onDelete('cascade'))
      .addColumn('incident_id', 'integer', (c) => c.notNull())
      .addColumn('runbook', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text')
      .addColumn('decided_by', 'text')
      .addColumn('decided_at', 'timestamptz')
      .addColumn('decision_comment', 'text')
      .addColumn('review_note', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .addColumn('closed_at', 'timestamptz')
      .execute();
    await db.schema.createIndex('changes_status').on('changes').columns(['status', 'id']).execute();

    await db.schema.createTable('runbook_breakers')
      .addColumn('runbook', 'text', (c) => c.primaryKey())
      .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('opened_at', 'timestamptz')
      .execute();

    await db.schema.createTable('quell_settings')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'jsonb', (c) => c.notNull())
      .addColumn('updated_by', 'text')
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['quell_settings', 'runbook_breakers', 'changes', 'runbook_steps', 'runbook_runs', 'outbox']) {
      await db.schema.dropTable(table).execute();
    }
    await db.schema.dropIndex('queue_jobs_queue_available').execute();
    await sql`alter table queue_jobs drop constraint queue_jobs_pkey, add primary key (id)`.execute(db);
    await db.schema.alterTable('queue_jobs').dropColumn('queue').execute();
  },
};
