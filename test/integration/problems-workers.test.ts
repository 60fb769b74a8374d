import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BullmqIngestQueue } from '../../src/queue/bullmq-queue';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startWorkers, type QuellProcess } from '../support/quell-process';
import { REDIS_URL, openTestQueue, type TestQueue } from '../support/redis';
import { enqueue, firingAlert, linkedCount } from '../support/storm';
import { waitFor } from '../support/wait';

/**
 * "One active problem per signature" under real concurrency: four worker processes (four
 * transactions each) apply incidents of the same few signatures at once.
 */
const RULES = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: by-instance
    group_by: [alertname, service, instance]
---
apiVersion: quell/v1
kind: ProblemRules
rules:
  - name: recurring
    signature: alertname_service
    min_incidents: 3
    window: 1h
`;

let t: TestDatabase;
let q: TestQueue;
let queue: BullmqIngestQueue;
let workers: QuellProcess[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  q = await openTestQueue();
  queue = q.queue;
  const dir = mkdtempSync(join(tmpdir(), 'quell-problems-'));
  writeFileSync(join(dir, 'rules.yaml'), RULES);
  // 400 incidents (one per instance) of 4 signatures, one alert per job: every job counts.
  const alerts = Array.from({ length: 400 }, (_, i) => firingAlert({ alertname: 'Err', service: `svc-${i % 4}`,
    instance: `h${i}` }));
  await enqueue(queue, alerts, 1);
  const env = {
    REDIS_URL, DATABASE_URL: t.url, QUELL_QUEUE_NAME: q.name, QUELL_WORKER_CONCURRENCY: '4', QUELL_METRICS_PORT: '0',
    QUELL_HOST: '127.0.0.1', QUELL_RULES_DIR: dir,
  };
  workers = await startWorkers(4, env);
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await q.close();
  await t.drop();
});

test('four workers: exactly one problem per signature, each linking its 100 incidents', async () => {
  await waitFor(async () => (await linkedCount(t.db)) === 400, 60_000, 'all alerts linked');
  await waitFor(async () => { const d = await queue.depth(); return d.active === 0 && d.waiting === 0; }, 10_000,
    'queue drained');
  const problems = await t.db.selectFrom('problems as p')
    .select(['p.signature', (eb) => eb.selectFrom('problem_incidents as pi').whereRef('pi.problem_id', '=', 'p.id')
      .select((e) => e.fn.countAll<string>().as('n')).as('incidents')])
    .orderBy('p.signature').execute();
  expect(problems).toEqual([0, 1, 2, 3].map((i) => ({
    signature: `alertname_service:{alertname="Err",service="svc-${i}"}`, incidents: '100',
  })));
  expect((await queue.depth()).failed).toBe(0);
  // Every worker took part (otherwise there was no race), and none logged an error.
  for (const w of workers) {
    const port = /"port":(\d+)\},"msg":"worker metrics listening"/.exec(w.output())?.[1];
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(Number(/quell_ingest_jobs_total\{result="applied"\} (\d+)/.exec(metrics)?.[1] ?? 0)).toBeGreaterThan(0);
    expect(w.output()).not.toContain('"level":50');
  }
}, 90_000);
