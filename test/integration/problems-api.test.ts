import { EmbeddedQueue } from '../../src/queue/embedded-queue';
import type { RecordedOutbox } from '../../src/outbox/outbox-store';
import { createRunbookSet } from '../../src/runbooks/runbook-set';
import type { IncidentEventsDeps } from '../../src/store/incident-events-commit';
import { serveTestApp, TEST_API_TOKEN, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { createRun, seedIncident } from '../support/runbook-fixtures';
import { testRunbook } from '../support/runbooks';

/** The problems API over real HTTP and PostgreSQL. */
let t: TestDatabase;
let app: TestApp;
const relayed: RecordedOutbox[] = [];
const incidentEvents: IncidentEventsDeps = {
  runbooks: () => createRunbookSet([testRunbook('restart-pay', [{ event: 'resolved' }])]),
  relay: (rows) => relayed.push(...rows),
};

beforeAll(async () => {
  t = await createTestDatabase();
  app = await serveTestApp({ db: t.db, queue: new EmbeddedQueue(t.db), incidentEvents, openReads: true });
});
afterAll(async () => {
  app.close();
  await t.drop();
});

const call = async (method: string, path: string, body?: unknown, token: string | null = TEST_API_TOKEN) => {
  const r = await fetch(`${app.base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token !== null ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, body: await r.json() as any };
};
const get = (path: string) => call('GET', path, undefined, null);

test('every change needs the API token and changes nothing without it', async () => {
  for (const [method, path] of [
    ['POST', '/api/v1/problems'], ['PATCH', '/api/v1/problems/1'], ['POST', '/api/v1/problems/1/known-error'],
    ['POST', '/api/v1/problems/1/resolve'], ['POST', '/api/v1/problems/1/close'], ['POST', '/api/v1/problems/1/reopen'],
    ['POST', '/api/v1/problems/1/incidents'], ['DELETE', '/api/v1/problems/1/incidents/1'],
      ['POST', '/api/v1/problems/1/changes'],
  ] as const) {
    expect((await call(method, path, { title: 'x' }, null)).status).toBe(401);
    expect((await call(method, path, { title: 'x' }, 'wrong')).status).toBe(401);
  }
  expect(await t.db.selectFrom('problems').selectAll().execute()).toEqual([]);
});

test('open by hand, edit, mark a known error, link a new incident: workaround, runbook once, timeline with who',
  async () => {
  const a = await seedIncident(t.db);
  const b = await seedIncident(t.db);
  const made = await call('POST', '/api/v1/problems', { title: 'Pay keeps falling over', incident_ids: [a, b] });
  expect(made.status).toBe(201);
  const id = made.body.id as number;
  expect(made.body).toMatchObject({ status: 'open', signature: null, opened_by: 'api-token', incident_count: 2 });
  expect(made.body.incidents.map((i: { id: number }) => i.id)).toEqual([a, b]);

  expect((await call('PATCH', `/api/v1/problems/${id}`, { root_cause: 'connection pool too small' })).body)
    .toMatchObject({ root_cause: 'connection pool too small' });
  const known = await call('POST', `/api/v1/problems/${id}/known-error`, { workaround: 'restart pay',
    runbook: 'restart-pay' });
  expect(known.body).toMatchObject({ status: 'known_error', workaround: 'restart pay',
    workaround_runbook: 'restart-pay' });
  expect(known.body.known_error_at).not.toBeNull();

  const c = await seedIncident(t.db);
  relayed.length = 0;
  const linked = await call('POST', `/api/v1/problems/${id}/incidents`, { incident_id: c });
  expect(linked.status).toBe(200);
  expect(linked.body.incidents.find((i: { id: number }) => i.id === c)).toMatchObject({ workaround: 'restart pay',
    linked_by: 'api-token' });
  const runs = await t.db.selectFrom('runbook_runs').selectAll().where('incident_id', '=', c).execute();
  expect(runs).toEqual([expect.objectContaining({ runbook: 'restart-pay', trigger: 'known_error' })]);
  expect(relayed).toHaveLength(1);
  // Unlink and link again: linked again, but the incident keeps its workaround and gets no second run.
  expect((await call('DELETE', `/api/v1/problems/${id}/incidents/${c}`)).status).toBe(200);
  expect((await call('DELETE', `/api/v1/problems/${id}/incidents/${c}`)).status).toBe(404);
  expect((await call('POST', `/api/v1/problems/${id}/incidents`, { incident_id: c })).status).toBe(200);
  expect(await t.db.selectFrom('runbook_runs').selectAll().where('incident_id', '=', c).execute()).toHaveLength(1);
  const timeline = await t.db.selectFrom('incident_events').select(['kind', 'actor', 'detail'])
    .where('incident_id', '=', c)
    .where('kind', '=', 'known_error').execute();
  expect(timeline).toEqual([{ kind: 'known_error', actor: 'quell', detail: { problem_id: id, workaround: 'restart pay',
    runbook: 'restart-pay' } }]);

  const run = await createRun(t.db, 'restart-pay', c);
  const { id: changeId } = await t.db.insertInto('changes').values({
    run_id: run, incident_id: c, runbook: 'restart-pay', type: 'normal', status: 'implemented',
  }).returning('id').executeTakeFirstOrThrow();
  const withChange = await call('POST', `/api/v1/problems/${id}/changes`, { change_id: changeId });
  expect(withChange.body.changes).toEqual([expect.objectContaining({ id: changeId, runbook: 'restart-pay',
    linked_by: 'api-token' })]);
  expect((await call('POST', `/api/v1/problems/${id}/changes`, { change_id: 99999 })).status).toBe(404);

  expect((await call('POST', `/api/v1/problems/${id}/resolve`, { comment: 'pool resized' })).body)
    .toMatchObject({ status: 'resolved' });
  const again = await call('POST', `/api/v1/problems/${id}/resolve`, {});
  expect(again.status).toBe(409);
  expect(again.body.error.code).toBe('conflict');
  expect((await call('POST', `/api/v1/problems/${id}/close`)).body).toMatchObject({ status: 'closed' });
  expect((await call('POST', `/api/v1/problems/${id}/reopen`)).status).toBe(409);

  const detail = await get(`/api/v1/problems/${id}`);
  expect(detail.body.timeline.map((e: { kind: string; actor: string }) => `${e.kind}:${e.actor}`)).toEqual([
    'opened:api-token', 'updated:api-token', 'known_error:api-token', 'incidents_linked:api-token',
      'workaround_applied:quell',
    'incident_unlinked:api-token', 'incidents_linked:api-token', 'change_linked:api-token',
    'status_changed:api-token', 'status_changed:api-token',
  ]);
  expect(detail.body.timeline[8].detail).toEqual({ status: 'resolved', previous: 'known_error',
    comment: 'pool resized' });
});

test('bad bodies and ids are 400 naming the field, unknown problems 404; nothing changes', async () => {
  const a = await seedIncident(t.db);
  const { body: p } = await call('POST', '/api/v1/problems', { title: 'for errors', incident_ids: [a] });
  const cases: [string, string, unknown, string][] = [
    ['POST', '/api/v1/problems', { incident_ids: [a] }, 'title'],
    ['POST', '/api/v1/problems', { title: 'x', incident_ids: [999999] }, 'incident_ids'],
    ['POST', `/api/v1/problems/${p.id}/known-error`, {}, 'workaround'],
    ['POST', `/api/v1/problems/${p.id}/known-error`, { workaround: 'w', runbook: 'nope' }, 'runbook'],
    ['PATCH', `/api/v1/problems/${p.id}`, { status: 'closed' }, ''],
    ['PATCH', `/api/v1/problems/${p.id}`, { root_cause: 42 }, 'root_cause'],
    ['PATCH', `/api/v1/problems/${p.id}`, { workaround_runbook: 'nope' }, 'workaround_runbook'],
    ['POST', `/api/v1/problems/${p.id}/incidents`, { incident_id: 'x' }, 'incident_id'],
  ];
  for (const [method, path, body, field] of cases) {
    const r = await call(method, path, body);
    expect([r.status, r.body.error.code, r.body.error.field]).toEqual([400, 'invalid_payload', field]);
  }
  expect((await get('/api/v1/problems/abc')).status).toBe(400);
  expect((await get('/api/v1/problems/99999')).status).toBe(404);
  expect((await call('POST', '/api/v1/problems/99999/resolve')).status).toBe(404);
  expect((await call('POST', `/api/v1/problems/${p.id}/incidents`, { incident_id: 999999 })).status).toBe(404);
  expect((await get(`/api/v1/problems/${p.id}`)).body).toMatchObject({ status: 'open', root_cause: null,
    workaround: null, incident_count: 1 });
});

test('list: filters by status, signature and since; pages with a cursor', async () => {
  const at = new Date('2026-01-01T00:00:00Z');
  await t.db.insertInto('problems').values([
    { title: 'old', signature: 'ci:"db-1"', opened_by: 'quell', opened_at: at, status: 'resolved' },
    { title: 'active', signature: 'ci:"db-1"', opened_by: 'quell', rule: 'r' },
  ]).execute();
  const bySig = await get(`/api/v1/problems?signature=${encodeURIComponent('ci:"db-1"')}`);
  expect(bySig.body.problems.map((p: { title: string }) => p.title)).toEqual(['active', 'old']);
  const open = await get(`/api/v1/problems?status=resolved&signature=${encodeURIComponent('ci:"db-1"')}`);
  expect(open.body.problems.map((p: { title: string }) => p.title)).toEqual(['old']);
  const recent = await get(`/api/v1/problems?since=2026-06-01T00:00:00Z&signature=${encodeURIComponent('ci:"db-1"')}`);
  expect(recent.body.problems.map((p: { title: string }) => p.title)).toEqual(['active']);
  expect((await get('/api/v1/problems?status=bogus')).body.error.field).toBe('status');
  expect((await get('/api/v1/problems?since=yesterday')).body.error.field).toBe('since');

  const all = (await get('/api/v1/problems?limit=1000')).body.problems.length;
  const seen: number[] = [];
  let cursor: string | null = null;
  do {
    const page: { body: { problems: { id: number }[]; next: string | null } } =
      await get(`/api/v1/problems?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    seen.push(...page.body.problems.map((p) => p.id));
    cursor = page.body.next;
  } while (cursor !== null);
  expect(seen).toHaveLength(all);
  expect(new Set(seen).size).toBe(all);

  // Reopening a resolved problem while another is active for its signature is a conflict.
  const old = bySig.body.problems[1].id;
  const r = await call('POST', `/api/v1/problems/${old}/reopen`);
  expect([r.status, r.body.error.code]).toEqual([409, 'conflict']);
});

test('an incident shows the workaround a known error gave it', async () => {
  const a = await seedIncident(t.db);
  const { body: p } = await call('POST', '/api/v1/problems', { title: 'shown', incident_ids: [] });
  await call('POST', `/api/v1/problems/${p.id}/known-error`, { workaround: 'flush the cache' });
  await call('POST', `/api/v1/problems/${p.id}/incidents`, { incident_id: a });
  expect((await get(`/api/v1/incidents/${a}`)).body).toMatchObject({ workaround: 'flush the cache',
    known_error_problem_id: p.id });
});
