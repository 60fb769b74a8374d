import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

/**
 * The CMDB: the CIs and relations of the topology in force, and one meta row naming it.
 * Rows carry the version they belong to: a replace inserts the next version, points the meta
 * row at it and deletes the older rows, in one transaction, so a reader that pages through a
 * version by `ord` never mixes two (see src/store/cmdb-store.ts). Relations have no foreign
 * keys: the whole document is validated before it is stored (src/cmdb/cmdb-schema.ts), and
 * checking 200,000 references row by row would double the time of a replace.
 */
/** The one table this migration writes a row into, as it is here. */
interface MetaTable {
  cmdb_meta: {
    id: number; version: number; hash: string; source: string; loaded_at: Date | null; ci_count: number;
    relation_count: number;
  };
}

export const cmdb: Migration = {
  async up(db: Kysely<MetaTable>): Promise<void> {
    await db.schema.createTable('cmdb_cis')
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('ord', 'integer', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('labels', 'jsonb', (c) => c.notNull())
      .addPrimaryKeyConstraint('cmdb_cis_pk', ['version', 'ord'])
      .addUniqueConstraint('cmdb_cis_id', ['version', 'id'])
      .execute();

    await db.schema.createTable('cmdb_relations')
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('ord', 'integer', (c) => c.notNull())
      .addColumn('from_ci', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('to_ci', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('cmdb_relations_pk', ['version', 'ord'])
      .execute();

    await db.schema.createTable('cmdb_meta')
      .addColumn('id', 'smallint', (c) => c.primaryKey().check(sql`id = 1`))
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('loaded_at', 'timestamptz')
      .addColumn('ci_count', 'integer', (c) => c.notNull())
      .addColumn('relation_count', 'integer', (c) => c.notNull())
      .execute();
    await db.insertInto('cmdb_meta')
      .values({ id: 1, version: 0, hash: '', source: 'none', loaded_at: null, ci_count: 0, relation_count: 0 })
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of ['cmdb_meta', 'cmdb_relations', 'cmdb_cis']) await db.schema.dropTable(table).execute();
  },
};
