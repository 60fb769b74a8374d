import { Client } from 'pg';
import { openOrLockIncidents, type NewIncident } from '../../src/store/group-store';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { waitFor } from '../support/wait';

/**
 * openOrLockIncidents reads the incidents it meets in its own statement: what it returns must be
 * each incident as it is once locked, not as the statement's snapshot saw it, when another
 * transaction changed it or opened it meanwhile (real PostgreSQL, two sessions).
 */
let t: TestDatabase;
let other: Client;
let observer: Client;

beforeAll(async () => {
  t = await createTestDatabase();
  other = new Client({ connectionString: t.url });
  observer = new Client({ connectionString: t.url });
  await other.connect();
  await observer.connect();
});
afterAll(async () => {
  await other.end();
  await observer.end();
  await t.drop();
});

const AT = '2026-11-20T10:00:00.000Z';
const opening = (groupKey: string): NewIncident => ({
  title: groupKey, priority: 3, rule: 'r', groupKey, groupingOpen: true, window: 'fixed', windowSeconds: 300,
  count: 1, firstAlertAt: AT, lastAlertAt: AT, groupingUntil: '2026-11-20T10:05:00.000Z', service: null,
});

/** Waits until a session of the test database waits on a lock (the statement under test). */
const blocked = () => waitFor(async () => Number((await observer.query(`select count(*) as n
  from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`)).rows[0].n) > 0,
5000, 'a statement waiting on a lock');

test('a group with no incident gets the one given, and a second call meets it', async () => {
  const [first] = await t.db.transaction().execute((trx) => openOrLockIncidents(trx, [opening('fresh')]));
  expect(first).toEqual({ created: true, id: expect.any(Number) });
  const [again] = await t.db.transaction().execute((trx) => openOrLockIncidents(trx, [opening('fresh')]));
  expect(again).toEqual({
    created: false,
    incident: { id: (first as { id: number }).id, groupingUntil: Date.parse('2026-11-20T10:05:00.000Z'),
      window: 'fixed', windowMs: 300_000 },
  });
});

test('an incident another transaction moves meanwhile is met as it is after that commit', async () => {
  const [opened] = await t.db.transaction().execute((trx) => openOrLockIncidents(trx, [opening('moved')]));
  const id = (opened as { id: number }).id;
  await other.query('begin');
  await other.query(`update incidents set grouping_until = '2026-11-20T11:00:00Z' where id = $1`, [id]);
  const meeting = t.db.transaction().execute((trx) => openOrLockIncidents(trx, [opening('a'), opening('moved')]));
  await blocked();
  await other.query('commit');
  const [a, moved] = await meeting;
  expect(a).toEqual({ created: true, id: expect.any(Number) });
  expect(moved).toEqual({ created: false, incident: expect.objectContaining({
    id, groupingUntil: Date.parse('2026-11-20T11:00:00Z'),
  }) });
});

test('an incident another transaction opens meanwhile is met, though the statement began before it', async () => {
  await other.query('begin');
  const { rows } = await other.query<{ id: number }>(`insert into incidents (title, status, priority, rule, group_key,
      grouping_open, window_kind, group_window_seconds, alert_count, first_alert_at, last_alert_at, grouping_until)
    values ('late', 'open', 3, 'r', 'late', true, 'sliding', 600, 1, $1, $1, '2026-11-20T10:10:00Z') returning id`,
  [AT]);
  const meeting = t.db.transaction().execute((trx) => openOrLockIncidents(trx, [opening('late'), opening('b')]));
  await blocked();
  await other.query('commit');
  const [late, b] = await meeting;
  expect(late).toEqual({ created: false, incident: {
    id: rows[0]?.id, groupingUntil: Date.parse('2026-11-20T10:10:00Z'), window: 'sliding', windowMs: 600_000,
  } });
  expect(b).toEqual({ created: true, id: expect.any(Number) });
  const open = await t.db.selectFrom('incidents').select('group_key').where('grouping_open', '=', true)
    .where('group_key', '=', 'late').execute();
  expect(open).toHaveLength(1);
});
