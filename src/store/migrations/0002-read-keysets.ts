import type { Kysely } from 'kysely';
import type { Migration } from 'kysely';

/**
 * Indexes for the API's keyset pages: an incident's alerts in the order they were linked, and
 * incidents newest first. Each page is then an index range scan, however far in a cursor is.
 */
export const readKeysets: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createIndex('incident_alerts_incident_linked').on('incident_alerts')
      .columns(['incident_id', 'linked_at', 'fingerprint', 'starts_at']).execute();
    await db.schema.createIndex('incidents_opened').on('incidents').columns(['opened_at', 'id']).execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('incidents_opened').execute();
    await db.schema.dropIndex('incident_alerts_incident_linked').execute();
  },
};
