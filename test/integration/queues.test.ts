import { randomUUID } from 'node:crypto';
import { BullmqIngestConsumer } from '../../src/queue/bullmq-queue';
import { EmbeddedQueue } from '../../src/queue/embedded-queue';
import { PermanentJobError, type IngestConsumer, type IngestJob, type IngestQueue } from '../../src/queue/ingest-queue';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { REDIS_URL, openTestQueue } from '../support/redis';
import { waitFor } from '../support/wait';

/** The two queues keep one contract: what the handler does decides retry, failure or done. */
const job = (tag: string): IngestJob => ({ id: randomUUID(), connector: tag, receivedAt: new Date().toISOString(),
  alerts: [] });

let t: TestDatabase;
beforeAll(async () => { t = await createTestDatabase(); });
afterAll(async () => { await t.drop(); });

interface Harness {
  queue: IngestQueue; consumer: IngestConsumer; attemptsOf(id: string): Promise<number>; close(): Promise<void>;
}

const harnesses: Record<string, () => Promise<Harness>> = {
  bullmq: async () => {
    const q = await openTestQueue();
    const consumer = new BullmqIngestConsumer({ redisUrl: REDIS_URL, queueName: q.name, concurrency: 2 });
    return {
      queue: q.queue, consumer,
      attemptsOf: async (id) => (await q.bull.getJob(id))?.attemptsMade ?? -1,
      async close() { await consumer.close(); await q.close(); },
    };
  },
  embedded: async () => {
    await t.db.deleteFrom('queue_jobs').execute();
    const queue = new EmbeddedQueue(t.db, { pollMs: 50 });
    return {
      queue, consumer: queue,
      attemptsOf: async (id) => (await t.db.selectFrom('queue_jobs').select('attempts').where('id', '=', id)
        .executeTakeFirst())?.attempts ?? -1,
      close: () => queue.close(),
    };
  },
};

describe.each(Object.keys(harnesses))('%s queue', (kind) => {
  let h: Harness;
  beforeEach(async () => { h = await harnesses[kind]!(); });
  afterEach(async () => { await h.close(); });

  test('applies jobs; retries one that fails for now; keeps one that can never succeed as failed', async () => {
    const seen: string[] = [];
    let flaky = 0;
    h.consumer.start(async (j) => {
      seen.push(j.connector);
      if (j.connector === 'flaky' && flaky++ === 0) throw new Error('database is down');
      if (j.connector === 'poison') throw new PermanentJobError('bad data');
    });
    const poison = job('poison');
    await h.queue.add(job('ok'));
    await h.queue.add(job('flaky'));
    await h.queue.add(poison);
    await waitFor(async () => seen.filter((s) => s === 'flaky').length === 2, 15_000, 'the flaky job retried');
    await waitFor(async () => {
      const d = await h.queue.depth();
      return d.failed === 1 && d.waiting + d.active + d.delayed === 0;
    }, 15_000, 'the poison job parked as failed');
    expect(seen.filter((s) => s === 'ok')).toHaveLength(1);
    expect(seen.filter((s) => s === 'poison')).toHaveLength(1); // never retried
    expect(await h.attemptsOf(poison.id)).toBe(1);
  }, 30_000);
});
