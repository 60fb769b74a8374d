import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import type { CanonicalAlert } from '../../src/domain/alert';
import { fingerprint } from '../../src/domain/fingerprint';
import { buildPipeline } from '../../src/pipeline/pipeline';
import { createPipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import { compileRuleText } from '../../src/rules/rule-loader';
import { changeIncident } from '../../src/store/incident-store';
import { listIncidents } from '../../src/store/incident-queries';
import { readIncidentDetail } from '../../src/api/incident-detail';
import { createJobProcessor } from '../../src/worker/job-processor';
import { pruneProcessedJobs } from '../../src/worker/maintenance';
import { PermanentJobError, type IngestJob } from '../../src/queue/ingest-queue';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

const RULES = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: by-service
    matchers: ['service=~".+"']
    group_by: [service]
    group_window: 10m
`;

let t: TestDatabase;
let apply: (job: IngestJob) => Promise<void>;
let metrics: ReturnType<typeof createPipelineMetrics>;

beforeAll(async () => {
  t = await createTestDatabase();
  metrics = createPipelineMetrics(new Registry());
  const rules = compileRuleText('rules.yaml', RULES);
  apply = createJobProcessor(t.db, buildPipeline({ rules: () => rules, metrics }), metrics);
});
afterAll(async () => { await t.drop(); });

const alert = (
  labels: Record<string, string>, status: 'firing' | 'resolved', startsAt: string, endsAt: string | null = null,
): CanonicalAlert => ({
  source: 'test', fingerprint: fingerprint('test', labels), status, labels, annotations: {}, startsAt, endsAt,
});
const job = (...alerts: CanonicalAlert[]): IngestJob => ({ id: randomUUID(), connector: 'test',
  receivedAt: new Date().toISOString(), alerts });
/** An incident as the API shows it (these incidents are small: every alert is on the first page). */
const getIncident = (db: typeof t.db, id: number) => readIncidentDetail(db, id, { maxBytes: 1024 * 1024 });
const incidentsOf = async (service: string) => (await listIncidents(t.db))
  .filter((i) => i.group_key === `by-service:{service="${service}"}`).reverse();

test('a re-sent alert is one alert: occurrences and last-seen go up, the incident keeps one alert', async () => {
  const a = alert({ alertname: 'A', service: 'dup', instance: '1' }, 'firing', '2026-11-20T10:00:00Z');
  await apply(job(a));
  const before = await t.db.selectFrom('alerts').selectAll().where('fingerprint', '=', a.fingerprint)
    .executeTakeFirstOrThrow();
  await new Promise((r) => setTimeout(r, 5));
  await apply(job(a));
  const after = await t.db.selectFrom('alerts').selectAll().where('fingerprint', '=', a.fingerprint)
    .executeTakeFirstOrThrow();
  expect(after.occurrences).toBe(2);
  expect(after.last_seen_at.getTime()).toBeGreaterThan(before.last_seen_at.getTime());
  expect(after.first_seen_at).toEqual(before.first_seen_at);
  const [incident, ...more] = await incidentsOf('dup');
  expect(more).toHaveLength(0);
  expect(incident).toMatchObject({ status: 'open', alert_count: 1 });
});

test('alerts of one group join one incident, which resolves when all its alerts have', async () => {
  const a1 = alert({ alertname: 'A', service: 'web', instance: '1', severity: 'critical' }, 'firing',
    '2026-11-20T10:00:00Z');
  const a2 = alert({ alertname: 'B', service: 'web', instance: '2', severity: 'warning' }, 'firing',
    '2026-11-20T10:01:00Z');
  await apply(job(a1));
  await apply(job(a2));
  let [incident] = await incidentsOf('web');
  expect(incident).toMatchObject({ status: 'open', alert_count: 2, priority: 2 });

  await apply(job({ ...a1, status: 'resolved', endsAt: '2026-11-20T10:05:00Z' }));
  [incident] = await incidentsOf('web');
  expect(incident!.status).toBe('open');

  await apply(job({ ...a2, status: 'resolved', endsAt: '2026-11-20T10:06:00Z' }));
  const detail = await getIncident(t.db, incident!.id);
  expect(detail).toMatchObject({ status: 'resolved' });
  expect(detail!.resolved_at).toBeInstanceOf(Date);
  expect(detail!.alerts.map((x) => x.status)).toEqual(['resolved', 'resolved']);
  expect(detail!.timeline.map((e) => e.kind)).toEqual(['opened', 'alerts_linked', 'alerts_resolved', 'alerts_resolved',
    'resolved']);
  expect(detail!.timeline[0]!.detail).toMatchObject({ rule: 'by-service', fingerprints: [a1.fingerprint] });

  // Firing again after the resolve: a new episode, a new incident.
  await apply(job({ ...a1, startsAt: '2026-11-20T11:00:00Z' }));
  const all = await incidentsOf('web');
  expect(all.map((i) => i.status)).toEqual(['resolved', 'open']);
  expect(all[1]!.alert_count).toBe(1);
});

test('a stale firing delivered after its resolve reopens nothing', async () => {
  const a = alert({ alertname: 'A', service: 'late', instance: '1' }, 'firing', '2026-11-20T10:00:00Z');
  await apply(job(a));
  await apply(job({ ...a, status: 'resolved', endsAt: '2026-11-20T10:05:00Z' }));
  const staleBefore = (await metrics.stale.get()).values[0]!.value;
  await apply(job(a)); // Alertmanager's retry of the old firing notification, delivered late
  expect((await incidentsOf('late')).map((i) => i.status)).toEqual(['resolved']);
  expect((await metrics.stale.get()).values[0]!.value).toBe(staleBefore + 1);
});

test('a resolve that overtakes its firing opens no incident', async () => {
  const a = alert({ alertname: 'A', service: 'overtaken', instance: '1' }, 'firing', '2026-11-20T10:00:00Z');
  await apply(job({ ...a, status: 'resolved', endsAt: '2026-11-20T10:05:00Z' }));
  await apply(job(a));
  expect(await incidentsOf('overtaken')).toHaveLength(0);
  const row = await t.db.selectFrom('alerts').select(['status']).where('fingerprint', '=', a.fingerprint)
    .executeTakeFirstOrThrow();
  expect(row.status).toBe('resolved');
});

test('an alert after the group window opens a new incident; the old one stops grouping', async () => {
  await apply(job(alert({ alertname: 'A', service: 'window', instance: '1' }, 'firing', '2026-11-20T10:00:00Z')));
  await apply(job(alert({ alertname: 'A', service: 'window', instance: '2' }, 'firing', '2026-11-20T10:09:00Z')));
  await apply(job(alert({ alertname: 'A', service: 'window', instance: '3' }, 'firing', '2026-11-20T10:30:00Z')));
  const [first, second] = await incidentsOf('window');
  expect(first).toMatchObject({ alert_count: 2, status: 'open' });
  expect(second).toMatchObject({ alert_count: 1, status: 'open' });
  const timeline = (await getIncident(t.db, first!.id))!.timeline.map((e) => e.kind);
  expect(timeline).toContain('grouping_closed');
});

test('a job delivered twice is applied once', async () => {
  const j = job(alert({ alertname: 'A', service: 'twice', instance: '1' }, 'firing', '2026-11-20T10:00:00Z'));
  await apply(j);
  await apply(j);
  const row = await t.db.selectFrom('alerts').select('occurrences').where('fingerprint', '=', j.alerts[0]!.fingerprint)
    .executeTakeFirstOrThrow();
  expect(row.occurrences).toBe(1);
});

test('an acknowledged incident still groups; a manually resolved one does not', async () => {
  await apply(job(alert({ alertname: 'A', service: 'manual', instance: '1' }, 'firing', '2026-11-20T10:00:00Z')));
  const [incident] = await incidentsOf('manual');
  expect(await changeIncident(t.db, incident!.id, 'acknowledge', 'alice')).toMatchObject({ ok: true,
    incident: { status: 'acknowledged' } });
  await apply(job(alert({ alertname: 'A', service: 'manual', instance: '2' }, 'firing', '2026-11-20T10:01:00Z')));
  expect((await incidentsOf('manual')).map((i) => [i.status, i.alert_count])).toEqual([['acknowledged', 2]]);

  expect(await changeIncident(t.db, incident!.id, 'resolve', 'alice', 'fixed by hand')).toMatchObject({ ok: true });
  expect(await changeIncident(t.db, incident!.id, 'acknowledge', 'alice')).toEqual({ ok: false, reason: 'conflict',
    status: 'resolved' });
  await apply(job(alert({ alertname: 'A', service: 'manual', instance: '3' }, 'firing', '2026-11-20T10:02:00Z')));
  expect((await incidentsOf('manual')).map((i) => [i.status, i.alert_count])).toEqual([['resolved', 2], ['open', 1]]);
  const timeline = (await getIncident(t.db, incident!.id))!.timeline;
  expect(timeline.filter((e) => e.actor === 'alice').map((e) => [e.kind, e.detail]))
    .toEqual([['acknowledged', {}], ['resolved', { comment: 'fixed by hand' }]]);
});

test('alerts no rule takes are stored but open nothing', async () => {
  const a = alert({ alertname: 'NoService', instance: '1' }, 'firing', '2026-11-20T10:00:00Z');
  await apply(job(a));
  expect(await t.db.selectFrom('alerts').select('status').where('fingerprint', '=', a.fingerprint).executeTakeFirst())
    .toEqual({ status: 'firing' });
  expect(await t.db.selectFrom('incident_alerts').select('incident_id')
    .where('fingerprint', '=', a.fingerprint).execute()).toEqual([]);
});

test('processed job ids are forgotten after the retention, not before', async () => {
  await t.db.insertInto('processed_jobs').values([{ id: 'old-job' }, { id: 'new-job' }]).execute();
  await t.db.updateTable('processed_jobs').set({ processed_at: new Date(Date.now() - 49 * 3600_000) })
    .where('id', '=', 'old-job').execute();
  expect(await pruneProcessedJobs(t.db)).toBe(1);
  const left = await t.db.selectFrom('processed_jobs').select('id').where('id', 'in', ['old-job', 'new-job']).execute();
  expect(left).toEqual([{ id: 'new-job' }]);
});

test('group commit: concurrent jobs share transactions, and a bad job fails only itself', async () => {
  const batched = createJobProcessor(t.db, buildPipeline({ rules: () => compileRuleText('rules.yaml', RULES),
    metrics }), metrics, { transactions: 1 });
  const jobs = Array.from({ length: 20 }, (_, i) => job(alert({ alertname: 'G', service: 'group-commit',
    instance: String(i) }, 'firing', '2026-11-20T10:00:00Z')));
  const bad = job({ ...alert({ alertname: 'G', service: 'group-commit', instance: 'bad' }, 'firing', 'not a time') });
  const appliedBefore = (await metrics.jobs.get()).values.find((v) => v.labels.result === 'applied')?.value ?? 0;
  const results = await Promise.allSettled([...jobs.slice(0, 10), bad, ...jobs.slice(10)].map((j) => batched(j)));
  expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
  expect(results[10]!.status).toBe('rejected');
  expect((results[10] as PromiseRejectedResult).reason).toBeInstanceOf(PermanentJobError); // not worth a retry
  const [incident, ...more] = await incidentsOf('group-commit');
  expect(more).toHaveLength(0);
  expect(incident!.alert_count).toBe(20);
  const appliedAfter = (await metrics.jobs.get()).values.find((v) => v.labels.result === 'applied')!.value;
  expect(appliedAfter - appliedBefore).toBe(20);
});

test('hostile labels are data: stored verbatim, never evaluated, and cannot forge a group', async () => {
  const hostile = {
    alertname: '{{ template "x" . }} $(rm -rf /) `id`',
    service: 'evil",service="web',
    instance: "'; drop table incidents; --",
    note: '\u202e\ud83d\udd25 <script>alert(1)</script> \\u0000',
  };
  const a = alert(hostile, 'firing', '2026-11-20T10:00:00Z');
  await apply(job(a));
  const incident = (await listIncidents(t.db)).find((i) => i.group_key.startsWith('by-service:{service="evil'))!;
  expect(incident.group_key).toBe(`by-service:{service=${JSON.stringify(hostile.service)}}`);
  expect(incident.title).toBe(`${hostile.alertname} (service=${hostile.service})`);
  const detail = await getIncident(t.db, incident.id);
  expect(detail!.alerts[0]!.labels).toEqual(hostile);
  // The "web" group was not joined by the forged value.
  expect((await incidentsOf('web')).every((i) => i.alert_count <= 2)).toBe(true);
  expect(await t.db.selectFrom('incidents').select('id').limit(1).execute()).toHaveLength(1);
});

/** Characters that do not compress, so PostgreSQL stores them at full width: `n` CJK ideographs are 3n bytes. */
const cjk = (n: number, seed: number): string =>
  Array.from({ length: n }, (_, i) => String.fromCodePoint(0x4e00 + ((i * 7919 + seed * 104729) % 20000))).join('');

test('a group key short in characters but long in bytes still opens an incident (hashed, not over the index)',
  async () => {
  // by-service:{service="…"}: 1,023 characters, under the old limit of 1,024, but over 3,000 bytes.
  const a = alert({ alertname: 'Wide', service: cjk(1000, 1), instance: '1' }, 'firing', '2026-11-20T10:00:00Z');
  await apply(job(a));
  const link = await t.db.selectFrom('incident_alerts').select('incident_id').where('fingerprint', '=', a.fingerprint)
    .executeTakeFirstOrThrow();
  const incident = await getIncident(t.db, link.incident_id);
  expect(incident!.group_key).toMatch(/^by-service:\{sha256=/);
});

test('a job whose values overflow an index (SQLSTATE 54000) fails for good at once, not retried for an hour',
  async () => {
  // A worker trusts the edge's fingerprints; one of 3,000 bytes is over the btree maximum of the alerts' key.
  const a = { ...alert({ alertname: 'Huge', service: 'limits', instance: '1' }, 'firing', '2026-11-20T10:00:00Z'),
    fingerprint: cjk(1000, 2) };
  const err = await apply(job(a)).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(PermanentJobError);
  expect(((err as Error).cause as { code?: string }).code).toBe('54000');
});

test('label values as long as the connector allows still open incidents', async () => {
  const big = alert({ alertname: 'Big', service: 's'.repeat(16_000), instance: 'i'.repeat(16_000) }, 'firing',
    '2026-11-20T10:00:00Z');
  await apply(job(big));
  const link = await t.db.selectFrom('incident_alerts').select('incident_id').where('fingerprint', '=', big.fingerprint)
    .executeTakeFirstOrThrow();
  const incident = await getIncident(t.db, link.incident_id);
  expect(incident!.group_key).toMatch(/^by-service:\{sha256=/);
  expect(incident!.title.length).toBeLessThanOrEqual(300);
});
