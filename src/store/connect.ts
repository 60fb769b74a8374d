import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely';
import { Pool } from 'pg';
import type { Database } from './database';

export interface DatabaseOptions {
  /** PostgreSQL connection string; without it, an embedded PGlite database in `dataDir`. */
  readonly url?: string;
  readonly dataDir: string;
  /** @defaultValue 10 */
  readonly poolSize?: number;
  /**
   * An idle pooled connection failed (the server restarted, an admin ended it). The pool
   * drops it and opens another when needed; without a listener, Node would crash the process.
   */
  readonly onIdleError?: (err: Error) => void;
}

export interface DatabaseHandle {
  readonly db: Kysely<Database>;
  readonly kind: 'postgres' | 'pglite';
}

export async function connectDatabase(opts: DatabaseOptions): Promise<DatabaseHandle> {
  if (opts.url) {
    const pool = new Pool({ connectionString: opts.url, max: opts.poolSize ?? 10, connectionTimeoutMillis: 5000 });
    pool.on('error', (err) => opts.onIdleError?.(err));
    return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), kind: 'postgres' };
  }
  const dir = join(opts.dataDir, 'pgdata');
  mkdirSync(dir, { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = await PGlite.create(dir);
  return { db: new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) }), kind: 'pglite' };
}
