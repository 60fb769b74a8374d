import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BullmqIngestConsumer, BullmqIngestQueue } from '../../src/queue/bullmq-queue';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { freePort } from '../support/net';
import { waitFor } from '../support/wait';
import { serveTestApp, type TestApp } from '../support/app';

/**
 * Redis goes away and comes back: ingest answers 503 at once while it is gone (so
 * Alertmanager keeps the alerts and retries), and 202 again once it is back, with no restart.
 */
const TOKEN = 'outage-token-0123456789';
const body = readFileSync(resolve(__dirname, '../../connectors/alertmanager/fixtures/firing.json'), 'utf8');

let t: TestDatabase;
let port: number;
let redis: ChildProcess | undefined;
let queue: BullmqIngestQueue;
let consumer: BullmqIngestConsumer;
const applied: string[] = [];
let app: TestApp;
let base: string;

const startRedis = async (): Promise<void> => {
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
};
const stopRedis = async (): Promise<void> => {
  if (redis && redis.exitCode === null) { redis.kill('SIGKILL'); await once(redis, 'exit'); }
};
const post = async (): Promise<{ status: number; ms: number }> => {
  const started = Date.now();
  const res = await fetch(`${base}/ingest/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
  await res.arrayBuffer();
  return { status: res.status, ms: Date.now() - started };
};

beforeAll(async () => {
  t = await createTestDatabase();
  port = await freePort();
  await startRedis();
  queue = new BullmqIngestQueue({ redisUrl: `redis://127.0.0.1:${port}`, queueName: 'outage' });
  consumer = new BullmqIngestConsumer({ redisUrl: `redis://127.0.0.1:${port}`, queueName: 'outage', concurrency: 1 });
  consumer.start(async (job) => { applied.push(job.id); });
  app = await serveTestApp({ db: t.db, queue, tokens: { ingest: TOKEN, api: TOKEN } });
  base = app.base;
});

afterAll(async () => {
  app?.close();
  await consumer?.close();
  await queue?.close();
  await stopRedis();
  await t?.drop();
});

test('503 within a second while Redis is down, 202 again when it is back, and the worker carries on', async () => {
  await waitFor(async () => (await post()).status === 202, 10_000, 'the first 202');

  await stopRedis();
  const down = await waitFor(async () => { const r = await post(); return r.status === 503 ? r : undefined; }, 5000, 'a 503 with Redis down');
  expect(down.ms).toBeLessThan(1000);
  for (let i = 0; i < 5; i++) {
    const r = await post();
    expect(r.status).toBe(503);
    expect(r.ms).toBeLessThan(1000);
  }

  await startRedis();
  const jobId = await waitFor(async () => {
    const res = await fetch(`${base}/ingest/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body });
    return res.status === 202 ? ((await res.json()) as { job_id: string }).job_id : undefined;
  }, 15_000, 'a 202 after Redis came back');
  await waitFor(async () => applied.includes(jobId), 15_000, 'the worker to take the job queued after the outage');
}, 40_000);

