import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import type { CanonicalAlert } from '../../src/domain/alert';
import { fingerprint } from '../../src/domain/fingerprint';
import type { IncidentEvent } from '../../src/domain/incident-event';
import type { RecordedOutbox } from '../../src/outbox/outbox-store';
import { buildPipeline } from '../../src/pipeline/pipeline';
import { createPipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import type { IngestJob } from '../../src/queue/ingest-queue';
import type { Runbook } from '../../src/runbooks/runbook';
import { createRunbookSet } from '../../src/runbooks/runbook-set';
import { createStillFiringCheck } from '../../src/runbooks/still-firing-check';
import { compileRuleText } from '../../src/rules/rule-loader';
import { commitIncidentEvents, type IncidentEventsDeps } from '../../src/store/incident-events-commit';
import { changeIncident } from '../../src/store/incident-store';
import { createJobsApplier } from '../../src/worker/job-processor';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { testRunbook } from '../support/runbooks';

/** Runs created by incident events, once each, in the transaction that made the events. */

const RULES = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: by-service
    matchers: ['service=~".+"']
    group_by: [service]
    group_window: 10m
`;

let t: TestDatabase;
let runbooks: Runbook[] = [];
const relayed: RecordedOutbox[] = [];
const deps: IncidentEventsDeps = { runbooks: () => createRunbookSet(runbooks), rulesVersion: () => 'v1',
  relay: (rows) => relayed.push(...rows) };
let apply: (jobs: readonly IngestJob[]) => Promise<void>;

beforeAll(async () => {
  t = await createTestDatabase();
  const metrics = createPipelineMetrics(new Registry());
  const rules = compileRuleText('rules.yaml', RULES);
  apply = createJobsApplier(t.db, buildPipeline({ rules: () => rules, metrics, incidentEvents: deps }), metrics);
});
afterAll(async () => { await t.drop(); });
beforeEach(() => { relayed.length = 0; });

const alert = (labels: Record<string, string>): CanonicalAlert => ({
  source: 'test', fingerprint: fingerprint('test', labels), status: 'firing', labels, annotations: {},
    startsAt: new Date().toISOString(), endsAt: null,
});
const job = (...alerts: CanonicalAlert[]): IngestJob => ({ id: randomUUID(), connector: 'test',
  receivedAt: new Date().toISOString(), alerts });
const incidentOf = async (service: string) => t.db.selectFrom('incidents').selectAll()
  .where('group_key', '=', `by-service:{service="${service}"}`).executeTakeFirstOrThrow();
const runsOf = (incidentId: number) => t.db.selectFrom('runbook_runs').selectAll().where('incident_id', '=', incidentId)
  .orderBy('id').execute();

test('an opened incident in scope gets one queued run, its outbox row and a timeline event; a redelivered job adds '
  + 'none', async () => {
  runbooks = [
    testRunbook('repair-web', [{ event: 'opened' }], { matchers: ['alertname="WebUnhealthy"'],
      rateLimit: { max: 5, perMs: 3_600_000, by: 'group' } }),
    testRunbook('other', [{ event: 'opened' }], { matchers: ['alertname="DiskFull"'] }),
  ];
  const j = job(alert({ alertname: 'WebUnhealthy', service: 'web1', instance: 'a' }));
  await apply([j]);
  const incident = await incidentOf('web1');
  const runs = await runsOf(incident.id);
  expect(runs).toHaveLength(1);
  expect(runs[0]).toMatchObject({
    runbook: 'repair-web', status: 'queued', trigger: 'opened', trigger_key: `repair-web|opened|${incident.id}`,
    target: `group:${incident.group_key}`, rules_version: 'v1', dry_run: false,
  });
  const outbox = await t.db.selectFrom('outbox').selectAll().where('job_id', '=', `run-${runs[0]!.id}`).execute();
  expect(outbox).toEqual([expect.objectContaining({ queue: 'runbook', payload: { id: `run-${runs[0]!.id}`,
    runId: runs[0]!.id }, relayed_at: null })]);
  expect(relayed.map((r) => r.job.id)).toEqual([`run-${runs[0]!.id}`]); // handed to the relay after commit
  const timeline = await t.db.selectFrom('incident_events').select(['kind', 'detail'])
    .where('incident_id', '=', incident.id).where('kind', '=', 'runbook').execute();
  expect(timeline).toEqual([{ kind: 'runbook', detail: { run_id: runs[0]!.id, runbook: 'repair-web', status: 'queued',
    reason: 'triggered by opened' } }]);

  relayed.length = 0;
  await apply([j]); // the same ingest job delivered again
  expect(await runsOf(incident.id)).toHaveLength(1);
  expect(relayed).toHaveLength(0);
});

test('the same events committed twice create each once-per-incident run once', async () => {
  runbooks = [testRunbook('on-open', [{ event: 'opened' }]), testRunbook('on-p2',
    [{ event: 'priority', atOrAbove: 2 }])];
  await apply([job(alert({ alertname: 'X', service: 'twice', severity: 'critical' }))]);
  const incident = await incidentOf('twice');
  expect((await runsOf(incident.id)).map((r) => r.runbook).sort()).toEqual(['on-open', 'on-p2']);
  const events: IncidentEvent[] = [
    { kind: 'opened', incidentId: incident.id, rule: 'by-service', groupKey: incident.group_key, title: 't',
      priority: incident.priority, fingerprints: [] },
    { kind: 'priority_changed', incidentId: incident.id, by: 'x', priority: 1, previous: incident.priority },
  ];
  for (let i = 0; i < 2; i++) {
    const outbox = await t.db.transaction().execute((trx) => commitIncidentEvents(trx, events, deps));
    expect(outbox).toEqual([]);
  }
  expect(await runsOf(incident.id)).toHaveLength(2);
});

test('acknowledge and resolve through the API path start their runbooks in the same transaction', async () => {
  runbooks = [testRunbook('on-ack', [{ event: 'acknowledged' }]), testRunbook('on-resolve', [{ event: 'resolved' }],
    { matchers: ['service="api1"'] })];
  await apply([job(alert({ alertname: 'Y', service: 'api1' }))]);
  const incident = await incidentOf('api1');
  expect(await changeIncident(t.db, incident.id, 'acknowledge', 'alice', undefined, deps)).toMatchObject({ ok: true });
  expect(await changeIncident(t.db, incident.id, 'resolve', 'alice', 'done', deps)).toMatchObject({ ok: true });
  const runs = await runsOf(incident.id);
  expect(runs.map((r) => [r.runbook, r.trigger])).toEqual([['on-ack', 'acknowledged'], ['on-resolve', 'resolved']]);
  expect(relayed.map((r) => r.job.id)).toEqual(runs.map((r) => `run-${r.id}`));
  // A conflicting change (already resolved) records nothing.
  expect(await changeIncident(t.db, incident.id, 'acknowledge', 'alice', undefined, deps)).toMatchObject({ ok: false });
  expect(await runsOf(incident.id)).toHaveLength(2);
});

test('CI matchers read the bound CIs of the topology in force', async () => {
  runbooks = [testRunbook('svc-only', [{ event: 'alerts_linked' }], { ciMatchers: ['type="service"'] })];
  await apply([job(alert({ alertname: 'Z', service: 'ci1', instance: '1' }))]);
  const incident = await incidentOf('ci1');
  await t.db.updateTable('cmdb_meta').set({ version: 5 }).where('id', '=', 1).execute();
  await t.db.insertInto('cmdb_cis').values([
    { version: 5, ord: 0, id: 'web-svc', type: 'service', labels: JSON.stringify({ type: 'service' }) },
    { version: 4, ord: 0, id: 'old', type: 'service', labels: JSON.stringify({ type: 'service' }) },
  ]).execute();
  await t.db.updateTable('incidents').set({ cis: ['old'] }).where('id', '=', incident.id).execute();
  const linked: IncidentEvent = { kind: 'alerts_linked', incidentId: incident.id, fingerprints: ['f'] };
  await t.db.transaction().execute((trx) => commitIncidentEvents(trx, [linked], deps));
  expect(await runsOf(incident.id)).toHaveLength(0); // 'old' is not in the version in force
  await t.db.updateTable('incidents').set({ cis: ['old', 'web-svc'] }).where('id', '=', incident.id).execute();
  await t.db.transaction().execute((trx) => commitIncidentEvents(trx, [linked], deps));
  expect((await runsOf(incident.id)).map((r) => r.runbook)).toEqual(['svc-only']);
});

test('still_firing: incidents active `after` their opening get one run, however many checks run', async () => {
  runbooks = [testRunbook('still', [{ event: 'still_firing', afterMs: 60_000 }], { matchers: ['alertname="Slow"'] })];
  await apply([job(alert({ alertname: 'Slow', service: 'sf1' }))]);
  await apply([job(alert({ alertname: 'Fast', service: 'sf2' }))]);
  const slow = await incidentOf('sf1');
  const fast = await incidentOf('sf2');
  const early = createStillFiringCheck(t.db, deps);
  expect(await early()).toBe(0); // not a minute old yet
  const later = () => new Date(Date.now() + 61_000);
  const checks = [createStillFiringCheck(t.db, deps, later), createStillFiringCheck(t.db, deps, later),
    createStillFiringCheck(t.db, deps, later)];
  const created = await Promise.all(checks.map((c) => c().catch(() => 0)));
  expect(created.reduce((a, b) => a + b, 0)).toBe(1);
  expect((await runsOf(slow.id)).map((r) => [r.runbook, r.trigger, r.trigger_key]))
    .toEqual([['still', 'still_firing:60000', `still|still_firing:60000|${slow.id}`]]);
  expect(await runsOf(fast.id)).toHaveLength(0); // out of scope
  expect(await checks[0]!()).toBe(0);
  // A resolved incident is not still firing.
  await changeIncident(t.db, fast.id, 'resolve', 'bob');
  runbooks = [testRunbook('still-any', [{ event: 'still_firing', afterMs: 60_000 }])];
  expect(await createStillFiringCheck(t.db, deps, later)()).toBeGreaterThanOrEqual(1);
  expect(await runsOf(fast.id)).toHaveLength(0);
});

test('with no runbook, incident events only write the timeline', async () => {
  runbooks = [];
  await apply([job(alert({ alertname: 'N', service: 'none1' }))]);
  const incident = await incidentOf('none1');
  expect(await runsOf(incident.id)).toHaveLength(0);
  expect(relayed).toHaveLength(0);
  expect(await t.db.selectFrom('incident_events').select('kind').where('incident_id', '=', incident.id).execute())
    .toEqual([{ kind: 'opened' }]);
});
