import type { IngestJob } from '../../src/queue/ingest-queue';
import { openTestQueue, type TestQueue } from '../support/redis';

/** Jobs added in one turn go to Redis together; each is still its own job, stored once. */
let q: TestQueue;
beforeEach(async () => { q = await openTestQueue(); });
afterEach(async () => { await q.close(); });

const job = (id: string): IngestJob => ({ id, connector: 'alertmanager', receivedAt: new Date().toISOString(),
  alerts: [] });

test('concurrent adds are all stored, each under its id; a repeated id is one job', async () => {
  const ids = Array.from({ length: 600 }, (_, i) => `job-${i}`); // more than one pipeline's worth
  await Promise.all([...ids.map((id) => q.queue.add(job(id))), q.queue.add(job('job-7'))]);
  const stored = await q.bull.getJobs(['waiting']);
  expect(stored.map((j) => j.id).sort()).toEqual([...ids].sort());
  expect((await q.bull.getJob('job-7'))?.data).toMatchObject({ id: 'job-7' });
});
