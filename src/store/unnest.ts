import { sql, type RawBuilder } from 'kysely';

/** A PostgreSQL type name an `unnest` column is cast to. */
export type PgType = 'text' | 'jsonb' | 'timestamptz' | 'integer' | 'smallint' | 'float8' | 'boolean';

const QUOTED = /["\\]/;
const QUOTES = /["\\]/g;

/**
 * One element of an array literal: null and undefined are NULL, numbers and booleans bare,
 * anything else a quoted string (a Date as ISO 8601, an object or array as its JSON, as jsonb
 * takes it).
 */
function element(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 't' : 'f';
  const text = typeof value === 'string' ? value : value instanceof Date ? value.toISOString() : JSON.stringify(value);
  return QUOTED.test(text) ? `"${text.replace(QUOTES, '\\$&')}"` : `"${text}"`;
}

/**
 * A PostgreSQL array literal (`{"a","b\"c",NULL}`) of `values`, sent as one text parameter.
 * node-postgres encodes a JS array parameter the same way, but element by element through two
 * regular expressions and its generic value mapping: for the worker's batches of thousands of
 * alerts that was about an eighth of its CPU time and much of its garbage (CPU profile, 10,000
 * alerts/s). Every element is quoted, so a string such as `NULL` stays a string.
 */
export function pgArrayLiteral(values: readonly unknown[]): string {
  return `{${values.map(element).join(',')}}`;
}

/** `$1::type[]` for `values`: one parameter however many values (an `in` list stops at 65,535). */
export function arrayParam(values: readonly unknown[], type: PgType): RawBuilder<unknown> {
  return sql`${pgArrayLiteral(values)}::${sql.raw(type)}[]`;
}

/**
 * `select * from unnest($1::text[], $2::jsonb[], …)`: many rows sent as one array parameter per
 * column rather than one parameter per value. For hundreds of rows this is several times less
 * work for both the driver and PostgreSQL than a multi-row VALUES list, and it has no limit
 * on the number of rows. Use as `insertInto(t).columns(names).expression(unnest(rows, columns))`.
 */
export function unnest<Row>(
  rows: readonly Row[], columns: readonly (readonly [keyof Row & string, PgType])[],
): RawBuilder<unknown> {
  const arrays = columns.map(([name, type]) => arrayParam(rows.map((r) => r[name] ?? null), type));
  return sql`select * from unnest(${sql.join(arrays)})`;
}

/** `any($1::type[])`, as in `where('fingerprint', '=', anyOf(fingerprints, 'text'))`. */
export function anyOf<T>(values: readonly T[], type: PgType): RawBuilder<T> {
  return sql<T>`any(${arrayParam(values, type)})`;
}
