import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

/**
 * Resolves that come from Quell's side of the wire rather than the source's:
 * - `alerts.expires_at`: a firing alert that its source re-sends before then (Prometheus posting
 *   straight to Quell sets `endsAt` = now + 4 resend intervals); not re-sent by then, it
 *   resolves (src/worker/alert-expiry.ts), as Alertmanager resolves it.
 * - `alerts.missing_since`: the first reconciliation poll that found the source no longer
 *   firing it (src/worker/reconcile.ts); cleared when a poll lists it again.
 * - `reconcile_runs`: when each polled connector was last reconciled, so that several workers
 *   poll a source once per interval between them.
 * Partial indexes: only firing alerts that carry one are ever looked up by them.
 */
export const alertExpiry: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('alerts')
      .addColumn('expires_at', 'timestamptz')
      .addColumn('missing_since', 'timestamptz')
      .execute();
    await sql`create index alerts_expiring on alerts (expires_at) where status = 'firing' and expires_at is not null`
      .execute(db);
    await db.schema.createTable('reconcile_runs')
      .addColumn('connector', 'text', (c) => c.primaryKey())
      .addColumn('ran_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await sql`create index alerts_firing_by_source on alerts (source, fingerprint) where status = 'firing'`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('reconcile_runs').execute();
    await db.schema.dropIndex('alerts_firing_by_source').execute();
    await db.schema.dropIndex('alerts_expiring').execute();
    await db.schema.alterTable('alerts').dropColumn('missing_since').dropColumn('expires_at').execute();
  },
};
