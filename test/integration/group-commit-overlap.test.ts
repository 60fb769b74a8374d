import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import type { CanonicalAlert } from '../../src/domain/alert';
import { createPipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import type { Stage } from '../../src/pipeline/stage';
import type { IngestJob } from '../../src/queue/ingest-queue';
import { createJobProcessor } from '../../src/worker/job-processor';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * Group commit's overlap: a second transaction starts beside one in flight only while that one
 * is small; behind a big one (a storm's), the jobs wait and go together in the next.
 */
let t: TestDatabase;
beforeAll(async () => { t = await createTestDatabase(); });
afterAll(async () => { await t.drop(); });

const alert = (i: number): CanonicalAlert => ({
  source: 'test', fingerprint: `overlap-${randomUUID()}-${i}`, status: 'firing', labels: { i: String(i) },
  annotations: {}, startsAt: '2026-11-20T10:00:00Z', endsAt: null,
});
const job = (alerts: number): IngestJob => ({
  id: randomUUID(), connector: 'test', receivedAt: new Date().toISOString(),
  alerts: Array.from({ length: alerts }, (_, i) => alert(i)),
});

/** A pipeline of one stage that holds each transaction 100 ms and records how many ran at once, and their sizes. */
function probe(): { stages: Stage[]; most: () => number; batches: number[] } {
  let now = 0, most = 0;
  const batches: number[] = [];
  const stage: Stage = {
    name: 'probe',
    async run(alerts) {
      batches.push(alerts.length);
      most = Math.max(most, ++now);
      await new Promise((r) => setTimeout(r, 100));
      now--;
      return alerts;
    },
  };
  return { stages: [stage], most: () => most, batches };
}

test('small batches overlap: a job does not wait for the transaction before it', async () => {
  const p = probe();
  const apply = createJobProcessor(t.db, p.stages, createPipelineMetrics(new Registry()), { transactions: 2 });
  const first = apply(job(10));
  await new Promise((r) => setTimeout(r, 30));
  await Promise.all([first, apply(job(1))]);
  expect(p.most()).toBe(2);
});

test('behind a big batch, the jobs that arrive wait and go together in the next transaction', async () => {
  const p = probe();
  const apply = createJobProcessor(t.db, p.stages, createPipelineMetrics(new Registry()),
    { transactions: 2, overlapBelowAlerts: 500 });
  const first = apply(job(600));
  await new Promise((r) => setTimeout(r, 30));
  await Promise.all([first, apply(job(1)), apply(job(2))]);
  expect(p.most()).toBe(1);
  expect(p.batches).toEqual([600, 3]);
});
