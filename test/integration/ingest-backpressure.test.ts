import { IngestBackpressure } from '../../src/connectors/ingest-backpressure';
import { webhookPayload } from '../support/alertmanager-payload';
import { serveTestApp, TEST_INGEST_TOKEN, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { openTestQueue, type TestQueue } from '../support/redis';

/** Ingest refuses with 503 queue_full + Retry-After only while the queue is over its depth. */
let t: TestDatabase;
let q: TestQueue;
beforeAll(async () => { t = await createTestDatabase(); });
afterAll(async () => { await t.drop(); });
beforeEach(async () => { q = await openTestQueue(); });
afterEach(async () => { await q.close(); });

const send = (app: TestApp, instance: string): Promise<Response> => fetch(`${app.base}/ingest/alertmanager`, {
  method: 'POST',
  headers: { authorization: `Bearer ${TEST_INGEST_TOKEN}`, 'content-type': 'application/json' },
  body: JSON.stringify(webhookPayload([{ labels: { alertname: 'Backlog', instance },
    startsAt: new Date().toISOString() }])),
});

test('over the depth: 503 queue_full with Retry-After, nothing queued; below it again: 202', async () => {
  const backpressure = new IngestBackpressure(q.queue, { maxDepth: 2, everyMs: 60_000 });
  const app = await serveTestApp({ db: t.db, queue: q.queue, backpressure });
  try {
    // The depth is read in the background, not per request: at the depth, requests still pass.
    for (const i of [1, 2, 3]) expect((await send(app, `h${i}`)).status).toBe(202);
    await backpressure.read();
    expect(backpressure.full).toBe(true);

    const refused = await send(app, 'h4');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(await refused.json()).toMatchObject({ error: { code: 'queue_full', retryable: true } });
    expect(await q.waiting()).toHaveLength(3);

    // The workers catch up: the next read lets requests through again.
    await q.bull.drain();
    await backpressure.read();
    expect((await send(app, 'h5')).status).toBe(202);
    expect((await q.waiting()).map((j) => j.alerts[0]!.labels['instance'])).toEqual(['h5']);
  } finally {
    backpressure.stop();
    app.close();
  }
});

test('the wrong token is still 401 while the queue is full (auth comes first)', async () => {
  const backpressure = new IngestBackpressure(q.queue, { maxDepth: 1, everyMs: 60_000 });
  const app = await serveTestApp({ db: t.db, queue: q.queue, backpressure });
  try {
    for (const i of [1, 2]) expect((await send(app, `h${i}`)).status).toBe(202);
    await backpressure.read();
    const res = await fetch(`${app.base}/ingest/alertmanager`, {
      method: 'POST', headers: { authorization: 'Bearer wrong-token-0123456789', 'content-type': 'application/json' },
        body: '{}',
    });
    expect(res.status).toBe(401);
  } finally {
    backpressure.stop();
    app.close();
  }
});

test('depth 0 never refuses; a depth that cannot be read refuses nothing', async () => {
  const off = new IngestBackpressure(q.queue, { maxDepth: 0 });
  off.start();
  for (let i = 0; i < 3; i++) await q.queue.add({ id: `j${i}`, connector: 'alertmanager',
    receivedAt: new Date().toISOString(), alerts: [] });
  await off.read();
  expect(off.full).toBe(false);
  off.stop();

  // IngestBackpressure reads only depth(): a stub whose depth cannot be read.
  const broken = new IngestBackpressure({ depth: () => Promise.reject(new Error('redis down')) } as never,
    { maxDepth: 1 });
  await broken.read();
  expect(broken.full).toBe(false);
});
