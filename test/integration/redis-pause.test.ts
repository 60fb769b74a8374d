import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { BullmqIngestQueue, jobsOf, type Envelope } from '../../src/queue/bullmq-queue';
import type { IngestJob } from '../../src/queue/ingest-queue';
import { webhookPayload } from '../support/alertmanager-payload';
import { serveTestApp, TEST_INGEST_TOKEN, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { testRedisServer, type TestRedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait';

/**
 * Redis stops answering (SIGSTOP) while requests are in flight: the commands already written
 * land when it resumes, after Quell has answered. So a 503 either stored nothing (Redis was
 * unreachable) or names the job it may have stored, and a resend of the same request is that
 * same job: the answers and the queue agree, and nothing is queued twice.
 */
let t: TestDatabase;
let redis: TestRedisServer;
let queue: BullmqIngestQueue;
let bull: Queue;
let bullRedis: IORedis;
let app: TestApp;

beforeAll(async () => {
  t = await createTestDatabase();
  redis = await testRedisServer();
  queue = new BullmqIngestQueue({ redisUrl: redis.url, queueName: 'pause' });
  await waitFor(async () => queue.checkReady().then(() => true), 5000, 'the producer connection');
  bullRedis = new IORedis(redis.url, { maxRetriesPerRequest: null });
  bull = new Queue('pause', { connection: bullRedis });
  app = await serveTestApp({ db: t.db, queue, openReads: true });
});

afterAll(async () => {
  // A failed beforeAll leaves the later of these unset: release what it set.
  /* eslint-disable @typescript-eslint/no-unnecessary-condition -- the declared types assume beforeAll finished */
  app?.close();
  redis?.resume();
  await bull?.close();
  bullRedis?.disconnect();
  await queue?.close();
  await redis?.kill();
  await t?.drop();
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
});

const bodyOf = (i: number): string => JSON.stringify(webhookPayload([{ labels: { alertname: 'Paused',
  instance: `host-${i}` } }]));

interface Answer { status: number; ms: number; jobId: string | null; queued?: string }
const post = async (body: string, headers: Record<string, string> = {}): Promise<Answer> => {
  const started = Date.now();
  const res = await fetch(`${app.base}/ingest/alertmanager`, {
    method: 'POST', headers: { authorization: `Bearer ${TEST_INGEST_TOKEN}`, 'content-type': 'application/json',
      ...headers }, body,
  });
  const json = (await res.json()) as { job_id?: string; error?: { job_id?: string; queued?: string } };
  return { status: res.status, ms: Date.now() - started, jobId: json.job_id ?? json.error?.job_id ?? null,
    queued: json.error?.queued };
};

const queuedJobs = async (): Promise<IngestJob[]> => (await bull.getJobs(['waiting', 'prioritized', 'delayed']))
  .flatMap((j) => jobsOf(j.data as IngestJob | Envelope<IngestJob>));

test('a 503 during a Redis pause names its job, and resending it queues that job once', async () => {
  const warm = await post(bodyOf(0));
  expect(warm.status).toBe(202);

  redis.pause();
  const during = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((i) => post(bodyOf(i))));
  for (const a of during) {
    expect(a).toMatchObject({ status: 503, queued: 'unknown' });
    expect(a.jobId).toEqual(expect.any(String));
    expect(a.ms).toBeLessThan(1500);
  }
  redis.resume();

  // The sender retries what got a 503 (Alertmanager resends the same body): same job ids.
  const resent = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((i) => post(bodyOf(i))));
  expect(resent.map((a) => a.status)).toEqual(Array(8).fill(202));
  expect(resent.map((a) => a.jobId)).toEqual(during.map((a) => a.jobId));

  // A body sent again after its 202 is a new delivery (a re-send counts an occurrence).
  const again = await post(bodyOf(1));
  expect(again.status).toBe(202);
  expect(again.jobId).not.toBe(resent[0]?.jobId);

  // The requests of the pause went to Redis in one envelope, which Redis ran once it resumed;
  // the resends travel again (in an envelope of their own unless it is the same set of jobs):
  // the worker applies each job id once (processed_jobs: test/integration/pipeline.test.ts).
  const distinct = async (): Promise<string[]> => [...new Set((await queuedJobs()).map((j) => j.id))].sort();
  await waitFor(async () => (await distinct()).length === 10, 5000, 'the jobs in Redis');
  expect(await distinct()).toEqual([warm.jobId, ...during.map((a) => a.jobId), again.jobId].sort());
}, 30_000);

test('an Idempotency-Key makes any resend the same job', async () => {
  const before = (await queuedJobs()).length;
  const body = bodyOf(100);
  const first = await post(body, { 'idempotency-key': 'am-group-7/2026-11-27T10:00Z' });
  const second = await post(body, { 'idempotency-key': 'am-group-7/2026-11-27T10:00Z' });
  expect(first.status).toBe(202);
  expect(second).toMatchObject({ status: 202, jobId: first.jobId });
  expect((await queuedJobs()).length).toBe(before + 1);
  const bad = await post(body, { 'idempotency-key': 'has space' });
  expect(bad.status).toBe(400);
});
