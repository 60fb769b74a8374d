import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

/**
 * The topology stage reads only the grouping incidents that hold a CI near its alerts' CIs,
 * among their CIs or as their root cause (topology-store.ts, groupingIncidentsNear): partial
 * indexes on both, so that the read stays small however many incidents are grouping.
 *
 * The GIN index is built without fastupdate: every batch updates incidents' CIs (non-HOT), and
 * with a pending list every lookup reads that whole unsorted list (up to 4 MB) until a vacuum
 * merges it, 1.5-3.5 ms per lookup instead of microseconds; at thousands of lookups per batch,
 * held under the rule's lock, that stalled the storm.
 */
export const topologyNear: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await sql`create index incidents_grouping_cis on incidents using gin (cis) with (fastupdate = off)
      where grouping_open`
      .execute(db);
    await sql`create index incidents_grouping_root on incidents ((root_cause->>'ci')) where grouping_open`.execute(db);
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('incidents_grouping_root').execute();
    await db.schema.dropIndex('incidents_grouping_cis').execute();
  },
};
