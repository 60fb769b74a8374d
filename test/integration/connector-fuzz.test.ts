import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CONNECTORS_DIR, loadConnectors } from '../../src/connectors/connector-registry';
import { connectorSetups } from '../../src/connectors/connector-settings';
import { seededRandom } from '../quality/seeded-random';
import { serveTestApp, TEST_INGEST_TOKEN } from '../support/app';
import { bearerHarness, fixturesOf, type FuzzHarness } from '../support/fuzz-harness';
import { mutate } from '../support/payload-mutator';
import { pipelineWorker } from '../support/pipeline-worker';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { openTestQueue, type TestQueue } from '../support/redis';

/**
 * Every connector in connectors/ (a connector added later is fuzzed with no change here), sent
 * 2,000 mutated payloads of its fixtures through the real HTTP app, Redis queue and pipeline on
 * PostgreSQL: never a 5xx, every 4xx names the field it refuses (413 aside: the size says it),
 * and every job an accepted payload queued is applied without failing. Deterministic: the
 * mutations come from a generator seeded by the connector id.
 */
const PAYLOADS = Number(process.env['QUELL_FUZZ_PAYLOADS'] ?? 2000);
const CONCURRENCY = 16;

let t: TestDatabase;
let q: TestQueue;
beforeAll(async () => {
  t = await createTestDatabase();
  q = await openTestQueue();
});
afterAll(async () => {
  // A failed beforeAll leaves the later of these unset: release what it set.
  /* eslint-disable @typescript-eslint/no-unnecessary-condition -- the declared types assume beforeAll finished */
  await q?.close();
  await t?.drop();
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
});

const seedOf = (id: string): number => createHash('sha256').update(id).digest().readUInt32BE(0);

async function harnessOf(id: string): Promise<FuzzHarness> {
  const file = join(CONNECTORS_DIR, id, 'fuzz-harness');
  if (!existsSync(`${file}.ts`) && !existsSync(`${file}.js`)) return bearerHarness(TEST_INGEST_TOKEN);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(file) as { fuzzHarness: () => Promise<FuzzHarness> }).fuzzHarness();
}

interface Answer { readonly status: number; readonly error?: { code?: string; field?: unknown; message?: string } }

test.each(loadConnectors().map((c) => [c.id, c] as const))(
  '%s: 2,000 mutated payloads, no 5xx, every refusal names its field, every job applies', async (id, loaded) => {
  const harness = await harnessOf(id);
  const seeds = harness.seeds ?? fixturesOf(join(CONNECTORS_DIR, id));
  expect(seeds.length).toBeGreaterThan(0);
  const app = await serveTestApp({
    db: t.db, queue: q.queue, maxBodyBytes: 1024 * 1024,
    connectors: connectorSetups([harness.connector ?? loaded], harness.env ?? {}),
  });
  const { apply } = pipelineWorker(t.db);
  const r = seededRandom(seedOf(id));
  const payloads = [...seeds, ...Array.from({ length: PAYLOADS }, () => mutate(r.pick(seeds), r))];
  const counts = new Map<number, number>();
  const problems: string[] = [];
  try {
    let next = 0;
    const send = async (): Promise<void> => {
      while (next < payloads.length) {
        const i = next++;
        const { body, headers } = harness.request(payloads[i]);
        const res = await fetch(`${app.base}/ingest/${id}`, { method: 'POST',
          headers: { 'content-type': 'application/json', ...headers }, body });
        const answer: Answer = { status: res.status, ...(await res.json() as object) };
        counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
        if (res.status >= 500) {
          problems.push(`#${i} ${res.status} ${JSON.stringify(answer.error)}: ${body.slice(0, 300)}`);
        } else if (res.status >= 400 && res.status !== 413 && typeof answer.error?.field !== 'string') {
          problems.push(`#${i} ${res.status} names no field: ${JSON.stringify(answer.error)}: ${body.slice(0, 300)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, send));
    expect(problems.slice(0, 5)).toEqual([]);
    for (const seedStatus of [...counts.keys()]) expect(seedStatus).toBeLessThan(500);

    const jobs = await q.waiting();
    await q.bull.drain(true);
    const applied = await Promise.allSettled(jobs.map((job) => apply(job)));
    const failed = applied
      .flatMap((a, i) => (a.status === 'rejected' ? [`${jobs[i]!.id}: ${(a.reason as Error).message}`] : []));
    expect(failed.slice(0, 5)).toEqual([]);
    // The fixtures themselves are accepted, and mutations both pass and fail: the fuzz reaches the pipeline.
    expect(jobs.length).toBeGreaterThan(seeds.length);
    const answers = JSON.stringify(Object.fromEntries([...counts].sort()));
    process.stdout.write(`fuzz ${id}: ${payloads.length} payloads, answers ${answers}, ${jobs.length} jobs applied\n`);
  } finally {
    app.close();
    await harness.close?.();
  }
}, 120_000);
