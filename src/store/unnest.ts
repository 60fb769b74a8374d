import { sql, type RawBuilder } from 'kysely';

/** A PostgreSQL type name an `unnest` column is cast to. */
export type PgType = 'text' | 'jsonb' | 'timestamptz' | 'integer' | 'smallint' | 'boolean';

/**
 * `select * from unnest($1::text[], $2::jsonb[], …)`: many rows sent as one array parameter per
 * column rather than one parameter per value. For hundreds of rows this is several times less
 * work for both the driver and PostgreSQL than a multi-row VALUES list, and it has no limit
 * on the number of rows. Use as `insertInto(t).columns(names).expression(unnest(rows, columns))`.
 */
export function unnest<Row>(
  rows: readonly Row[], columns: readonly (readonly [keyof Row & string, PgType])[],
): RawBuilder<unknown> {
  const arrays = columns.map(([name, type]) => sql`${rows.map((r) => r[name] ?? null)}::${sql.raw(type)}[]`);
  return sql`select * from unnest(${sql.join(arrays)})`;
}
