import { sql } from 'kysely';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { connector as alertmanager } from '../../connectors/alertmanager';
import { connector as zabbix } from '../../connectors/zabbix';
import { intake } from '../../src/connectors/connector-intake';
import { pollTarget } from '../../src/connectors/poll-target';
import { buildPipeline } from '../../src/pipeline/pipeline';
import { createPipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import type { Stage } from '../../src/pipeline/stage';
import { EmbeddedQueue } from '../../src/queue/embedded-queue';
import { compileRuleText } from '../../src/rules/rule-loader';
import { alertsByFingerprint } from '../../src/store/alert-queries';
import { createJobsApplier } from '../../src/worker/job-processor';
import { createLapseMetrics } from '../../src/worker/lapse-metrics';
import { reconcileSource, type ReconcileSource } from '../../src/worker/reconcile';
import { quellRouteConfig, startAlertmanager, type AlertmanagerServer } from '../support/alertmanager-server';
import { serveTestApp, TEST_INGEST_TOKEN, type TestApp } from '../support/app';
import { startRecordingServer, type RecordingServer } from '../support/http-recorder';
import { freePort } from '../support/net';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { waitFor } from '../support/wait';

/**
 * Reconciliation against a real Alertmanager (Debian's v0.25) with a lost resolve: its webhook
 * reaches Quell through a proxy that drops every resolved notification. Quell's poll of
 * Alertmanager's `/api/v2/alerts` finds the alert gone, waits out the grace, and resolves it and
 * its incident, recorded as reconciled; an alert Alertmanager still fires is left alone.
 */
const RULES = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: by-service
    matchers: ['service=~".+"']
    group_by: [service]
    group_window: 1h
`;

let t: TestDatabase;
let app: TestApp;
let queue: EmbeddedQueue;
let stages: readonly Stage[];
let apply: ReturnType<typeof createJobsApplier>;
let proxy: RecordingServer;
let am: AlertmanagerServer;
const dropped: string[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  const metrics = createPipelineMetrics(new Registry());
  const rules = compileRuleText('rules.yaml', RULES);
  stages = buildPipeline({ rules: () => rules, metrics });
  apply = createJobsApplier(t.db, stages, metrics);
  queue = new EmbeddedQueue(t.db, { pollMs: 50 });
  queue.start((job) => apply([job]));
  app = await serveTestApp({ db: t.db, queue, pipelineMetrics: metrics });
  // Forwards Alertmanager's notifications to Quell, except resolved ones: the lost resolve.
  proxy = await startRecordingServer(async (req, res) => {
    const body = JSON.parse(req.body) as { status: string };
    if (body.status === 'resolved') {
      dropped.push(req.body);
      res.end('dropped');
      return;
    }
    const forwarded = await fetch(`${app.base}${req.url}`, {
      method: 'POST', body: req.body, headers: { 'content-type': 'application/json',
        authorization: req.headers.authorization ?? '' },
    });
    res.statusCode = forwarded.status;
    res.end(await forwarded.text());
  });
  am = await startAlertmanager(quellRouteConfig({ quellUrl: proxy.base, ingestToken: TEST_INGEST_TOKEN,
    groupBy: ['alertname'] }), { logLevel: 'info' });
}, 60_000);

afterAll(async () => {
  // A failed beforeAll leaves the later of these unset: release what it set.
  /* eslint-disable @typescript-eslint/no-unnecessary-condition -- the declared types assume beforeAll finished */
  await am?.stop();
  await proxy?.close();
  app?.close();
  await queue?.close();
  await t?.drop();
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
});

const postToAm = async (alerts: unknown[]): Promise<void> => {
  const res = await fetch(`${am.url}/api/v2/alerts`, { method: 'POST', body: JSON.stringify(alerts),
    headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(200);
};

const lost = { alertname: 'LostResolve', service: 'payments', instance: 'pay-1' };
const kept = { alertname: 'StillFiring', service: 'search', instance: 'search-1' };
const startsAt = new Date(Date.now() - 60_000).toISOString();
const MINUTE = 60_000;
const opts = { intervalMs: MINUTE, graceMs: 5 * MINUTE };

test('a resolve lost on its way is found by polling Alertmanager and resolves the incident, recorded as reconciled',
  async () => {
  const source: ReconcileSource = { connector: alertmanager, target: pollTarget({ url: am.url }) };
  await postToAm([
    { labels: lost, annotations: { summary: 'payments down' }, startsAt,
      endsAt: new Date(Date.now() + 3_600_000).toISOString() },
    { labels: kept, annotations: {}, startsAt, endsAt: new Date(Date.now() + 3_600_000).toISOString() },
  ]);
  const firing = await waitFor(async () => {
    const rows = await t.db.selectFrom('alerts').selectAll().where('status', '=', 'firing').execute();
    return rows.length === 2 ? rows : undefined;
  }, 30_000, 'both alerts firing in Quell');
  const lostRow = firing.find((r) => r.labels['alertname'] === 'LostResolve')!;
  const keptRow = firing.find((r) => r.labels['alertname'] === 'StillFiring')!;
  const incident = await waitFor(() => t.db.selectFrom('incidents').selectAll().where('group_key', 'like', '%payments%')
    .executeTakeFirst(),
    10_000, 'the payments incident');

  // Alertmanager resolves LostResolve; its resolved notification never reaches Quell.
  await postToAm([{ labels: lost, annotations: { summary: 'payments down' }, startsAt,
    endsAt: new Date().toISOString() }]);
  await waitFor(async () => dropped.length > 0, 30_000, 'the resolved notification (dropped)');
  expect((await t.db.selectFrom('alerts').select('status').where('fingerprint', '=', lostRow.fingerprint)
    .executeTakeFirstOrThrow()).status).toBe('firing');

  const lapse = createLapseMetrics(new Registry());
  const t0 = new Date();
  // First poll: missing, but the grace has not passed (Alertmanager may just have restarted).
  expect(await reconcileSource(t.db, stages, source, opts, t0, { lapse })).toEqual({ ran: true, firing: 1, missing: 1,
    resolved: 0 });
  const marked = await t.db.selectFrom('alerts').select(['status', 'missing_since'])
    .where('fingerprint', '=', lostRow.fingerprint).executeTakeFirstOrThrow();
  expect(marked).toEqual({ status: 'firing', missing_since: t0 });
  // Within the interval, another process (or this one) does not poll again.
  expect(await reconcileSource(t.db, stages, source, opts, new Date(t0.getTime() + 1000))).toEqual({ ran: false });

  // A poll past the grace: still missing, resolved.
  const t1 = new Date(t0.getTime() + opts.graceMs);
  expect(await reconcileSource(t.db, stages, source, opts, t1, { lapse })).toEqual({ ran: true, firing: 1, missing: 1,
    resolved: 1 });
  const read = await alertsByFingerprint(t.db, [lostRow.fingerprint, keptRow.fingerprint]);
  expect(read.get(lostRow.fingerprint)).toEqual(expect.objectContaining({
    status: 'resolved', disposition: 'reconciled',
    disposition_detail: expect.objectContaining({ source: 'alertmanager', incident_id: incident.id,
      missing_since: t0.toISOString(), reason: expect.stringContaining('reconciliation') }),
  }));
  expect(read.get(lostRow.fingerprint)?.ends_at).toEqual(t1);
  expect(read.get(keptRow.fingerprint)?.status).toBe('firing');
  const after = await t.db.selectFrom('incidents').selectAll().where('id', '=', incident.id).executeTakeFirstOrThrow();
  expect(after.status).toBe('resolved');
  expect(after.resolved_by).toBe('auto');
  const timeline = await t.db.selectFrom('incident_events').select(['kind', 'actor', 'detail'])
    .where('incident_id', '=', incident.id).orderBy('id').execute();
  expect(timeline.map((e) => e.kind).slice(-3)).toEqual(['alerts_lapsed', 'alerts_resolved', 'resolved']);
  expect(timeline.at(-3)).toEqual({
    kind: 'alerts_lapsed', actor: 'quell',
    detail: { fingerprints: [lostRow.fingerprint], by: 'reconciliation',
      reason: expect.stringContaining('alertmanager no longer fires it') },
  });
  expect((await lapse.lapsed.get()).values).toEqual([expect.objectContaining({ labels: { source: 'alertmanager',
    by: 'reconciliation' }, value: 1 })]);

  // The resolve that was lost, sent late after all, changes nothing more.
  const late = await fetch(`${app.base}/ingest/alertmanager`, {
    method: 'POST', body: dropped[0], headers: { 'content-type': 'application/json',
      authorization: `Bearer ${TEST_INGEST_TOKEN}` },
  });
  expect(late.status).toBe(202);
}, 90_000);

test('an alert listed again is no longer missing; a poll that fails resolves nothing', async () => {
  const again = { alertname: 'Blip', service: 'blip', instance: 'b-1' };
  await postToAm([{ labels: again, annotations: {}, startsAt,
    endsAt: new Date(Date.now() + 3_600_000).toISOString() }]);
  const row = await waitFor(
    () => t.db.selectFrom('alerts').selectAll().where(sql<boolean>`labels->>'alertname' = 'Blip'`).executeTakeFirst(),
    30_000, 'Blip firing in Quell');
  await t.db.updateTable('alerts').set({ missing_since: new Date(Date.now() - 3_600_000) })
    .where('fingerprint', '=', row.fingerprint).execute();
  await t.db.deleteFrom('reconcile_runs').execute();
  const source: ReconcileSource = { connector: alertmanager, target: pollTarget({ url: am.url }) };
  const r = await reconcileSource(t.db, stages, source, opts, new Date(Date.now() + 10 * MINUTE));
  expect(r).toEqual(expect.objectContaining({ ran: true, resolved: 0 }));
  expect((await t.db.selectFrom('alerts').select(['status', 'missing_since']).where('fingerprint', '=', row.fingerprint)
    .executeTakeFirstOrThrow()))
    .toEqual({ status: 'firing', missing_since: null });

  // Nothing listens there: the poll throws, no run is recorded, nothing changes.
  await t.db.deleteFrom('reconcile_runs').execute();
  const down: ReconcileSource = { connector: alertmanager,
    target: pollTarget({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 2000 }) };
  await expect(reconcileSource(t.db, stages, down, { ...opts, graceMs: 0 }, new Date())).rejects.toThrow();
  expect(await t.db.selectFrom('reconcile_runs').selectAll().execute()).toEqual([]);
  expect((await t.db.selectFrom('alerts').select('status').where('fingerprint', '=', row.fingerprint)
    .executeTakeFirstOrThrow()).status).toBe('firing');
}, 60_000);

test('several processes at once: one polls, the others skip', async () => {
  await t.db.deleteFrom('reconcile_runs').execute();
  const source: ReconcileSource = { connector: alertmanager, target: pollTarget({ url: am.url }) };
  const now = new Date();
  const results = await Promise.all([1, 2, 3, 4].map(() => reconcileSource(t.db, stages, source, opts, now)));
  expect(results.filter((r) => r.ran)).toHaveLength(1);
  expect(results.filter((r) => !r.ran)).toHaveLength(3);
}, 30_000);

test('Zabbix: problems problem.get no longer lists resolve by their event id, whatever their labels', async () => {
  const problem = JSON.parse(readFileSync(join(__dirname, '../../connectors/zabbix/fixtures/problem.json'),
    'utf8')) as Record<string, unknown>;
  const now = new Date();
  const open = (eventId: string, host: string) => {
    const taken = intake(zabbix,
      { ...problem, event_id: eventId, host, started_at: new Date(now.getTime() - 60_000).toISOString() }, now, 3600);
    if (!taken.ok) throw new Error('refused');
    return taken.alerts[0]!;
  };
  const [gone, still] = [open('500001', 'zbx-a'), open('500002', 'zbx-b')];
  await apply([{ id: `zbx-${Date.now()}`, connector: 'zabbix', receivedAt: new Date(now.getTime() - 1000).toISOString(),
    alerts: [gone, still] }]);
  const api = await startRecordingServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ jsonrpc: '2.0', result: [{ eventid: '500002', name: 'renamed since' }], id: 1 }));
  });
  try {
    const source: ReconcileSource = { connector: zabbix, target: pollTarget({ url: api.base, token: 'zbx' }) };
    expect(await reconcileSource(t.db, stages, source, { ...opts, graceMs: 0 }, now))
      .toEqual({ ran: true, firing: 1, missing: 1, resolved: 1 });
    const read = await alertsByFingerprint(t.db, [gone.fingerprint, still.fingerprint]);
    expect(read.get(gone.fingerprint)).toEqual(expect.objectContaining({ status: 'resolved',
      disposition: 'reconciled' }));
    expect(read.get(still.fingerprint)?.status).toBe('firing');
    expect(api.requests[0]?.headers.authorization).toBe('Bearer zbx');
  } finally {
    await api.close();
  }
}, 30_000);
