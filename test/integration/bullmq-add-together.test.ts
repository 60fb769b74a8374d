import { randomUUID } from 'node:crypto';
import { BullmqIngestConsumer, jobsOf, type Envelope } from '../../src/queue/bullmq-queue';
import { DependencyUnavailableError, PermanentJobError, type IngestJob } from '../../src/queue/ingest-queue';
import type { CanonicalAlert } from '../../src/domain/alert';
import { REDIS_URL, openTestQueue, type TestQueue } from '../support/redis';
import { waitFor } from '../support/wait';

/**
 * Jobs added in one turn go to Redis together, in envelopes of at most 1000 alerts; every job
 * is stored (none dropped for an id already there), and the consumer hands an envelope's jobs
 * to the handler all at once.
 */
let q: TestQueue;
beforeEach(async () => { q = await openTestQueue(); });
afterEach(async () => { await q.close(); });

const alert = (i: number): CanonicalAlert => ({
  fingerprint: `fp-${i}`, source: 'alertmanager', status: 'firing', labels: { alertname: 'A', i: String(i) },
  annotations: {}, startsAt: new Date(0).toISOString(), endsAt: null,
});
const job = (id: string, alerts = 0): IngestJob => ({ id, connector: 'alertmanager',
  receivedAt: new Date().toISOString(), alerts: Array.from({ length: alerts }, (_, i) => alert(i)) });

async function stored(): Promise<{ id: string; jobs: readonly IngestJob[] }[]> {
  return (await q.bull.getJobs(['waiting'])).map((j) => ({
    id: j.id ?? '', jobs: jobsOf(j.data as IngestJob | Envelope<IngestJob>),
  }));
}

test('concurrent adds travel in envelopes: every job stored once, far fewer BullMQ jobs', async () => {
  const ids = Array.from({ length: 600 }, (_, i) => `job-${i}`); // more than one pipeline's worth
  await Promise.all(ids.map((id) => q.queue.add(job(id, 1))));
  const entries = await stored();
  expect(entries.flatMap((e) => e.jobs.map((j) => j.id)).sort()).toEqual([...ids].sort());
  expect(entries.length).toBeLessThanOrEqual(3); // 256 jobs per pipeline, 1000 alerts per envelope
  for (const e of entries) if (e.jobs.length > 1) expect(e.id).toMatch(/^envelope-[0-9a-f]{32}$/);
});

test('an envelope holds at most 1000 alerts; a job alone keeps its own id', async () => {
  const big = Array.from({ length: 5 }, (_, i) => job(`big-${i}`, 400));
  await Promise.all(big.map((j) => q.queue.add(j)));
  const entries = await stored();
  for (const e of entries) expect(e.jobs.reduce((n, j) => n + j.alerts.length, 0)).toBeLessThanOrEqual(1000);
  expect(entries.flatMap((e) => e.jobs.map((j) => j.id)).sort()).toEqual(big.map((j) => j.id).sort());
  await q.queue.add(job('alone', 3));
  expect((await q.bull.getJob('alone'))?.data).toMatchObject({ id: 'alone' });
});

test('a resend of a job already stored does not take the jobs it travels with down with it', async () => {
  await q.queue.add(job('first'));
  await Promise.all(['first', 'second', 'third'].map((id) => q.queue.add(job(id))));
  const ids = (await stored()).flatMap((e) => e.jobs.map((j) => j.id)).sort();
  expect(ids).toEqual(['first', 'first', 'second', 'third']); // "first" is applied once: its id is recorded
});

describe('the consumer', () => {
  let consumer: BullmqIngestConsumer | undefined;
  afterEach(async () => { await consumer?.close(); consumer = undefined; });

  test("hands an envelope's jobs over together; the envelope completes when all did", async () => {
    const ids = Array.from({ length: 20 }, () => randomUUID());
    await Promise.all(ids.map((id) => q.queue.add(job(id, 1))));
    expect((await stored()).length).toBe(1);
    const seen: string[] = [];
    let inHandNow = 0, mostInHand = 0;
    consumer = new BullmqIngestConsumer({ redisUrl: REDIS_URL, queueName: q.name, concurrency: 1 });
    consumer.start(async (j) => {
      seen.push(j.id);
      mostInHand = Math.max(mostInHand, ++inHandNow);
      await new Promise((r) => setTimeout(r, 20));
      inHandNow--;
    });
    await waitFor(async () => (await q.bull.getJobCounts('completed'))['completed'] === 1, 10_000, 'envelope done');
    expect(seen.sort()).toEqual([...ids].sort());
    expect(mostInHand).toBe(20);
  });

  test('a permanent failure of one job fails the envelope only once every other job is done', async () => {
    const ids = ['good-1', 'bad', 'good-2'];
    await Promise.all(ids.map((id) => q.queue.add(job(id, 1))));
    const applied: string[] = [];
    consumer = new BullmqIngestConsumer({ redisUrl: REDIS_URL, queueName: q.name, concurrency: 1 });
    consumer.start(async (j) => {
      await new Promise((r) => setTimeout(r, 5));
      if (j.id === 'bad') throw new PermanentJobError('bad data');
      applied.push(j.id);
    });
    await waitFor(async () => (await q.bull.getJobCounts('failed'))['failed'] === 1, 10_000, 'envelope failed');
    expect(applied.sort()).toEqual(['good-1', 'good-2']);
    const [failed] = await q.bull.getJobs(['failed']);
    expect(failed?.attemptsMade).toBe(1); // not retried: permanent
  });

  test('a dependency down for one job puts the whole envelope back, to be handed over again', async () => {
    const ids = ['x', 'y'];
    await Promise.all(ids.map((id) => q.queue.add(job(id, 1))));
    const calls: string[] = [];
    let down = true;
    consumer = new BullmqIngestConsumer({ redisUrl: REDIS_URL, queueName: q.name, concurrency: 1 });
    consumer.start((j) => {
      calls.push(j.id);
      if (j.id === 'y' && down) {
        down = false;
        return Promise.reject(new DependencyUnavailableError('database', 'gone'));
      }
      return Promise.resolve();
    });
    await waitFor(async () => (await q.bull.getJobCounts('completed'))['completed'] === 1, 15_000, 'envelope done');
    expect(calls.sort()).toEqual(['x', 'x', 'y', 'y']); // x again: the handler is idempotent per job id
  });
});
