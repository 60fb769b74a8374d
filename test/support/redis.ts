import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';

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
