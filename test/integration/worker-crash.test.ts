import { getPriority } from 'node:os';
import { sql } from 'kysely';
import { BullmqIngestQueue } from '../../src/queue/bullmq-queue';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startQuell, type QuellProcess } from '../support/quell-process';
import { REDIS_URL, openTestQueue, type TestQueue } from '../support/redis';
import { enqueue, firingAlert, linkedCount, recordStats } from '../support/storm';
import { waitFor } from '../support/wait';
import { freePort } from '../support/net';

const TOTAL = 10_000;

let t: TestDatabase;
let q: TestQueue;
let queue: BullmqIngestQueue;
const started: QuellProcess[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  q = await openTestQueue();
  queue = q.queue;
});

afterAll(async () => {
  await Promise.all(started.map((w) => w.stop('SIGKILL')));
  await q.close();
  await t.drop();
});

test('a worker SIGKILLed with 10,000 alerts queued loses and duplicates nothing', async () => {
  const alerts = Array.from({ length: TOTAL }, (_, i) => firingAlert({ alertname: `Crash${i % 7}`, cluster: 'c1',
    service: `svc-${i % 20}`, instance: `host-${i}` }));
  await enqueue(queue, alerts, 64);

  // Short locks, so the fresh worker takes over the dead one's jobs in seconds, not 30 s.
  const env = { REDIS_URL, DATABASE_URL: t.url, QUELL_QUEUE_NAME: q.name, QUELL_WORKER_CONCURRENCY: '8',
    QUELL_LOCK_DURATION_MS: '3000', QUELL_METRICS_PORT: '0', QUELL_HOST: '127.0.0.1' };
  const doomed = startQuell('worker', { ...env, QUELL_WORKER_NICE: '10' });
  started.push(doomed);
  await doomed.waitForLog('worker started');
  // A worker yields the CPU to the API it shares a machine with when told to (QUELL_WORKER_NICE).
  expect(getPriority(doomed.child.pid)).toBe(10);
  await waitFor(async () => (await linkedCount(t.db)) > 0, 30_000, 'the first worker to make progress', 10);
  doomed.child.kill('SIGKILL');
  await doomed.stop();
  const atKill = await linkedCount(t.db);
  const depth = await queue.depth();
  expect(atKill).toBeLessThan(TOTAL);
  expect(depth.active).toBeGreaterThan(0); // jobs it held when it died

  // The fresh worker is `quell start` on the same servers (API and worker in one process),
  // which also shows that mode taking over another process's queue.
  const fresh = startQuell('start', { ...env, QUELL_PORT: String(await freePort()),
    QUELL_INGEST_TOKEN: 'crash-test-token-0123456789', QUELL_API_TOKEN: 'crash-test-token-0123456789' });
  started.push(fresh);
  await fresh.waitForLog('server mode: BullMQ on Redis, PostgreSQL');
  expect(getPriority(fresh.child.pid)).toBe(getPriority()); // the default, and API and worker in one: as started
  await waitFor(async () => (await linkedCount(t.db)) === TOTAL, 90_000,
    `all ${TOTAL} alerts linked (had ${atKill} at the kill)`, 200);
  await waitFor(async () => { const d = await queue.depth(); return d.waiting + d.active + d.delayed === 0; }, 30_000,
    'queue drained');

  // None lost: every alert is stored and linked; none duplicated: one link each, seen once.
  const stats = await recordStats(t.db);
  expect(stats).toEqual({ alerts: String(TOTAL), seen_twice: '0', linked: String(TOTAL), counted: String(TOTAL) });
  expect((await queue.depth()).failed).toBe(0);
  const perGroup = await t.db.selectFrom('incidents').select(['group_key', sql<string>`count(*)`.as('n')])
    .where('grouping_open', '=', true).groupBy('group_key').having(sql`count(*)`, '>', 1).execute();
  expect(perGroup).toEqual([]);
}, 150_000);
