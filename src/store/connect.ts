import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import { PGliteDialect } from './pglite-dialect';
import { Pool } from 'pg';
import type { Database } from './database';

export interface DatabaseOptions {
  /** PostgreSQL connection string; without it, an embedded PGlite database in `dataDir`. */
  readonly url?: string;
  readonly dataDir: string;
  /** @defaultValue 10 */
  readonly poolSize?: number;
  /**
   * A pooled connection failed, idle or in use (the server restarted, an admin ended it).
   * It is discarded, never reused; the pool opens another when needed. Called once per
   * connection. Without a listener on every client, Node would crash the process.
   */
  readonly onConnectionError?: (err: Error) => void;
}

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: 'postgres' | 'pglite';
}

export async function connectDatabase(opts: DatabaseOptions): Promise<DatabaseHandle> {
  if (opts.url) {
    const pool = new Pool({ connectionString: opts.url, max: opts.poolSize ?? 10, connectionTimeoutMillis: 5000 });
    // Every client gets its listener as it connects, so one failing while checked out (a
    // query or transaction in flight) is handled too. pg marks it unqueryable, and the pool
    // removes it when it is released instead of handing it out again.
    pool.on('connect', (client) => {
      client.on('error', (err) => opts.onConnectionError?.(err));
    });
    // The pool repeats an idle client's error, already reported by the client's listener.
    pool.on('error', () => undefined);
    return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), kind: 'postgres' };
  }
  const dir = join(opts.dataDir, 'pgdata');
  mkdirSync(dir, { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = await PGlite.create(dir);
  return { db: new Kysely<Database>({ dialect: new PGliteDialect(pglite) }), kind: 'pglite' };
}
