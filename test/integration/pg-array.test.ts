import { sql } from 'kysely';
import { arrayParam, pgArrayLiteral, unnest, type PgType } from '../../src/store/unnest';
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

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 0x20) return true;
  return false;
}

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

test('strings JSON escapes only as the literal does (the literal built as JSON) come back as they were', async () => {
  // Quotes and backslashes: JSON escapes them as the literal does; control characters it does not.
  // (A backslash before any other character is taken for one of those escapes: element by element.)
  const plain = HOSTILE.filter((v) => !/\\[^"\\]/.test(v) && !hasControl(v));
  expect(plain).toEqual(expect.arrayContaining(['NULL', '"', '\\', '\\"', '"\\', '\\\\"\\\\', '{a,b}',
    'ünïcødé ✓ 🚨']));
  expect(pgArrayLiteral([...plain, null]))
    .toBe(`{${plain.map((v) => `"${v.replace(/["\\]/g, '\\$&')}"`).join(',')},null}`);
  expect(await roundTrip([...plain, null, undefined], 'text')).toEqual([...plain, null, null]);
  expect(await roundTrip(['x\\ny', '\\u0041', '\\\\n'], 'text')).toEqual(['x\\ny', '\\u0041', '\\\\n']);
  // A control character: the whole literal is built element by element.
  expect(pgArrayLiteral(['a"', 'tab\there'])).toBe('{"a\\"","tab\there"}');
  expect(await roundTrip(['a', 'tab\there', 'b"', 'line\nbreak\\'], 'text'))
    .toEqual(['a', 'tab\there', 'b"', 'line\nbreak\\']);
});

test('the literal quotes every string and escapes only what must be', () => {
  expect(pgArrayLiteral(['a', 'b"c', 'd\\e', null, 3, true])).toBe('{"a","b\\"c","d\\\\e",NULL,3,t}');
  expect(pgArrayLiteral([])).toBe('{}');
});

test('unnest with jsonb columns: rows zip in order; objects come back as they were, null and undefined as NULL',
  async () => {
    const rows: { n: number; name: string; labels?: object; detail: unknown }[] = HOSTILE.map((v, i) => ({
      n: i, name: v, labels: { [`k${i}${v}`]: v, nested: { list: [v, i] } },
      detail: i % 3 === 0 ? null : [v, { v }, i, true],
    }));
    rows.push({ n: rows.length, name: 'none', detail: null });
    const { rows: back } = await sql<{ n: number; name: string; labels: unknown; detail: unknown }>`
      select n, name, labels, detail
      from (${unnest(rows, [['n', 'integer'], ['name', 'text'], ['labels', 'jsonb'], ['detail', 'jsonb']])})
        as u(n, name, labels, detail) order by n`.execute(t.db);
    expect(back).toEqual(rows.map((r) => ({ n: r.n, name: r.name, labels: r.labels ?? null, detail: r.detail })));
  });

test('unnest refuses JSON text in a jsonb column (it would be stored double-encoded)', () => {
  expect(() => unnest([{ j: '{"a":1}' }], [['j', 'jsonb']])).toThrow('jsonb column j takes values to store');
});

test('unnest with a jsonb column and no rows is no rows', async () => {
  const none: { a: string; j: unknown }[] = [];
  const { rows } = await sql`select * from (${unnest(none, [['a', 'text'], ['j', 'jsonb']])}) as u(a, j)`.execute(t.db);
  expect(rows).toEqual([]);
});
