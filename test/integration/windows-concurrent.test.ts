import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { CanonicalAlert } from '../../src/domain/alert';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startWorkers, type QuellProcess } from '../support/quell-process';
import { REDIS_URL, openTestQueue, type TestQueue } from '../support/redis';
import { enqueue, firingAlert, linkedCount } from '../support/storm';
import { waitFor } from '../support/wait';

/**
 * min_alerts and reopening decide over what is stored (pending alerts, the group's latest
 * incident): four worker processes race over the same groups, every job touching every group,
 * and each group still ends with one incident that has all its alerts.
 */
const RULES = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: min
    matchers: ['scenario="min"']
    group_by: [service]
    min_alerts: 10
  - name: reopen
    matchers: ['scenario="reopen"']
    group_by: [service]
    reopen_within: 1h
`;
const GROUPS = 10;
const PER_GROUP = 20;

let t: TestDatabase;
let q: TestQueue;
let workers: QuellProcess[] = [];

/** `PER_GROUP` alerts in each group, in jobs holding one alert of every group. */
function storm(scenario: string, startsAt: string): CanonicalAlert[] {
  return Array.from({ length: GROUPS * PER_GROUP }, (_, i) =>
    firingAlert({ scenario, service: `svc-${i % GROUPS}`, instance: `host-${Math.floor(i / GROUPS)}` }, startsAt));
}

const incidentsByGroup = async (rule: string) => {
  const rows = await t.db.selectFrom('incidents').select(['id', 'group_key', 'status', 'alert_count'])
    .where('rule', '=', rule).orderBy('id').execute();
  const out = new Map<string, typeof rows>();
  for (const r of rows) out.set(r.group_key, [...(out.get(r.group_key) ?? []), r]);
  return out;
};

beforeAll(async () => {
  t = await createTestDatabase();
  q = await openTestQueue();
  const dir = mkdtempSync(join(tmpdir(), 'quell-windows-'));
  writeFileSync(join(dir, 'rules.yaml'), RULES);
  const minute = (m: number) => new Date(Date.now() + m * 60_000).toISOString();
  await enqueue(q.queue, storm('min', minute(-30)), GROUPS);
  await enqueue(q.queue, Array.from({ length: GROUPS }, (_, g) =>
    firingAlert({ scenario: 'reopen', service: `svc-${g}`, instance: 'first' }, minute(-30))), GROUPS);
  const env = {
    REDIS_URL, DATABASE_URL: t.url, QUELL_QUEUE_NAME: q.name, QUELL_RULES_DIR: dir, QUELL_WORKER_CONCURRENCY: '4',
    QUELL_METRICS_PORT: '0', QUELL_HOST: '127.0.0.1',
  };
  workers = await startWorkers(4, env);
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await q.close();
  await t.drop();
});

const drained = async () => {
  const d = await q.queue.depth();
  return d.active === 0 && d.waiting === 0 && d.delayed === 0;
};
const pendingCount = async () =>
  Number((await t.db.selectFrom('pending_alerts').select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);
/** Alerts linked to an incident or left pending: all of them once the queue is drained. */
const placed = async () => (await linkedCount(t.db)) + (await pendingCount());
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

test('four workers: min_alerts opens one incident per group with all its alerts; one reopens per group', async () => {
  const first = GROUPS * PER_GROUP + GROUPS;
  await waitFor(async () => (await placed()) === first && drained(), 60_000, 'first alerts placed');
  const min = await incidentsByGroup('min');
  expect(min.size).toBe(GROUPS);
  for (const list of min.values()) expect(list.map((i) => [i.status, i.alert_count])).toEqual([['open', PER_GROUP]]);
  expect(await pendingCount()).toBe(0);

  // Every first incident of the reopen groups resolves; then each group fires again, from every job.
  const firsts = await incidentsByGroup('reopen');
  await enqueue(q.queue, Array.from({ length: GROUPS }, (_, g) => ({
    ...firingAlert({ scenario: 'reopen', service: `svc-${g}`, instance: 'first' }, minutesAgo(30)),
    status: 'resolved' as const, endsAt: minutesAgo(20),
  })), GROUPS);
  await waitFor(async () => [...(await incidentsByGroup('reopen')).values()].every((l) => l[0]!.status === 'resolved'),
    30_000, 'first incidents resolved');
  await enqueue(q.queue, storm('reopen', minutesAgo(1)), GROUPS);
  const all = first + GROUPS * PER_GROUP;
  await waitFor(async () => (await linkedCount(t.db)) === all && drained(), 60_000, 'refires linked');

  const reopened = await incidentsByGroup('reopen');
  expect(reopened.size).toBe(GROUPS);
  for (const [key, list] of reopened) {
    const before = firsts.get(key)![0]!;
    expect(list.map((i) => [i.id, i.status, i.alert_count])).toEqual([[before.id, 'open', PER_GROUP + 1]]);
  }
  const events = await t.db.selectFrom('incident_events').select(['kind', sql<string>`count(*)`.as('n')])
    .where('kind', 'in', ['reopened', 'opened']).groupBy('kind').orderBy('kind').execute();
  expect(events.map((e) => [e.kind, Number(e.n)])).toEqual([['opened', GROUPS * 2], ['reopened', GROUPS]]);

  expect((await q.queue.depth()).failed).toBe(0);
  for (const w of workers) {
    const port = /"port":(\d+)\},"msg":"worker metrics listening"/.exec(w.output())?.[1];
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(Number(/quell_ingest_jobs_total\{result="applied"\} (\d+)/.exec(metrics)?.[1] ?? 0)).toBeGreaterThan(0);
    expect(w.output()).not.toContain('"level":50');
    expect(w.output()).not.toContain('job failed');
  }
}, 120_000);
