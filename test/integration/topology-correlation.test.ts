import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { readIncidentDetail } from '../../src/api/incident-detail';
import { CmdbLoader } from '../../src/cmdb/cmdb-loader';
import { createCmdbMetrics } from '../../src/cmdb/cmdb-metrics';
import type { CmdbDocument } from '../../src/domain/cmdb';
import { Topology } from '../../src/domain/topology';
import { createLogger } from '../../src/log';
import { buildPipeline } from '../../src/pipeline/pipeline';
import { createPipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import type { IngestJob } from '../../src/queue/ingest-queue';
import { compileRuleText } from '../../src/rules/rule-loader';
import { createJobProcessor } from '../../src/worker/job-processor';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startWorkers, type QuellProcess } from '../support/quell-process';
import { REDIS_URL, openTestQueue, type TestQueue } from '../support/redis';
import { enqueue, firingAlert, linkedCount } from '../support/storm';
import { waitFor } from '../support/wait';

/**
 * Topology correlation: alerts whose CIs are related (a cascade up and down the CMDB) share one
 * incident, which names its root-cause candidate and each alert CI's path to it; alerts bound
 * to no CI fall back to label grouping.
 */
const RULES = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: topology
    topology: { max_hops: 3 }
    group_window: 30m
  - name: by-alertname
    group_by: [alertname]
`;

// rack r1: switch sw-1 with hosts h1..h4; api runs on h1 and depends on db, which runs on h4.
const CMDB: CmdbDocument = {
  cis: [
    { id: 'sw-1', type: 'switch', labels: { owner: 'network' } },
    ...[1, 2, 3, 4].map((n) => ({ id: `h${n}`, type: 'host', labels: { environment: 'prod' } })),
    { id: 'api', type: 'service', labels: { assignment_group: 'payments-oncall' } },
    { id: 'db', type: 'database', labels: {} },
  ],
  relations: [
    ...[1, 2, 3, 4].map((n) => ({ from: `h${n}`, type: 'connected_to' as const, to: 'sw-1' })),
    { from: 'api', type: 'runs_on' as const, to: 'h1' },
    { from: 'api', type: 'depends_on' as const, to: 'db' },
    { from: 'db', type: 'runs_on' as const, to: 'h4' },
  ],
};

let t: TestDatabase;
beforeAll(async () => { t = await createTestDatabase(); });
afterAll(async () => { await t.drop(); });

const job = (...labels: Record<string, string>[]): IngestJob => ({
  id: randomUUID(), connector: 'alertmanager', receivedAt: new Date().toISOString(),
  alerts: labels.map((l) => firingAlert(l, '2026-11-27T10:00:00Z')),
});

test('a switch outage is one incident with the switch as root cause; an unbound alert is grouped by label',
  async () => {
  const metrics = createPipelineMetrics(new Registry());
  const topology = Topology.build(CMDB);
  const rules = compileRuleText('rules.yaml', RULES);
  const apply = createJobProcessor(t.db, buildPipeline({ rules: () => rules, metrics, topology: () => topology }),
    metrics);

  await apply(job({ alertname: 'NodeDown', instance: 'h2:9100' }));
  await apply(job({ alertname: 'SwitchDown', instance: 'sw-1' }, { alertname: 'NodeDown', instance: 'h3:9100' }));
  await apply(job({ alertname: 'HighErrorRate', service: 'api' }, { alertname: 'DiskFull',
    instance: 'elsewhere:9100' }));

  const incidents = await t.db.selectFrom('incidents').select(['id', 'rule', 'alert_count']).orderBy('id').execute();
  expect(incidents.map((i) => [i.rule, i.alert_count])).toEqual([['topology', 4], ['by-alertname', 1]]);
  const detail = await readIncidentDetail(t.db, incidents[0]!.id, { maxBytes: 1 << 20 });
  expect(detail?.root_cause).toMatchObject({ ci: 'sw-1', type: 'switch', labels: { owner: 'network' } });
  const paths = new Map(detail!.root_cause!.paths.map((p) => [p.ci, p.path]));
  expect(paths.get('api')).toEqual(['api', 'h1', 'sw-1']);
  expect(paths.get('h2')).toEqual(['h2', 'sw-1']);
  expect(detail?.ci_count).toBe(4);
  // The root moved once: h2 alone first, then the switch.
  const roots = detail!.timeline.filter((e) => e.kind === 'root_cause').map((e) => (e.detail as { ci: string }).ci);
  expect(roots).toEqual(['h2', 'sw-1']);
});

test('four workers applying related alerts at the same moment make one incident of them', async () => {
  const t2 = await createTestDatabase();
  const q: TestQueue = await openTestQueue();
  const dir = mkdtempSync(join(tmpdir(), 'quell-topo-rules-'));
  const workers: QuellProcess[] = [];
  try {
    // Hosts behind one switch are related through it (any direction, 2 hops), though the switch
    // itself has no alert: with no incident open yet, each worker alone would open its own.
    writeFileSync(join(dir, 'rules.yaml'), RULES.replace('topology: { max_hops: 3 }',
      'topology: { max_hops: 2, paths: any }'));
    // 20 racks of 20 hosts: every host alerts, in small jobs that mix racks.
    const cmdb = {
      cis: Array.from({ length: 20 }, (_, r) => [
        { id: `sw-${r}`, type: 'switch', labels: {} },
        ...Array.from({ length: 20 }, (_, h) => ({ id: `h-${r}-${h}`, type: 'host', labels: {} })),
      ]).flat(),
      relations: Array.from({ length: 20 }, (_, r) => Array.from({ length: 20 },
        (_, h) => ({ from: `h-${r}-${h}`, type: 'connected_to', to: `sw-${r}` }))).flat(),
    };
    await new CmdbLoader({ db: t2.db, metrics: createCmdbMetrics(new Registry()), log: createLogger('silent') })
      .load(JSON.stringify(cmdb), 'json', { kind: 'api' });
    const alerts = cmdb.cis.filter((ci) => ci.type === 'host')
      .map((ci) => firingAlert({ alertname: 'NodeDown', instance: `${ci.id}:9100` }, '2026-11-27T10:00:00Z'))
      .sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
    const env = {
      REDIS_URL, DATABASE_URL: t2.url, QUELL_QUEUE_NAME: q.name, QUELL_WORKER_CONCURRENCY: '4', QUELL_METRICS_PORT: '0',
      QUELL_HOST: '127.0.0.1', QUELL_RULES_DIR: dir,
    };
    workers.push(...await startWorkers(4, env));
    await enqueue(q.queue, alerts, 4);
    await waitFor(async () => (await linkedCount(t2.db)) === alerts.length, 60_000, 'every alert linked');

    // One incident per rack, holding all 20 of its hosts.
    const incidents = await t2.db.selectFrom('incidents').select(['cis', 'alert_count']).execute();
    const racks = incidents.map((i) => [...new Set(i.cis.map((ci) => ci.split('-')[1]))]);
    expect(racks.every((r) => r.length === 1)).toBe(true);
    expect(incidents.map((i) => i.alert_count)).toEqual(Array(20).fill(20));
    for (const w of workers) expect(w.output()).not.toContain('"level":50');
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await q.close();
    await t2.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);
