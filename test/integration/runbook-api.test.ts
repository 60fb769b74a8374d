import { EmbeddedQueue } from '../../src/queue/embedded-queue';
import type { Runbook } from '../../src/runbooks/runbook';
import { serveTestApp, TEST_API_TOKEN, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { waitFor } from '../support/wait';
import {
  calls, createRun, outboxJobs, runbook, runOf, SECRET, seedIncident, step, testExecutor, tpl,
} from '../support/runbook-fixtures';

/** Runbook runs, changes and the kill switch through the real HTTP API. */
let t: TestDatabase;
let app: TestApp;
let books: Runbook[] = [];
let fixture: ReturnType<typeof testExecutor>;

beforeAll(async () => {
  t = await createTestDatabase();
  fixture = testExecutor(t.db, () => books, { pollMs: 10_000 });
  app = await serveTestApp({ db: t.db, queue: new EmbeddedQueue(t.db), openReads: true,
    runbooks: { aborts: fixture.aborts, envEnabled: true } });
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

describe('runbook runs and changes API', () => {
  test('changing needs a token', async () => {
    for (const [method, path] of [
      ['POST', '/api/v1/runbook-runs/1/cancel'], ['POST', '/api/v1/runbook-runs/1/approve'],
        ['POST', '/api/v1/runbook-runs/1/reject'],
      ['POST', '/api/v1/changes/1/approve'], ['POST', '/api/v1/changes/1/reject'],
        ['PUT', '/api/v1/runbooks/kill-switch'],
    ] as const) {
      expect((await call(method, path, { by: 'x', enabled: true }, null)).status).toBe(401);
    }
  });

  test('a run with its steps; secrets masked; list filters and pages', async () => {
    books = [runbook('api-show', [
      step('show', 'record', { text: tpl('token={{ secret.TOKEN }} for {{ labels.service }}') }),
      step('m', 'mutate', { text: tpl('x') }),
    ])];
    const incident = await seedIncident(t.db);
    const ids = [await createRun(t.db, 'api-show', incident), await createRun(t.db, 'api-show', incident),
      await createRun(t.db, 'api-show', incident)];
    for (const id of ids) await fixture.executor.execute(id);

    const one = await get(`/api/v1/runbook-runs/${ids[0]}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      id: ids[0], runbook: 'api-show', incident_id: incident, status: 'succeeded', approved_by: null,
      steps: [
        { idx: 0, name: 'show', action: 'record', status: 'succeeded', attempts: 1,
          params: { text: 'token=*** for pay' }, output: { value: 'token=*** for pay' } },
        { idx: 1, name: 'm', status: 'succeeded' },
      ],
      change: { type: 'standard', status: 'implemented', outcome: 'successful' },
    });
    expect(JSON.stringify(one.body)).not.toContain(SECRET);
    const timeline = await get(`/api/v1/incidents/${incident}/timeline`);
    expect(JSON.stringify(timeline.body)).not.toContain(SECRET);

    const page1 = await get(`/api/v1/runbook-runs?incident=${incident}&limit=2`);
    expect(page1.body.runs.map((r: { id: number }) => r.id)).toEqual([ids[2], ids[1]]);
    const page2 = await get(`/api/v1/runbook-runs?incident=${incident}&limit=2&cursor=${page1.body.next}`);
    expect(page2.body).toEqual({ runs: [expect.objectContaining({ id: ids[0] })], next: null });
    expect((await get('/api/v1/runbook-runs?runbook=api-show&status=failed')).body.runs).toEqual([]);
    expect((await get('/api/v1/runbook-runs?status=bogus')).body.error).toMatchObject({ code: 'invalid_request',
      field: 'status' });
    expect((await get('/api/v1/runbook-runs/999999')).status).toBe(404);

    const changes = await get('/api/v1/changes?type=standard&status=implemented&limit=2');
    expect(changes.body.changes).toHaveLength(2);
    expect(changes.body.next).not.toBeNull();
    const change = await get(`/api/v1/changes/${changes.body.changes[0].id}`);
    expect(change.body).toMatchObject({ runbook: 'api-show', type: 'standard',
      review_note: expect.stringContaining('- show: succeeded') });
  });

  test('a normal change: approve through /changes queues the run again (outbox job), then it runs', async () => {
    books = [runbook('api-normal', [step('nm', 'mutate', { text: tpl('x') })], { approval: 'required' })];
    const id = await createRun(t.db, 'api-normal', await seedIncident(t.db));
    await fixture.executor.execute(id);
    const waiting = await get('/api/v1/changes?status=awaiting_approval');
    const change = waiting.body.changes.find((c: { run_id: number }) => c.run_id === id);
    expect(change).toMatchObject({ type: 'normal', status: 'awaiting_approval' });
    expect((await call('POST', `/api/v1/changes/${change.id}/approve`, { comment: 42 })).body.error)
      .toMatchObject({ code: 'invalid_payload', field: 'comment' });
    const approved = await call('POST', `/api/v1/changes/${change.id}/approve`, { by: 'alice', comment: 'go' });
    expect(approved.body).toMatchObject({ status: 'approved', decided_by: 'api-token', decision_comment: 'go',
      decided_at: expect.any(String) });
    expect(await outboxJobs(t.db)).toContain(`run-${id}-approved-1`);
    expect((await call('POST', `/api/v1/changes/${change.id}/approve`, { by: 'alice' })).status).toBe(409);
    await fixture.executor.execute(id);
    expect((await get(`/api/v1/runbook-runs/${id}`)).body).toMatchObject({
      status: 'succeeded', approved_by: 'api-token', approved_at: expect.any(String),
        change: { status: 'implemented', type: 'normal' },
    });
    expect(calls.get('nm')).toBe(1);
  });

  test('reject through /changes: the run ends rejected, never runs', async () => {
    books = [runbook('api-reject', [step('rm', 'mutate', { text: tpl('x') })], { approval: 'required' })];
    const id = await createRun(t.db, 'api-reject', await seedIncident(t.db));
    await fixture.executor.execute(id);
    const { id: changeId } = await t.db.selectFrom('changes').select('id').where('run_id', '=', id)
      .executeTakeFirstOrThrow();
    const rejected = await call('POST', `/api/v1/changes/${changeId}/reject`, { by: 'bob', comment: 'freeze' });
    expect(rejected.body).toMatchObject({ status: 'rejected', decided_by: 'api-token', decision_comment: 'freeze' });
    expect(await runOf(t.db, id)).toMatchObject({ status: 'rejected', status_reason: 'rejected by api-token: freeze' });
    await fixture.executor.execute(id);
    expect(calls.get('rm')).toBeUndefined();
  });

  test('approve a run awaiting approval through /runbook-runs; conflict when it is not', async () => {
    books = [runbook('api-approve', [step('a', 'record', { text: tpl('x') })], { approval: 'required' })];
    const id = await createRun(t.db, 'api-approve', await seedIncident(t.db));
    await fixture.executor.execute(id);
    const approved = await call('POST', `/api/v1/runbook-runs/${id}/approve`, { by: 'carol' });
    expect(approved.body).toMatchObject({ status: 'queued', approved_by: 'api-token' });
    const again = await call('POST', `/api/v1/runbook-runs/${id}/approve`, { by: 'carol' });
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'conflict' } } });
  });

  test('cancel: a queued run ends at once; a running one is aborted mid-step (202); an ended one is a conflict',
    async () => {
    books = [runbook('api-cancel', [step('block', 'sleep', { ms: 30_000 })], { concurrency: 5 })];
    const incident = await seedIncident(t.db);
    const queued = await createRun(t.db, 'api-cancel', incident);
    expect(await call('POST', `/api/v1/runbook-runs/${queued}/cancel`, { by: 'dave' })).toMatchObject({
      status: 200, body: { status: 'cancelled', status_reason: 'cancelled by api-token' },
    });

    const running = await createRun(t.db, 'api-cancel', incident);
    const done = fixture.executor.execute(running);
    await waitFor(async () => (await runOf(t.db, running)).status === 'running', 5000, 'the run to start');
    await waitFor(async () => calls.get('block') === 1, 5000, 'the step to start');
    const started = Date.now();
    const answer = await call('POST', `/api/v1/runbook-runs/${running}/cancel`, { by: 'erin' });
    expect(answer).toMatchObject({ status: 202, body: { cancel_requested: true } });
    await done; // pollMs is 10 s: only the in-process abort can end it this fast
    expect(Date.now() - started).toBeLessThan(3000);
    expect((await get(`/api/v1/runbook-runs/${running}`)).body).toMatchObject({
      status: 'cancelled', status_reason: 'cancelled by api-token', steps: [{ status: 'cancelled' }],
    });
    expect((await call('POST', `/api/v1/runbook-runs/${running}/cancel`, {})).status).toBe(409);
  });

  test('kill switch: read, set (who: the token\'s name); a run then does not start', async () => {
    expect((await get('/api/v1/runbooks/kill-switch')).body).toMatchObject({ enabled: true, env_enabled: true,
      updated_by: null });
    expect((await call('PUT', '/api/v1/runbooks/kill-switch', { enabled: 'no', by: 'x' })).status).toBe(400);
    const off = await call('PUT', '/api/v1/runbooks/kill-switch', { enabled: false, by: 'ops-lead' });
    expect(off.body).toMatchObject({ enabled: false, api_enabled: false, updated_by: 'api-token',
      updated_at: expect.any(String) });
    books = [runbook('api-killed', [step('k', 'record', { text: tpl('x') })])];
    const id = await createRun(t.db, 'api-killed', await seedIncident(t.db));
    await fixture.executor.execute(id);
    expect((await runOf(t.db, id)).status).toBe('cancelled');
    expect(calls.get('k')).toBeUndefined();
    await call('PUT', '/api/v1/runbooks/kill-switch', { enabled: true, by: 'ops-lead' });
    expect((await get('/api/v1/runbooks/kill-switch')).body.enabled).toBe(true);
  });
});
