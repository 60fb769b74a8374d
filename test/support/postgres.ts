import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { Client } from 'pg';
import { connectDatabase } from '../../src/store/connect';
import type { Database } from '../../src/store/database';
import { migrateToLatest } from '../../src/store/migrate';

/** The server the tests use; a fresh database is made on it for each test file. */
export const PG_ADMIN_URL = process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  readonly url: string;
  readonly db: Kysely<Database>;
  drop(): Promise<void>;
}

/** A new, migrated database of its own, so test files run in parallel without cross-talk. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `quell_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  await admin(`create database ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  // Quell's own pool, whose clients all have an error listener (a server restart or the
  // forced drop below ends their connections).
  const { db } = await connectDatabase({ url: url.toString(), dataDir: '', poolSize: 10 });
  await migrateToLatest(db);
  return {
    url: url.toString(),
    db,
    async drop() {
      await db.destroy();
      await admin(`drop database if exists ${name} with (force)`);
    },
  };
}

async function admin(statement: string): Promise<void> {
  const client = new Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
