import { BullmqIngestQueue } from '../../src/queue/bullmq-queue';
import { obliterateQueue, REDIS_URL, uniqueQueueName } from '../support/redis';

/** The age of the oldest waiting job (the dashboard's queue age) on BullMQ: 0 when empty, grows while it waits. */
test('oldestWaitingSeconds on BullMQ', async () => {
  const name = uniqueQueueName();
  const queue = new BullmqIngestQueue({ redisUrl: REDIS_URL, queueName: name });
  try {
    await new Promise((r) => setTimeout(r, 300));
    expect((await queue.depth()).oldestWaitingSeconds).toBe(0);
    await queue.add({ id: 'first', connector: 'alertmanager', receivedAt: new Date().toISOString(), alerts: [] });
    await new Promise((r) => setTimeout(r, 1100));
    await queue.add({ id: 'second', connector: 'alertmanager', receivedAt: new Date().toISOString(), alerts: [] });
    const depth = await queue.depth();
    expect(depth.waiting).toBe(2);
    expect(depth.oldestWaitingSeconds).toBeGreaterThanOrEqual(1);
    expect(depth.oldestWaitingSeconds).toBeLessThan(5);
  } finally {
    await queue.close();
    await obliterateQueue(name);
  }
});
