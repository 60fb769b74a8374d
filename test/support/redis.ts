import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { BullmqIngestQueue, jobsOf, type Envelope } from '../../src/queue/bullmq-queue';
import type { IngestJob } from '../../src/queue/ingest-queue';
import { waitFor } from './wait';

export const REDIS_URL = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** A queue name no other test uses (BullMQ's own tests do the same). */
export function uniqueQueueName(): string {
  return `test-${randomUUID()}`;
}

/** Removes a test queue's keys. */
export async function obliterateQueue(name: string): Promise<void> {
  const connection = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection });
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
}

/** A fresh ingest queue on the test Redis: Quell's producer, and BullMQ's view to look inside. */
export interface TestQueue {
  readonly name: string;
  readonly queue: BullmqIngestQueue;
  readonly bull: Queue;
  /** The jobs not yet taken by a worker, as stored in Redis. */
  waiting(): Promise<IngestJob[]>;
  /** Closes both and removes the queue's keys. */
  close(): Promise<void>;
}

export async function openTestQueue(): Promise<TestQueue> {
  const name = uniqueQueueName();
  const queue = new BullmqIngestQueue({ redisUrl: REDIS_URL, queueName: name });
  await waitFor(async () => queue.checkReady().then(() => true), 5000, 'redis');
  const redis = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
  const bull = new Queue(name, { connection: redis });
  return {
    name, queue, bull,
    waiting: async () => (await bull.getJobs(['waiting', 'prioritized', 'delayed']))
      .flatMap((j) => jobsOf(j.data as IngestJob | Envelope<IngestJob>)),
    async close() {
      await queue.close();
      await bull.obliterate({ force: true });
      await bull.close();
      redis.disconnect();
    },
  };
}
