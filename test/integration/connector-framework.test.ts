import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONNECTORS_DIR, loadConnectors } from '../../src/connectors/connector-registry';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { openTestQueue, type TestQueue } from '../support/redis';
import { REPO } from '../support/quell-process';
import { serveTestApp, type TestApp } from '../support/app';

/** Inside the repository, so that the connector's own `require('zod')` resolves. */
const scratch = (): string => mkdtempSync(join(REPO, 'test', '.tmp-connectors-'));

/**
 * A new connector is one folder: the framework finds it and serves it with auth, validation,
 * fingerprinting and queueing, with no other file touched.
 */
const TOKEN = 'framework-token-0123456789';
const DEMO = `
const { z } = require('zod');
exports.connector = {
  id: 'demo',
  description: 'a connector written for this test',
  schema: z.object({
    events: z.array(z.object({ host: z.string(), check: z.string(), ok: z.boolean(), at: z.iso.datetime() })),
  }),
  fingerprintLabels: ['alertname', 'host'],
  normalize: (p) => p.events.map((e) => ({
    status: e.ok ? 'resolved' : 'firing',
    labels: { alertname: e.check, host: e.host },
    annotations: {},
    startsAt: e.at,
    endsAt: e.ok ? e.at : null,
  })),
};
`;

let dir: string;
let t: TestDatabase;
let q: TestQueue;
let app: TestApp;
let base: string;

beforeAll(async () => {
  dir = scratch();
  mkdirSync(join(dir, 'demo'));
  writeFileSync(join(dir, 'demo', 'index.js'), DEMO);
  mkdirSync(join(dir, 'fixtures-only')); // a folder without index is not a connector
  t = await createTestDatabase();
  q = await openTestQueue();
  app = await serveTestApp({ db: t.db, queue: q.queue, openReads: true, connectors: loadConnectors(dir),
    tokens: { ingest: TOKEN, api: TOKEN } });
  base = app.base;
});

afterAll(async () => {
  // A failed beforeAll leaves the later of these unset: release what it set.
  /* eslint-disable @typescript-eslint/no-unnecessary-condition -- the declared types assume beforeAll finished */
  app?.close();
  await q?.close();
  await t?.drop();
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  rmSync(dir, { recursive: true, force: true });
});

const post = (body: unknown, token = TOKEN) => fetch(`${base}/ingest/demo`, {
  method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
});

test('the shipped connectors are found', () => {
  expect(loadConnectors(CONNECTORS_DIR).map((c) => c.id)).toContain('alertmanager');
});

test('a connector folder is served at /ingest/<id> with the shared auth, validation and queueing', async () => {
  expect((await post({ events: [] }, 'wrong')).status).toBe(401);
  const bad = await post({ events: [{ host: 'h1', check: 'Ping', ok: 'no', at: '2026-11-20T10:00:00Z' }] });
  expect(bad.status).toBe(400);
  expect((await bad.json() as { error: { field: string } }).error.field).toBe('events[0].ok');

  const res = await post({ events: [
    { host: 'h1', check: 'Ping', ok: false, at: '2026-11-20T10:00:00Z' },
    { host: 'h2', check: 'Ping', ok: false, at: '2026-11-20T10:00:00Z' },
  ] });
  expect(res.status).toBe(202);
  const jobs = await q.waiting();
  expect(jobs).toHaveLength(1);
  const [a, b] = jobs[0]!.alerts;
  expect(a).toMatchObject({ source: 'demo', status: 'firing', labels: { alertname: 'Ping', host: 'h1' } });
  expect(a!.fingerprint).not.toBe(b!.fingerprint); // never the alert name alone
});

test('every connector\'s alerts get the framework\'s time check, so nothing unstorable is queued', async () => {
  const before = (await q.waiting()).length;
  const res = await post({ events: [
    { host: 'h1', check: 'Ping', ok: false, at: '2026-11-20T10:00:00Z' },
    { host: 'h2', check: 'Ping', ok: false, at: '0000-01-01T00:00:00Z' },
  ] });
  expect(res.status).toBe(400);
  const { error } = await res.json() as { error: { field: string } };
  expect(error).toMatchObject({ code: 'invalid_payload', field: 'alerts[1].startsAt' });
  expect(await q.waiting()).toHaveLength(before);
});

test('a folder whose connector id differs from its name is refused at start', () => {
  const other = scratch();
  mkdirSync(join(other, 'misnamed'));
  writeFileSync(join(other, 'misnamed', 'index.js'), DEMO);
  expect(() => loadConnectors(other)).toThrow(/connector id 'demo' differs from its folder 'misnamed'/);
  rmSync(other, { recursive: true, force: true });
});
