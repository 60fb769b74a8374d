import {
  CompiledQuery, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler,
  type DatabaseConnection, type DatabaseIntrospector, type Dialect, type DialectAdapter, type Driver,
  type Kysely, type QueryCompiler, type QueryResult,
} from 'kysely';

/** What the dialect uses of a PGlite instance (its class has private members a structural type cannot match). */
export interface PGliteLike {
  readonly closed: boolean;
  readonly waitReady: Promise<void>;
  query(
    sql: string, params: unknown[], opts: { rowMode: 'object' },
  ): Promise<{ rows?: unknown[]; affectedRows?: number }>;
  close(): Promise<void>;
}

/**
 * Kysely on an embedded PGlite (PostgreSQL in WebAssembly). Kysely 0.29 ships one but needs
 * Node.js 22; 0.28, which Quell pins for Node.js 20, does not. PGlite is a single session:
 * one connection, lent to one caller at a time (a transaction holds it until it ends), so a
 * query never lands inside another caller's transaction.
 */
export class PGliteDialect implements Dialect {
  constructor(private readonly pglite: PGliteLike) {}
  createAdapter(): DialectAdapter { return new PGliteAdapter(); }
  createDriver(): Driver { return new PGliteDriver(this.pglite); }
  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector { return new PostgresIntrospector(db); }
  createQueryCompiler(): QueryCompiler { return new PostgresQueryCompiler(); }
}

/** PostgreSQL's, without the advisory lock: the migrator holds the only connection anyway. */
class PGliteAdapter extends PostgresAdapter {
  override async acquireMigrationLock(): Promise<void> { /* one session: nothing to lock against */ }
  override async releaseMigrationLock(): Promise<void> { /* see acquireMigrationLock */ }
}

class PGliteDriver implements Driver {
  private readonly connection: PGliteConnection;
  /** The caller holding the connection resolves this when it releases it. */
  private held: Promise<void> = Promise.resolve();
  private release?: () => void;

  constructor(private readonly pglite: PGliteLike) {
    this.connection = new PGliteConnection(pglite);
  }

  async init(): Promise<void> { await this.pglite.waitReady; }

  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.held;
    let release!: () => void;
    this.held = new Promise((resolve) => { release = resolve; });
    await previous;
    this.release = release;
    return this.connection;
  }

  releaseConnection(): Promise<void> {
    const release = this.release;
    this.release = undefined;
    release?.();
    return Promise.resolve();
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdent(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdent(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdent(name)}`));
  }

  async destroy(): Promise<void> {
    if (!this.pglite.closed) await this.pglite.close();
  }
}

class PGliteConnection implements DatabaseConnection {
  constructor(private readonly pglite: PGliteLike) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const { affectedRows, rows } = await this.pglite.query(query.sql, [...query.parameters], { rowMode: 'object' });
    return {
      ...(affectedRows !== undefined ? { numAffectedRows: BigInt(affectedRows) } : {}), rows: (rows ?? []) as R[],
    };
  }

  // eslint-disable-next-line require-yield, @typescript-eslint/require-await -- Kysely wants a generator; none streams
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('PGlite does not stream query results');
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
