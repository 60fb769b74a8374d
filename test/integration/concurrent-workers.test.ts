import { sql } from 'kysely';
import { BullmqIngestQueue } from '../../src/queue/bullmq-queue';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startWorkers, type QuellProcess } from '../support/quell-process';
import { REDIS_URL, openTestQueue, type TestQueue } from '../support/redis';
import { enqueue, firingAlert, linkedCount, openIncidentsByGroup } from '../support/storm';
import { waitFor } from '../support/wait';

/**
 * "Exactly one incident per group" is the database's promise (a partial unique index and
 * ON CONFLICT), not a matter of timing: four worker processes race over the same groups.
 */
let t: TestDatabase;
let q: TestQueue;
let queue: BullmqIngestQueue;
let workers: QuellProcess[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  q = await openTestQueue();
  queue = q.queue;

  // 50 identical alerts, one job each; 1,000 distinct alerts in 10 groups, 10 per job, every
  // job spanning all 10 groups so that concurrent jobs meet on every group.
  await enqueue(queue, Array.from({ length: 50 }, () => firingAlert({ alertname: 'Same', service: 'same',
    cluster: 'c1' })), 1);
  const storm = Array.from({ length: 1000 }, (_, i) => firingAlert({ alertname: 'Storm', cluster: 'c1',
    service: `svc-${i % 10}`, instance: `host-${i}` }));
  await enqueue(queue, storm, 10);

  const env = { REDIS_URL, DATABASE_URL: t.url, QUELL_QUEUE_NAME: q.name, QUELL_WORKER_CONCURRENCY: '4',
    QUELL_METRICS_PORT: '0', QUELL_HOST: '127.0.0.1' };
  workers = await startWorkers(4, env);
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await q.close();
  await t.drop();
});

test('four workers over 50 identical alerts and 1,000 alerts in 10 groups: one open incident per group', async () => {
  await waitFor(async () => (await linkedCount(t.db)) === 1001 && (await queue.depth()).waiting === 0, 60_000,
    'all alerts linked');
  await waitFor(async () => { const d = await queue.depth(); return d.active === 0 && d.waiting === 0; }, 10_000,
    'queue drained');

  const groups = await openIncidentsByGroup(t.db);
  expect(groups.get('default:{alertname="Same",cluster="c1",service="same"}')).toEqual({ count: 1, alerts: 1 });
  for (let g = 0; g < 10; g++) {
    expect(groups.get(`default:{alertname="Storm",cluster="c1",service="svc-${g}"}`))
      .toEqual({ count: 1, alerts: 100 });
  }
  expect(groups.size).toBe(11);

  // The 50 copies are one alert seen 50 times.
  const same = await t.db.selectFrom('alerts').select('occurrences').where(sql`labels->>'alertname'`, '=', 'Same')
    .execute();
  expect(same).toEqual([{ occurrences: 50 }]);
  expect((await queue.depth()).failed).toBe(0);
  // Every worker took part (otherwise there was no race), and none logged an error.
  for (const w of workers) {
    const port = /"port":(\d+)\},"msg":"worker metrics listening"/.exec(w.output())?.[1];
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(Number(/quell_ingest_jobs_total\{result="applied"\} (\d+)/.exec(metrics)?.[1] ?? 0)).toBeGreaterThan(0);
    expect(w.output()).not.toContain('"level":50');
  }
}, 90_000);
