import { sql } from 'kysely';
import { arrayParam, pgArrayLiteral, type PgType } from '../../src/store/unnest';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * The array literals the store sends as one parameter (unnest, `any(...)`) read back as the
 * values they came from, on the real PostgreSQL: alert labels are hostile input, so every
 * character that means something in an array literal is in here.
 */
let t: TestDatabase;
beforeAll(async () => { t = await createTestDatabase(); });
afterAll(async () => { await t.drop(); });

const HOSTILE = [
  'plain', '', ' ', 'NULL', 'null', '"', '\\', '\\"', '"\\', 'a,b', '{a,b}', '{', '}', 'x"y\\z', "it's",
  'tab\there', 'line\nbreak', 'ünïcødé ✓ 🚨', '$1', ' leading and trailing ', '\\\\"\\\\', 'ARRAY[1]',
];

async function roundTrip<T>(values: readonly unknown[], type: PgType) {
  const { rows } = await sql<{ v: T }>`select v from unnest(${arrayParam(values, type)}) with ordinality as u(v, n)
    order by n`.execute(t.db);
  return rows.map((r) => r.v);
}

test('text: every string comes back as it was, NULL as null', async () => {
  expect(await roundTrip([...HOSTILE, null, undefined], 'text')).toEqual([...HOSTILE, null, null]);
});

test('jsonb: label sets with quotes, backslashes and braces come back as the same objects', async () => {
  const labels = HOSTILE.map((v, i) => ({ [`k${i}${v}`]: v, nested: { list: [v, i] } }));
  expect(await roundTrip([...labels.map((l) => JSON.stringify(l)), null], 'jsonb')).toEqual([...labels, null]);
  // An object is sent as its JSON, as node-postgres would.
  expect(await roundTrip([{ a: '"}' }], 'jsonb')).toEqual([{ a: '"}' }]);
});

test('timestamptz, integer, smallint, float8 and boolean', async () => {
  const at = '2026-11-27T10:00:00.123Z';
  const times = await roundTrip<Date | null>([at, new Date(at), null], 'timestamptz');
  expect(times.map((d) => d?.toISOString() ?? null)).toEqual([at, at, null]);
  expect(await roundTrip([1, -2, 2147483647, null], 'integer')).toEqual([1, -2, 2147483647, null]);
  expect(await roundTrip([true, false, null], 'boolean')).toEqual([true, false, null]);
  expect(await roundTrip([1, 32767, null], 'smallint')).toEqual([1, 32767, null]);
  expect(await roundTrip([0.25, -1.5e10, 300, null], 'float8')).toEqual([0.25, -1.5e10, 300, null]);
});

test('the literal quotes every string and escapes only what must be', () => {
  expect(pgArrayLiteral(['a', 'b"c', 'd\\e', null, 3, true])).toBe('{"a","b\\"c","d\\\\e",NULL,3,t}');
  expect(pgArrayLiteral([])).toBe('{}');
});
