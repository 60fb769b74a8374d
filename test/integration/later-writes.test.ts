import { sql, type LogEvent, Kysely, PostgresDialect } from 'kysely';
import { Pool } from 'pg';
import type { Database } from '../../src/store/database';
import { LaterWrites } from '../../src/store/later-writes';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * Writes held for a later statement run in that statement, each once, and flush sends what is
 * left in one statement (real PostgreSQL; statements counted from kysely's log).
 */
let t: TestDatabase;
let db: Kysely<Database>;
let statements: string[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  const log = (e: LogEvent): void => { statements.push(e.query.sql); };
  const pool = new Pool({ connectionString: t.url, max: 1 });
  db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log });
});
afterAll(async () => {
  await db.destroy();
  await t.drop();
});
beforeEach(async () => {
  await sql`drop table if exists later_test`.execute(t.db);
  await sql`create table later_test (n integer primary key, v text)`.execute(t.db);
  statements = [];
});

const rows = async () =>
  (await sql<{ n: number; v: string }>`select n, v from later_test order by n`.execute(t.db)).rows;
const put = (n: number, v: string) => sql`insert into later_test values (${n}, ${v})`;

test('writes carried by a statement run with it, once; the statement reads what was there before', async () => {
  await put(1, 'one').execute(t.db);
  const counted = await db.transaction().execute(async (trx) => {
    const later = new LaterWrites();
    later.add(put(2, 'two'));
    later.add(sql`update later_test set v = 'ONE' where n = 1`);
    const { rows: [r] } = await later.carriedBy<{ n: string }>(sql`select count(*) as n from later_test`).execute(trx);
    // Taken: the next statement carries nothing, and flush sends nothing.
    await later.carriedBy(sql`select 1`).execute(trx);
    await later.flush(trx);
    return r?.n;
  });
  expect(counted).toBe('1'); // a statement does not see its own CTEs' writes
  expect(await rows()).toEqual([{ n: 1, v: 'ONE' }, { n: 2, v: 'two' }]);
  expect(statements.filter((s) => s !== 'begin' && s !== 'commit')).toHaveLength(2);
});

test('flush sends what is held in one statement, none when nothing is', async () => {
  await db.transaction().execute(async (trx) => {
    const later = new LaterWrites();
    await later.flush(trx);
    later.add(put(1, 'a'));
    await later.flush(trx);
    later.add(put(2, 'b'));
    later.add(put(3, 'c'));
    await later.flush(trx);
  });
  expect(await rows()).toEqual([{ n: 1, v: 'a' }, { n: 2, v: 'b' }, { n: 3, v: 'c' }]);
  expect(statements.filter((s) => s !== 'begin' && s !== 'commit')).toHaveLength(2);
});

test('a held write that fails fails the statement that carries it, and the transaction', async () => {
  await put(1, 'one').execute(t.db);
  await expect(db.transaction().execute(async (trx) => {
    const later = new LaterWrites();
    later.add(put(1, 'again'));
    await later.carriedBy(put(5, 'five')).execute(trx);
  })).rejects.toThrow(/duplicate key/);
  expect(await rows()).toEqual([{ n: 1, v: 'one' }]);
});
