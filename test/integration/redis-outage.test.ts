import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BullmqIngestConsumer, BullmqIngestQueue } from '../../src/queue/bullmq-queue';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { testRedisServer, type TestRedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait';
import { serveTestApp, type TestApp } from '../support/app';

/**
 * Redis goes away and comes back: ingest answers 503 at once while it is gone (so
 * Alertmanager keeps the alerts and retries), and 202 again once it is back, with no restart.
 */
const TOKEN = 'outage-token-0123456789';
const body = readFileSync(resolve(__dirname, '../../connectors/alertmanager/fixtures/firing.json'), 'utf8');

let t: TestDatabase;
let redis: TestRedisServer;
let queue: BullmqIngestQueue;
let consumer: BullmqIngestConsumer;
const applied: string[] = [];
let app: TestApp;
let base: string;

const post = async (): Promise<{ status: number; ms: number }> => {
  const started = Date.now();
  const res = await fetch(`${base}/ingest/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`,
    'content-type': 'application/json' }, body });
  await res.arrayBuffer();
  return { status: res.status, ms: Date.now() - started };
};

beforeAll(async () => {
  t = await createTestDatabase();
  redis = await testRedisServer();
  queue = new BullmqIngestQueue({ redisUrl: redis.url, queueName: 'outage' });
  consumer = new BullmqIngestConsumer({ redisUrl: redis.url, queueName: 'outage', concurrency: 1 });
  consumer.start(async (job) => { applied.push(job.id); });
  app = await serveTestApp({ db: t.db, queue, openReads: true, tokens: { ingest: TOKEN, api: TOKEN } });
  base = app.base;
});

afterAll(async () => {
  // A failed beforeAll leaves the later of these unset: release what it set.
  /* eslint-disable @typescript-eslint/no-unnecessary-condition -- the declared types assume beforeAll finished */
  app?.close();
  await consumer?.close();
  await queue?.close();
  await redis?.kill();
  await t?.drop();
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
});

test('503 within a second while Redis is down, 202 again when it is back, and the worker carries on', async () => {
  await waitFor(async () => (await post()).status === 202, 10_000, 'the first 202');

  await redis.kill();
  const down = await waitFor(async () => { const r = await post(); return r.status === 503 ? r : undefined; }, 5000,
    'a 503 with Redis down');
  expect(down.ms).toBeLessThan(1000);
  for (let i = 0; i < 5; i++) {
    const r = await post();
    expect(r.status).toBe(503);
    expect(r.ms).toBeLessThan(1000);
  }

  await redis.start();
  const jobId = await waitFor(async () => {
    const res = await fetch(`${base}/ingest/alertmanager`, { method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
    return res.status === 202 ? ((await res.json()) as { job_id: string }).job_id : undefined;
  }, 15_000, 'a 202 after Redis came back');
  await waitFor(async () => applied.includes(jobId), 15_000, 'the worker to take the job queued after the outage');
}, 40_000);

