import { Registry } from 'prom-client';
import { connector as alertmanager } from '../../connectors/alertmanager';
import { connector as prometheus } from '../../connectors/prometheus';
import { buildPipeline } from '../../src/pipeline/pipeline';
import { createPipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import type { Stage } from '../../src/pipeline/stage';
import { EmbeddedQueue } from '../../src/queue/embedded-queue';
import { compileRuleText } from '../../src/rules/rule-loader';
import { alertsByFingerprint } from '../../src/store/alert-queries';
import { expireAlerts } from '../../src/worker/alert-expiry';
import { createLapseMetrics } from '../../src/worker/lapse-metrics';
import { createJobsApplier } from '../../src/worker/job-processor';
import { serveTestApp, TEST_INGEST_TOKEN, type TestApp } from '../support/app';
import { startRecordingServer, type RecordingServer } from '../support/http-recorder';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startPrometheus, type PrometheusServer } from '../support/prometheus-server';
import { waitFor } from '../support/wait';

/**
 * A real Prometheus (Debian's v2.42) posting straight to Quell's `/api/v2/alerts` with a bearer
 * token, no Alertmanager between: a rule that stops firing resolves through Prometheus's own
 * resolved alerts; a rule whose Prometheus stops resolves at its `endsAt` (now + 4 resend
 * delays, 4 s here) by the worker's expiry check, recorded as `expired`.
 */
const RULES = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: by-alertname
    matchers: ['alertname=~"Direct.+"']
    group_by: [alertname]
    group_window: 1h
`;
const PROM_RULES = `groups:
  - name: direct
    rules:
      - alert: DirectFlip
        expr: quell_fixture_up == 1
      - alert: DirectAlways
        expr: vector(1)
        labels: { severity: warning }
`;

let t: TestDatabase;
let app: TestApp;
let queue: EmbeddedQueue;
let stages: readonly Stage[];
let target: RecordingServer;
let prom: PrometheusServer | undefined;
let up = 1;
const registry = new Registry();

beforeAll(async () => {
  t = await createTestDatabase();
  const metrics = createPipelineMetrics(registry);
  const rules = compileRuleText('rules.yaml', RULES);
  stages = buildPipeline({ rules: () => rules, metrics });
  const apply = createJobsApplier(t.db, stages, metrics);
  queue = new EmbeddedQueue(t.db, { pollMs: 50 });
  queue.start((job) => apply([job]));
  app = await serveTestApp({ db: t.db, queue, connectors: [alertmanager, prometheus], pipelineMetrics: metrics });
  target = await startRecordingServer((_req, res) => {
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(`# TYPE quell_fixture_up gauge\nquell_fixture_up ${up}\n`);
  });
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  // A failed beforeAll leaves the later of these unset: release what it set.
  /* eslint-disable @typescript-eslint/no-unnecessary-condition -- the declared types assume beforeAll finished */
  await target?.close();
  app?.close();
  await queue?.close();
  await t?.drop();
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
});

const incidentOf = async (alertname: string) => t.db.selectFrom('incidents').selectAll()
  .where('group_key', 'like', `%${alertname}%`).executeTakeFirst();

test('Prometheus posts to /api/v2/alerts; a rule that stops firing resolves; one no longer re-sent expires',
  async () => {
  const unauthenticated = await fetch(`${app.base}/api/v2/alerts`, { method: 'POST', body: '[]',
    headers: { 'content-type': 'application/json' } });
  expect(unauthenticated.status).toBe(401);

  prom = await startPrometheus({
    targets: [`127.0.0.1:${target.port}`], rules: PROM_RULES, alertmanagers: [app.base],
      alertmanagerToken: TEST_INGEST_TOKEN,
    args: ['--rules.alert.resend-delay=1s'],
  });
  const flip = await waitFor(() => incidentOf('DirectFlip'), 30_000, 'DirectFlip opens an incident')
    .catch(async (err: unknown) => {
    const alerts = await t.db.selectFrom('alerts').selectAll().execute();
    const incidents = await t.db.selectFrom('incidents').selectAll().execute();
    throw new Error(`${String(err)}\nalerts: ${JSON.stringify(alerts)}\nincidents: ${JSON.stringify(incidents)}\n`
      + `${prom?.output().slice(-3000)}`);
  });
  const always = await waitFor(() => incidentOf('DirectAlways'), 30_000, 'DirectAlways opens an incident');
  expect(flip.status).toBe('open');
  const firing = await t.db.selectFrom('alerts').selectAll().where('source', '=', 'prometheus').execute();
  expect(firing).toHaveLength(2);
  for (const a of firing) {
    expect(a.status).toBe('firing');
    // endsAt = now + 4 x max(resend delay, evaluation interval) = now + 4 s.
    expect(a.expires_at!.getTime() - Date.now()).toBeLessThan(10_000);
    expect(a.generator_url).toMatch(/^http:\/\/.+\/graph\?/);
  }

  // The rule stops firing: Prometheus sends the alert with endsAt in the past.
  up = 0;
  await waitFor(async () => (await incidentOf('DirectFlip'))?.status === 'resolved', 30_000,
    'DirectFlip resolved by Prometheus');
  const flipAlert = firing.find((a) => a.labels['alertname'] === 'DirectFlip')!;
  const flipRead = (await alertsByFingerprint(t.db, [flipAlert.fingerprint])).get(flipAlert.fingerprint)!;
  expect(flipRead.status).toBe('resolved');
  expect(flipRead.disposition).toBe('incident');

  // Prometheus stops: DirectAlways is no longer re-sent, and expires at its endsAt.
  await prom.stop();
  prom = undefined;
  const alwaysAlert = firing.find((a) => a.labels['alertname'] === 'DirectAlways')!;
  expect((await incidentOf('DirectAlways'))?.status).toBe('open');
  const lapse = createLapseMetrics(new Registry());
  await waitFor(async () => (await expireAlerts(t.db, stages, new Date(), { lapse })) > 0, 15_000,
    'DirectAlways expires');
  expect((await incidentOf('DirectAlways'))?.status).toBe('resolved');
  const read = (await alertsByFingerprint(t.db, [alwaysAlert.fingerprint])).get(alwaysAlert.fingerprint)!;
  expect(read.status).toBe('resolved');
  expect(read.disposition).toBe('expired');
  expect(read.disposition_detail).toEqual(expect.objectContaining({ incident_id: always.id,
    reason: expect.stringContaining('re-send') }));
  const stored = await t.db.selectFrom('alerts').select(['ends_at', 'expires_at'])
    .where('fingerprint', '=', alwaysAlert.fingerprint).executeTakeFirstOrThrow();
  expect(stored.expires_at).toBeNull();
  expect(stored.ends_at!.toISOString()).toBe((read.disposition_detail as { expires_at: string }).expires_at);
  const timeline = await t.db.selectFrom('incident_events').select(['kind', 'actor', 'detail'])
    .where('incident_id', '=', always.id).orderBy('id').execute();
  expect(timeline.map((e) => e.kind)).toEqual(expect.arrayContaining(['alerts_lapsed', 'alerts_resolved', 'resolved']));
  expect(timeline.find((e) => e.kind === 'alerts_lapsed')?.detail).toEqual({ fingerprints: [alwaysAlert.fingerprint],
    by: 'expiry', reason: expect.any(String) });
  expect((await lapse.lapsed.get()).values).toEqual([expect.objectContaining({ labels: { source: 'prometheus',
    by: 'expiry' }, value: 1 })]);
  // Nothing left to expire.
  expect(await expireAlerts(t.db, stages, new Date(Date.now() + 3_600_000))).toBe(0);
}, 90_000);
