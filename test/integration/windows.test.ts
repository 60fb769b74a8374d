import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { readIncidentDetail } from '../../src/api/incident-detail';
import type { CanonicalAlert } from '../../src/domain/alert';
import { fingerprint } from '../../src/domain/fingerprint';
import { buildPipeline } from '../../src/pipeline/pipeline';
import { createPipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import type { IngestJob } from '../../src/queue/ingest-queue';
import { compileRuleText } from '../../src/rules/rule-loader';
import { listIncidents } from '../../src/store/incident-queries';
import { prunePendingAlerts } from '../../src/store/pending-alert-store';
import { changeIncident } from '../../src/store/incident-store';
import { createJobProcessor, createPipelineTick } from '../../src/worker/job-processor';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * Windows, min_alerts, reopening and flapping through the whole pipeline on PostgreSQL. Time
 * is the test's: alerts carry their own start times, and Quell's clock (reopening, flapping)
 * is the job processor's `clock`, set before each job. Nothing sleeps.
 */
const RULES = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: sliding
    matchers: ['scenario="sliding"']
    group_by: [service]
    group_window: 10m
  - name: fixed
    matchers: ['scenario="fixed"']
    group_by: [service]
    group_window: 10m
    window: fixed
  - name: min3
    matchers: ['scenario="min"']
    group_by: [service]
    group_window: 10m
    min_alerts: 3
  - name: reopen
    matchers: ['scenario="reopen"']
    group_by: [service]
    reopen_within: 15m
  - name: flap
    matchers: ['scenario="flap"']
    group_by: [service]
    flapping: {changes: 4, window: 10m}
`;

let t: TestDatabase;
let clock = new Date('2026-11-20T10:00:00Z');
let apply: (job: IngestJob) => Promise<void>;
let tick: () => Promise<void>;

beforeAll(async () => {
  t = await createTestDatabase();
  const metrics = createPipelineMetrics(new Registry());
  const rules = compileRuleText('rules.yaml', RULES);
  const stages = buildPipeline({ rules: () => rules, metrics });
  apply = createJobProcessor(t.db, stages, metrics, { clock: () => clock });
  tick = createPipelineTick(t.db, stages, () => clock);
});
afterAll(async () => { await t.drop(); });

const time = (hhmm: string): string => `2026-11-20T${hhmm}:00.000Z`;
const firing = (labels: Record<string, string>, startsAt: string): CanonicalAlert => ({
  source: 'test', fingerprint: fingerprint('test', labels), status: 'firing', labels, annotations: {},
  startsAt, endsAt: null,
});
const resolved = (a: CanonicalAlert, endsAt: string): CanonicalAlert => ({ ...a, status: 'resolved', endsAt });
/** Applies the alerts as one job at Quell's time `hhmm`. */
async function at(hhmm: string, ...alerts: CanonicalAlert[]): Promise<void> {
  clock = new Date(time(hhmm));
  await apply({ id: randomUUID(), connector: 'test', receivedAt: clock.toISOString(), alerts });
}
const incidentsOf = async (rule: string, service: string) =>
  (await listIncidents(t.db)).filter((i) => i.group_key === `${rule}:{service="${service}"}`).reverse();
const detail = (id: number) => readIncidentDetail(t.db, id, { maxBytes: 1024 * 1024 });
const kinds = async (id: number) => (await detail(id))!.timeline.map((e) => e.kind);
const pendingOf = (service: string) => t.db.selectFrom('pending_alerts').selectAll()
  .where('group_key', '=', `min3:{service="${service}"}`).orderBy('starts_at').execute();

test('a fixed window splits the alerts that a sliding window keeps together', async () => {
  for (const scenario of ['sliding', 'fixed']) {
    for (const [i, start] of ['10:00', '10:08', '10:16'].entries()) {
      await at(start, firing({ scenario, service: 'web', instance: String(i) }, time(start)));
    }
  }
  expect((await incidentsOf('sliding', 'web')).map((i) => [i.alert_count, i.status])).toEqual([[3, 'open']]);
  const fixed = await incidentsOf('fixed', 'web');
  expect(fixed.map((i) => [i.alert_count, i.status])).toEqual([[2, 'open'], [1, 'open']]);
  expect(await kinds(fixed[0]!.id)).toEqual(['opened', 'alerts_linked', 'grouping_closed']);
  const row = await t.db.selectFrom('incidents').select(['window_kind', 'grouping_until', 'grouping_open'])
    .where('id', '=', fixed[1]!.id).executeTakeFirstOrThrow();
  expect(row).toEqual({ window_kind: 'fixed', grouping_until: new Date(time('10:26')), grouping_open: true });
});

test('min_alerts keeps alerts pending, linked to nothing, then opens the incident with all of them', async () => {
  const a = firing({ scenario: 'min', service: 'db', instance: '1' }, time('10:00'));
  const b = firing({ scenario: 'min', service: 'db', instance: '2' }, time('10:02'));
  const c = firing({ scenario: 'min', service: 'db', instance: '3' }, time('10:04'));
  await at('10:00', a);
  await at('10:02', b);
  expect(await incidentsOf('min3', 'db')).toEqual([]);
  // Stored and visible: the alerts, and why they have no incident yet.
  expect((await pendingOf('db')).map((p) => [p.fingerprint, p.expired, p.title]))
    .toEqual([[a.fingerprint, false, 'alert (service=db)'], [b.fingerprint, false, 'alert (service=db)']]);
  const linked = t.db.selectFrom('incident_alerts').select('fingerprint')
    .where('fingerprint', 'in', [a.fingerprint, b.fingerprint]);
  expect(await linked.execute()).toEqual([]);
  const stored = t.db.selectFrom('alerts').select('status').where('fingerprint', '=', a.fingerprint);
  expect(await stored.executeTakeFirst()).toEqual({ status: 'firing' });

  await at('10:04', c);
  const [incident, ...more] = await incidentsOf('min3', 'db');
  expect(more).toEqual([]);
  expect(incident).toMatchObject({ status: 'open', alert_count: 3, first_alert_at: new Date(time('10:00')) });
  const d = await detail(incident!.id);
  const fingerprints = [a.fingerprint, b.fingerprint, c.fingerprint];
  expect(d!.timeline[0]).toMatchObject({ kind: 'opened', detail: { fingerprints } });
  expect(await pendingOf('db')).toEqual([]);

  // Then the group's next alert joins at once.
  await at('10:05', firing({ scenario: 'min', service: 'db', instance: '4' }, time('10:05')));
  expect((await incidentsOf('min3', 'db')).map((i) => i.alert_count)).toEqual([4]);
});

test('resolves never open an incident: a pending alert that resolves stops counting', async () => {
  const a = firing({ scenario: 'min', service: 'cache', instance: '1' }, time('10:00'));
  await at('10:00', a);
  await at('10:01', resolved(a, time('10:01')));
  expect(await pendingOf('cache')).toEqual([]);
  await at('10:02', firing({ scenario: 'min', service: 'cache', instance: '2' }, time('10:02')));
  await at('10:03', firing({ scenario: 'min', service: 'cache', instance: '3' }, time('10:03')));
  expect(await incidentsOf('min3', 'cache')).toEqual([]);
  expect((await pendingOf('cache')).length).toBe(2);
});

test('pending alerts whose window passes short of min_alerts expire and open nothing', async () => {
  await at('10:00', firing({ scenario: 'min', service: 'queue', instance: '1' }, time('10:00')));
  await at('10:05', firing({ scenario: 'min', service: 'queue', instance: '2' }, time('10:05')));
  await at('10:20', firing({ scenario: 'min', service: 'queue', instance: '3' }, time('10:20')));
  expect(await incidentsOf('min3', 'queue')).toEqual([]);
  expect((await pendingOf('queue')).map((p) => p.expired)).toEqual([true, true, false]);

  // Resolved, an expired alert's row goes; one whose alert fired anew elsewhere is pruned.
  const [first, second] = await pendingOf('queue');
  const labels = { scenario: 'min', service: 'queue', instance: '1' };
  await at('10:21', resolved(firing(labels, time('10:00')), time('10:21')));
  expect((await pendingOf('queue')).map((p) => p.fingerprint)).not.toContain(first!.fingerprint);
  await t.db.updateTable('alerts').set({ starts_at: time('10:30') })
    .where('fingerprint', '=', second!.fingerprint).execute();
  expect(await prunePendingAlerts(t.db)).toBe(1);
  expect(await pendingOf('queue')).toHaveLength(1);
});

test('a group firing within reopen_within reopens its incident; later, or resolved by hand, a new one', async () => {
  const a = firing({ scenario: 'reopen', service: 'api', instance: '1' }, time('10:00'));
  await at('10:00', a);
  await at('10:05', resolved(a, time('10:05')));
  const [first] = await incidentsOf('reopen', 'api');
  expect(first).toMatchObject({ status: 'resolved', resolved_at: new Date(time('10:05')) });

  // 15 minutes after Quell resolved it: within reopen_within.
  await at('10:20', firing(a.labels, time('10:19')));
  let all = await incidentsOf('reopen', 'api');
  expect(all.map((i) => [i.id, i.status, i.alert_count, i.resolved_at])).toEqual([[first!.id, 'open', 2, null]]);
  expect(await kinds(first!.id)).toEqual(['opened', 'alerts_resolved', 'resolved', 'reopened']);
  expect((await detail(first!.id))!.timeline[3])
    .toMatchObject({ actor: 'quell', detail: { reason: 'the group fired again within reopen_within' } });

  // Resolved again; back 16 minutes later: a new incident.
  await at('10:25', resolved(firing(a.labels, time('10:19')), time('10:25')));
  await at('10:41', firing(a.labels, time('10:40')));
  all = await incidentsOf('reopen', 'api');
  expect(all.map((i) => i.status)).toEqual(['resolved', 'open']);

  // Resolved by a person: never reopened.
  expect(await changeIncident(t.db, all[1]!.id, 'resolve', 'alice')).toMatchObject({ ok: true });
  await at('10:42', firing({ ...a.labels, instance: '2' }, time('10:42')));
  expect((await incidentsOf('reopen', 'api')).map((i) => i.status)).toEqual(['resolved', 'resolved', 'open']);
});

test('a flapping alert makes one incident, noted on its timeline, until it settles', async () => {
  const labels = { scenario: 'flap', service: 'link', instance: 'sw1' };
  const fire = (hhmm: string) => firing(labels, time(hhmm));
  await at('10:00', fire('10:00'));
  await at('10:01', resolved(fire('10:00'), time('10:01')));
  // Back within its flapping window: its incident reopens (a bounce), no second incident.
  await at('10:02', fire('10:02'));
  // The fourth change within 10 minutes: flapping. Its resolves no longer resolve the incident.
  await at('10:03', resolved(fire('10:02'), time('10:03')));
  const flapping = await t.db.selectFrom('alert_flapping').select(['flapping', 'flapping_since'])
    .where('fingerprint', '=', fire('10:00').fingerprint).executeTakeFirstOrThrow();
  expect(flapping).toEqual({ flapping: true, flapping_since: new Date(time('10:03')) });
  for (const [on, off] of [['10:04', '10:05'], ['10:06', '10:07']] as const) {
    await at(on, fire(on));
    await at(off, resolved(fire(on), time(off)));
  }
  let [incident, ...more] = await incidentsOf('flap', 'link');
  expect(more).toEqual([]);
  expect(incident).toMatchObject({ status: 'open', alert_count: 4 });

  // Quiet: it settles a whole window after its last change, on a tick as on any job.
  clock = new Date(time('10:16'));
  await tick();
  expect((await incidentsOf('flap', 'link'))[0]!.status).toBe('open');
  clock = new Date(time('10:17'));
  await tick();
  [incident, ...more] = await incidentsOf('flap', 'link');
  expect(more).toEqual([]);
  expect(incident).toMatchObject({ status: 'resolved', alert_count: 4 });
  expect(await kinds(incident!.id)).toEqual([
    'opened', 'alerts_resolved', 'resolved', 'reopened', 'alerts_resolved', 'flapping',
    'alerts_linked', 'alerts_resolved', 'alerts_linked', 'alerts_resolved', 'settled', 'resolved',
  ]);
  const timeline = (await detail(incident!.id))!.timeline;
  expect(timeline[5]!.detail).toEqual({ fingerprint: fire('10:00').fingerprint, changes: 4, window_seconds: 600 });
  const history = t.db.selectFrom('alert_state_changes').select('status')
    .where('fingerprint', '=', fire('10:00').fingerprint);
  // Eight changes: seven recorded, the latest (its resolve) kept on the tracking row.
  expect(await history.execute()).toHaveLength(7);
  expect(await t.db.selectFrom('alert_flapping').select(['flapping', 'last_status'])
    .where('fingerprint', '=', fire('10:00').fingerprint).executeTakeFirstOrThrow())
    .toEqual({ flapping: false, last_status: 'resolved' });
});

test('a flapping alert that settles while firing leaves its incident open until it resolves', async () => {
  const labels = { scenario: 'flap', service: 'disk', instance: 'h1' };
  const fire = (hhmm: string) => firing(labels, time(hhmm));
  for (const [on, off] of [['10:00', '10:01'], ['10:02', '10:03']] as const) {
    await at(on, fire(on));
    await at(off, resolved(fire(on), time(off)));
  }
  await at('10:04', fire('10:04'));
  clock = new Date(time('10:20'));
  await tick();
  const [incident] = await incidentsOf('flap', 'disk');
  expect(incident!.status).toBe('open');
  expect((await kinds(incident!.id)).slice(-1)).toEqual(['settled']);
  await at('10:21', resolved(fire('10:04'), time('10:21')));
  expect((await incidentsOf('flap', 'disk')).map((i) => i.status)).toEqual(['resolved']);
});

test('flapping counts the alerts\' own times: bounces hours apart, replayed in a minute, are no flapping', async () => {
  const labels = { scenario: 'flap', service: 'replay', instance: 'h2' };
  const fire = (hhmm: string) => firing(labels, time(hhmm));
  // Five hours of bounces two hours apart, all applied at 11:00 (a replay, a backlog).
  for (const [on, off] of [['02:00', '02:05'], ['04:00', '04:05']] as const) {
    await at('11:00', fire(on));
    await at('11:00', resolved(fire(on), time(off)));
  }
  await at('11:00', fire('06:00'));
  const row = await t.db.selectFrom('alert_flapping').select(['flapping', 'last_event_at', 'last_change_at'])
    .where('fingerprint', '=', fire('02:00').fingerprint).executeTakeFirstOrThrow();
  expect(row).toEqual({ flapping: false, last_event_at: new Date(time('06:00')),
    last_change_at: new Date(time('11:00')) });
  // Each episode its own incident: none came back within the window of the one before.
  expect((await incidentsOf('flap', 'replay')).map((i) => [i.alert_count, i.status]))
    .toEqual([[1, 'resolved'], [1, 'resolved'], [1, 'open']]);
});

test('bounces a minute apart, delivered late and spread out, are flapping; the tick settles on Quell\'s clock',
  async () => {
  const labels = { scenario: 'flap', service: 'late', instance: 'h3' };
  const fire = (hhmm: string) => firing(labels, time(hhmm));
  // Applied six minutes apart: on Quell's clock only two changes within any 10 minutes.
  await at('12:00', fire('12:00'));
  await at('12:06', resolved(fire('12:00'), time('12:01')));
  await at('12:12', fire('12:02'));
  await at('12:18', resolved(fire('12:02'), time('12:03')));
  const flapping = () => t.db.selectFrom('alert_flapping').select(['flapping', 'flapping_since'])
    .where('fingerprint', '=', fire('12:00').fingerprint).executeTakeFirstOrThrow();
  expect(await flapping()).toEqual({ flapping: true, flapping_since: new Date(time('12:03')) });
  const [incident, ...more] = await incidentsOf('flap', 'late');
  expect(more).toEqual([]);
  expect(incident).toMatchObject({ status: 'open', alert_count: 2 });

  // No change comes: the tick, which knows no event time, waits a window from 12:18, when
  // Quell applied the latest change (not from 12:03, when it happened).
  clock = new Date(time('12:27'));
  await tick();
  expect((await flapping()).flapping).toBe(true);
  clock = new Date(time('12:28'));
  await tick();
  expect(await flapping()).toEqual({ flapping: false, flapping_since: null });
  expect((await incidentsOf('flap', 'late')).map((i) => i.status)).toEqual(['resolved']);
});

test('an alert tracked before migration 0016 (its latest change in the history) flaps on as before', async () => {
  const labels = { scenario: 'flap', service: 'legacy', instance: 'h1' };
  const fire = (hhmm: string) => firing(labels, time(hhmm));
  const fp = fire('10:00').fingerprint;
  await at('10:00', fire('10:00'));
  await at('10:01', resolved(fire('10:00'), time('10:01')));
  await at('10:02', fire('10:02'));
  // As a row written before 0016 is: every change in the history, none kept on the row.
  const row = await t.db.selectFrom('alert_flapping').selectAll().where('fingerprint', '=', fp)
    .executeTakeFirstOrThrow();
  expect(row.last_status).toBe('firing');
  await t.db.insertInto('alert_state_changes')
    .values({ fingerprint: fp, status: 'firing', at: row.last_change_at, event_at: row.last_event_at }).execute();
  await t.db.updateTable('alert_flapping').set({ last_status: null }).where('fingerprint', '=', fp).execute();

  // The fourth change in 10 minutes: flapping, counting the three before it once each.
  await at('10:03', resolved(fire('10:02'), time('10:03')));
  const [incident, ...more] = await incidentsOf('flap', 'legacy');
  expect(more).toEqual([]);
  expect((await kinds(incident!.id))).toContain('flapping');
  const history = await t.db.selectFrom('alert_state_changes').select('event_at').where('fingerprint', '=', fp)
    .orderBy('event_at').execute();
  expect(history.map((h) => h.event_at.toISOString())).toEqual([time('10:00'), time('10:01'), time('10:02')]);
});
