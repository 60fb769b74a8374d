import { Kysely, sql } from 'kysely';
import { PGliteDialect } from './pglite-dialect';
import type { Database } from './database';
import { migrateToLatest } from './migrate';

/**
 * A PostgreSQL of its own, in this process's memory (PGlite with no directory), migrated to the
 * latest schema: what `quell rules test` and `quell replay` run the engine on. Nothing is
 * written to disk; `destroy()` frees it.
 */
export async function openMemoryDatabase(): Promise<Kysely<Database>> {
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = await PGlite.create();
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  await migrateToLatest(db);
  return db;
}

/**
 * Empties every table but the migrations' own, and restarts their id sequences: the database
 * as migrateToLatest left it. Tables later migrations add are included without naming them.
 */
export async function resetDatabase(db: Kysely<Database>): Promise<void> {
  const { rows } = await sql<{ name: string }>`
    select quote_ident(tablename) as name from pg_tables
    where schemaname = current_schema() and tablename not like 'kysely\\_migration%'`.execute(db);
  if (rows.length === 0) return;
  await sql`truncate table ${sql.raw(rows.map((r) => r.name).join(', '))} restart identity cascade`.execute(db);
}
