import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { connector as datadog } from '../../connectors/datadog';
import { connector as nagios } from '../../connectors/nagios';
import { connector as zabbix } from '../../connectors/zabbix';
import { buildPipeline } from '../../src/pipeline/pipeline';
import { createPipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import { EmbeddedQueue } from '../../src/queue/embedded-queue';
import { compileRuleText } from '../../src/rules/rule-loader';
import { createJobsApplier } from '../../src/worker/job-processor';
import { serveTestApp, TEST_INGEST_TOKEN, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { waitFor } from '../support/wait';

/**
 * Zabbix, Nagios/Icinga and Datadog over HTTP into the real pipeline on PostgreSQL: each
 * source's problem opens an incident and its recovery resolves it (same identity though the
 * labels differ), and labels that change under one fingerprint are counted.
 */
const RULES = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: by-host
    matchers: ['host=~".+"']
    group_by: [host]
    group_window: 1h
`;
const fixture = (id: string, name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(__dirname, '../../connectors', id, 'fixtures', name), 'utf8'));

let t: TestDatabase;
let app: TestApp;
let queue: EmbeddedQueue;
const registry = new Registry();

beforeAll(async () => {
  t = await createTestDatabase();
  const metrics = createPipelineMetrics(registry);
  const rules = compileRuleText('rules.yaml', RULES);
  const apply = createJobsApplier(t.db, buildPipeline({ rules: () => rules, metrics }), metrics);
  queue = new EmbeddedQueue(t.db, { pollMs: 20 });
  queue.start((job) => apply([job]));
  app = await serveTestApp({ db: t.db, queue, connectors: [zabbix, nagios, datadog], pipelineMetrics: metrics });
});
afterAll(async () => {
  // A failed beforeAll leaves the later of these unset: release what it set.
  /* eslint-disable @typescript-eslint/no-unnecessary-condition -- the declared types assume beforeAll finished */
  app?.close();
  await queue?.close();
  await t?.drop();
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
});

async function post(id: string, body: unknown): Promise<void> {
  const res = await fetch(`${app.base}/ingest/${id}`, {
    method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json',
      authorization: `Bearer ${TEST_INGEST_TOKEN}` },
  });
  expect(res.status).toBe(202);
  await waitFor(async () => (await t.db.selectFrom('queue_jobs').select('id').execute()).length === 0, 10_000,
    'the job applied');
}

const incidentOfHost = (host: string) => t.db.selectFrom('incidents').selectAll()
  .where('group_key', 'like', `%${host}%`).executeTakeFirst();

test.each([
  ['zabbix', 'problem.json', 'recovery.json', 'db-01.dc1'],
  ['nagios', 'service-problem.json', 'service-recovery.json', 'web-03'],
  ['datadog', 'triggered.json', 'recovered.json', 'web-1'],
])('%s: the problem opens an incident, its recovery resolves it', async (id, problem, recovery, host) => {
  await post(id, fixture(id, problem));
  const opened = await incidentOfHost(host);
  expect(opened?.status).toBe('open');
  await post(id, fixture(id, recovery));
  expect((await incidentOfHost(host))?.status).toBe('resolved');
  const alerts = await t.db.selectFrom('alerts').select(['status', 'source']).where('source', '=', id).execute();
  expect(alerts).toEqual([{ status: 'resolved', source: id }]);
});

test('labels that change under one fingerprint are counted, by source', async () => {
  const problem = { ...fixture('zabbix', 'problem.json'), event_id: '99001', host: 'app-7' };
  await post('zabbix', problem);
  await post('zabbix', problem); // the same labels: a re-send, nothing counted
  await post('zabbix', { ...problem, event_update: '1', event_severity: '4' }); // an update raising the severity
  const counted = (await registry.getSingleMetric('quell_fingerprint_label_changes_total')!.get()).values;
  expect(counted).toEqual([expect.objectContaining({ labels: { source: 'zabbix' }, value: 1 })]);
  const stored = await t.db.selectFrom('alerts').select(['labels', 'occurrences'])
    .where('labels', '@>', sqlJson({ zabbix_eventid: '99001' })).executeTakeFirstOrThrow();
  expect(stored).toEqual({ labels: expect.objectContaining({ severity: 'critical' }), occurrences: 3 });
});

const sqlJson = (v: unknown): any => JSON.stringify(v);
