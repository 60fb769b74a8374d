import { sql, type RawBuilder } from 'kysely';

/**
 * A row and its place in a keyset order. A page ends with the key of its last row, and the
 * next page is the rows after that key: an index range scan, however deep the page is.
 */
export interface Keyed<K, T> {
  readonly key: K;
  readonly row: T;
}

/** A list in a keyset order: up to `limit` rows after `after` (undefined: from the start). */
export type KeysetSource<K, T> = (after: K | undefined, limit: number) => Promise<Keyed<K, T>[]>;

/** A timestamptz as exact UTC text: a key needs the microseconds a JS Date rounds away. */
export function exactTime(column: string): RawBuilder<string> {
  return sql<string>`to_char(${sql.ref(column)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}
