import { sql, type RawBuilder } from 'kysely';

/** A PostgreSQL type name an `unnest` column is cast to. */
export type PgType = 'text' | 'jsonb' | 'timestamptz' | 'integer' | 'smallint' | 'float8' | 'boolean';

const QUOTED = /["\\]/;
/** In JSON text: an escape other than `\"` and `\\` (found after an escaped backslash too, matched at its own). */
const OTHER_JSON_ESCAPE = /\\[^"\\]/;
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
  if (values.every(isScalar)) {
    // JSON writes strings, numbers and null as the literal does, quotes and backslashes escaped
    // as the literal escapes them (`\"`, `\\`). Its other escapes (`\n`, `\u0001`, lone
    // surrogates) mean something else in a literal: a backslash before anything but a quote or a
    // backslash sends the values element by element. Otherwise the document is the literal but
    // for its brackets, built natively: several times faster for the worker's batches.
    const json = JSON.stringify(values);
    if (!OTHER_JSON_ESCAPE.test(json)) return `{${json.slice(1, -1)}}`;
  }
  return `{${values.map(element).join(',')}}`;
}

/** A value JSON writes as the array literal does (booleans as `true`/`false`, which PostgreSQL reads too). */
function isScalar(value: unknown): boolean {
  return typeof value === 'string' || value === null || value === undefined || typeof value === 'boolean'
    || (typeof value === 'number' && Number.isFinite(value));
}

/**
 * SQL text around parameters, as `sql` takes a tagged template's strings (it reads them as an
 * array): for statements whose shape is built here, with one fragment per parameter.
 */
const template = (fragments: string[]): TemplateStringsArray => Object.assign(fragments, { raw: fragments });

/** `$1::type[]` for `values`: one parameter however many values (an `in` list stops at 65,535). */
export function arrayParam(values: readonly unknown[], type: PgType): RawBuilder<unknown> {
  return sql(template(['', `::${type}[]`]), pgArrayLiteral(values));
}

/**
 * `select * from unnest($1::text[], $2::integer[], …)`: many rows sent as one array parameter
 * per column rather than one parameter per value. For hundreds of rows this is several times
 * less work for both the driver and PostgreSQL than a multi-row VALUES list, and it has no
 * limit on the number of rows. Use as `insertInto(t).columns(names).expression(unnest(rows, columns))`.
 *
 * A jsonb column travels as one JSON array (`jsonb_array_elements($2::jsonb)`, zipped with the
 * others by `rows from`) rather than as an array literal of JSON texts, each quoted and escaped
 * once more: for label sets that second escaping was most of the literal's cost (about 7 ms per
 * 1,000 alerts' labels and annotations, against 1 ms for the document). Its values are the
 * objects to store, not their JSON text; null and undefined are SQL NULL, as in the other columns.
 *
 * The statement is one fragment of SQL with its parameters (kysely builds, freezes and walks a
 * node per fragment: for the worker's small batches that was a fifth of its CPU time).
 */
export function unnest<Row>(
  rows: readonly Row[], columns: readonly (readonly [keyof Row & string, PgType])[],
): RawBuilder<unknown> {
  const valuesOf = (name: keyof Row & string): unknown[] => rows.map((r) => r[name] ?? null);
  const params = columns.map(([name, type]) => (type === 'jsonb' ? jsonDocument(name, valuesOf(name))
    : pgArrayLiteral(valuesOf(name))));
  if (!columns.some(([, type]) => type === 'jsonb')) {
    return sql(template(['select * from unnest(', ...columns.map(([, type], i) =>
      `::${type}[]${i < columns.length - 1 ? ', ' : ')'}`)]), ...params);
  }
  const selected = columns.map(([, type], i) => (type === 'jsonb' ? `nullif(c${i}, 'null'::jsonb)` : `c${i}`));
  const names = columns.map((_, i) => `c${i}`).join(', ');
  // Each column's source: opened before its parameter, closed after it.
  const open = (type: PgType): string => (type === 'jsonb' ? 'jsonb_array_elements(' : 'unnest(');
  const close = (type: PgType): string => (type === 'jsonb' ? '::jsonb)' : `::${type}[])`);
  const fragments = columns.map(([, type], i) => {
    const next = columns[i + 1];
    return close(type) + (next === undefined ? `) as u(${names})` : `, ${open(next[1])}`);
  });
  const first = columns[0];
  if (first === undefined) throw new Error('unnest: no columns');
  return sql(template([`select ${selected.join(', ')} from rows from (${open(first[1])}`, ...fragments]), ...params);
}

/**
 * The JSON array of a jsonb column's values. A string is refused: it would be stored as a JSON
 * string, and a caller passing one means JSON text (kysely's convention for jsonb inserts),
 * which would then be stored double-encoded.
 */
function jsonDocument(column: string, values: readonly unknown[]): string {
  if (values.some((v) => typeof v === 'string')) {
    throw new TypeError(`unnest: jsonb column ${column} takes values to store, not their JSON text`);
  }
  return JSON.stringify(values);
}

/** `any($1::type[])`, as in `where('fingerprint', '=', anyOf(fingerprints, 'text'))`. */
export function anyOf<T>(values: readonly T[], type: PgType): RawBuilder<T> {
  return sql<T>(template(['any(', `::${type}[])`]), pgArrayLiteral(values));
}
