import { sql, type OperationNodeSource, type RawBuilder, type Transaction } from 'kysely';
import type { Database } from './database';

/**
 * Writes of a transaction that nothing later in it reads, held to travel with a later statement
 * (as its data-modifying CTEs) instead of each costing a round trip of its own: for the
 * worker's small batches a round trip is a sizeable share of the transaction's time. A write
 * is an insert, update or delete without RETURNING and without a WITH of its own
 * (PostgreSQL runs data-modifying CTEs at the top level only). Whoever holds one must send
 * what is left before the transaction commits ({@link flush}).
 */
export class LaterWrites {
  private held: OperationNodeSource[] = [];

  add(write: OperationNodeSource): void {
    this.held.push(write);
  }

  /**
   * `statement` (without a WITH of its own) with the writes held, which it takes: they run in
   * the same statement, each once, to completion, whatever `statement` returns.
   */
  carriedBy<T>(statement: OperationNodeSource): RawBuilder<T> {
    return withWrites<T>(this.take(), statement);
  }

  /** Sends the writes still held, in one statement. */
  async flush(trx: Transaction<Database>): Promise<void> {
    const writes = this.take();
    const [only] = writes;
    if (only === undefined) return;
    await (writes.length === 1 ? sql`${only}` : withWrites(writes, sql`select`)).execute(trx);
  }

  private take(): OperationNodeSource[] {
    const writes = this.held;
    this.held = [];
    return writes;
  }
}

function withWrites<T>(writes: readonly OperationNodeSource[], statement: OperationNodeSource): RawBuilder<T> {
  if (writes.length === 0) return sql<T>`${statement}`;
  return sql<T>`with ${sql.join(writes.map((w, i) => sql`${sql.raw(`later_${String(i)}`)} as (${w})`))}
    ${statement}`;
}
