import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Room on each page for updated rows of the tables the workers update in place: with the
 * default fillfactor (100) an insert-filled page has none, so an update writes the new row
 * version on another page and adds it to every index of the table (incidents have twelve);
 * with room, PostgreSQL keeps it on the page and touches no index (a HOT update) when no
 * indexed column changed, as for an incident taking more alerts. Measured in a 100,000-alert
 * storm: 65% of incident updates were HOT before. Only pages written from now on keep the
 * room; `VACUUM FULL incidents` (a lock for its duration) gives it to the existing ones.
 */
const ROOM: readonly (readonly [string, number])[] = [['incidents', 50], ['alert_flapping', 70]];

export const updateRoom: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    for (const [table, fillfactor] of ROOM) {
      await sql`alter table ${sql.table(table)} set (fillfactor = ${sql.lit(fillfactor)})`.execute(db);
    }
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const [table] of ROOM) await sql`alter table ${sql.table(table)} reset (fillfactor)`.execute(db);
  },
};
