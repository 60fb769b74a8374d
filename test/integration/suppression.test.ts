import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import type { CanonicalAlert } from '../../src/domain/alert';
import { fingerprint } from '../../src/domain/fingerprint';
import { buildPipeline } from '../../src/pipeline/pipeline';
import { createPipelineMetrics, type PipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import type { Stage } from '../../src/pipeline/stage';
import type { IngestJob } from '../../src/queue/ingest-queue';
import { Topology } from '../../src/domain/topology';
import type { RuleBundle } from '../../src/rules/rule-bundle';
import { compileRuleText } from '../../src/rules/rule-loader';
import { alertsByFingerprint } from '../../src/store/alert-queries';
import { createSilence, expireSilence } from '../../src/store/silence-store';
import { createJobProcessor } from '../../src/worker/job-processor';
import { releaseHeldAlerts } from '../../src/worker/suppression-release';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * Suppression through the real pipeline on PostgreSQL: silences, maintenance windows and
 * inhibition hold new firing alerts back (stored with why, counted, no incident), and a held
 * alert still firing opens its incident when what held it ends. The clock is the test's.
 */
const CORRELATION = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: by-service
    matchers: ['service=~".+"']
    group_by: [service]
    group_window: 1d
`;
const SUPPRESSION = `---
apiVersion: quell/v1
kind: MaintenanceWindows
windows:
  - name: db-patching
    schedule: '0 2 * * sat'
    duration: 2h
    matchers: ['service="db"']
  - name: rack-firmware
    schedule: '0 2 * * sat'
    duration: 1h
    time_zone: Europe/Berlin
    cis: [rack-7, fw-1]
---
apiVersion: quell/v1
kind: InhibitRules
rules:
  - name: node-down
    source_matchers: ['alertname="NodeDown"']
    target_matchers: ['alertname!="NodeDown"']
    equal: [instance]
  - name: critical-over-warning
    source_matchers: ['severity="critical"']
    target_matchers: ['severity=~"warning|critical"']
    equal: [service]
`;

let t: TestDatabase;
let metrics: PipelineMetrics;
let stages: readonly Stage[];
let apply: (job: IngestJob) => Promise<void>;
let rules: RuleBundle;
let now = new Date('2026-11-20T10:00:00Z');

beforeAll(async () => {
  t = await createTestDatabase();
  metrics = createPipelineMetrics(new Registry());
  rules = compileRuleText('rules.yaml', CORRELATION + SUPPRESSION);
  // A CMDB in which fw-1 is known by its host name too.
  const topology = Topology.build({
    cis: [{ id: 'fw-1', type: 'host', labels: { hostname: 'fw-1.example' } }], relations: [],
  });
  stages = buildPipeline({ rules: () => rules, metrics, topology: () => topology });
  apply = createJobProcessor(t.db, stages, metrics, { clock: () => now });
});
afterAll(async () => { await t.drop(); });

const alert = (labels: Record<string, string>, startsAt = '2026-11-20T09:00:00Z'): CanonicalAlert => ({
  source: 'test', fingerprint: fingerprint('test', labels), status: 'firing', labels, annotations: {},
  startsAt, endsAt: null,
});
const resolved = (a: CanonicalAlert, endsAt: string): CanonicalAlert => ({ ...a, status: 'resolved', endsAt });
const job = (...alerts: CanonicalAlert[]): IngestJob => ({
  id: randomUUID(), connector: 'test', receivedAt: now.toISOString(), alerts,
});
const release = () => releaseHeldAlerts(t.db, stages, metrics, now);

/**
 * What became of an alert: its disposition as the API reads it (alertsByFingerprint), when it is
 * released (its row), and the incidents its episodes joined.
 */
async function fate(a: CanonicalAlert) {
  const read = (await alertsByFingerprint(t.db, [a.fingerprint])).get(a.fingerprint);
  if (read === undefined) throw new Error(`alert ${a.fingerprint} not stored`);
  const { release_at } = await t.db.selectFrom('alerts').select('release_at')
    .where('fingerprint', '=', a.fingerprint).executeTakeFirstOrThrow();
  const row = { status: read.status, disposition: read.disposition, disposition_detail: read.disposition_detail,
    release_at };
  const links = await t.db.selectFrom('incident_alerts').select('incident_id')
    .where('fingerprint', '=', a.fingerprint).execute();
  return { ...row, incidents: links.map((l) => l.incident_id) };
}
const suppressed = async (reason: string) =>
  (await metrics.suppressed.get()).values.find((v) => v.labels.reason === reason)!.value;

describe('silences', () => {
  test('a silenced alert is stored as such, counted, opens nothing; its incident when the silence ends', async () => {
    now = new Date('2026-11-20T10:00:00Z');
    const silence = await createSilence(t.db, {
      matchers: [
        { name: 'service', value: 'pay', isRegex: false, isEqual: true },
        { name: 'env', value: 'prod|stage', isRegex: true, isEqual: true },
      ],
      startsAt: '2026-11-20T09:00:00Z', endsAt: '2026-11-20T11:00:00Z', createdBy: 'alice', comment: 'deploy',
    });
    const before = await suppressed('silenced');
    const held = alert({ alertname: 'Errors', service: 'pay', env: 'prod' });
    const other = alert({ alertname: 'Errors', service: 'pay', env: 'dev' });
    await apply(job(held, other));
    expect(await fate(held)).toEqual({
      status: 'firing', disposition: 'silenced', incidents: [],
      disposition_detail: { silenced_by: [silence.id], ends_at: '2026-11-20T11:00:00.000Z' },
      release_at: new Date('2026-11-20T11:00:00Z'),
    });
    expect(await fate(other)).toMatchObject({ disposition: 'incident', incidents: [expect.any(Number)] });
    expect(await suppressed('silenced')).toBe(before + 1);
    // A re-send changes nothing; the silence is still on at 10:59.
    await apply(job(held));
    now = new Date('2026-11-20T10:59:00Z');
    expect((await release()).total).toBe(0);
    expect((await fate(held)).incidents).toEqual([]);

    now = new Date('2026-11-20T11:00:00Z');
    expect(await release()).toEqual({ total: 1, released: { silenced: 1 } });
    const after = await fate(held);
    const joined = (await fate(other)).incidents[0];
    expect(after).toMatchObject({ disposition: 'incident', release_at: null, incidents: [joined] });
    expect(after.disposition_detail).toEqual({ incident_id: after.incidents[0] });
    expect((await release()).total).toBe(0); // taken up once
  });

  test('a silence made after a worker cached silences applies to its next batch; expiring it releases', async () => {
    now = new Date('2026-11-20T12:00:00Z');
    await apply(job(alert({ alertname: 'Warmup', service: 'cache-1' }))); // the worker has loaded the silences
    const silence = await createSilence(t.db, {
      matchers: [{ name: 'service', value: 'cache-1', isRegex: false, isEqual: true }],
      startsAt: '2026-11-20T12:00:00Z', endsAt: '2026-11-21T12:00:00Z', createdBy: 'bob', comment: 'noisy',
    });
    const a = alert({ alertname: 'Evictions', service: 'cache-1' });
    await apply(job(a));
    expect(await fate(a)).toMatchObject({ disposition: 'silenced', incidents: [] });

    now = new Date('2026-11-20T12:30:00Z');
    const expired = await expireSilence(t.db, silence.id, now);
    expect(expired!.ends_at).toEqual(now);
    expect(await fate(a)).toMatchObject({ release_at: now });
    expect((await release()).released).toEqual({ silenced: 1 });
    expect(await fate(a)).toMatchObject({ disposition: 'incident', incidents: [expect.any(Number)] });
    // A new alert of the service is no longer silenced.
    const b = alert({ alertname: 'Misses', service: 'cache-1' });
    await apply(job(b));
    expect(await fate(b)).toMatchObject({ disposition: 'incident' });
  });

  test('a silenced alert that resolves is never taken up; resolves pass through', async () => {
    now = new Date('2026-11-20T13:00:00Z');
    await createSilence(t.db, {
      matchers: [{ name: 'service', value: 'batch', isRegex: false, isEqual: true }],
      startsAt: '2026-11-20T12:00:00Z', endsAt: '2026-11-20T14:00:00Z', createdBy: 'c', comment: 'c',
    });
    const a = alert({ alertname: 'Slow', service: 'batch' }, '2026-11-20T12:50:00Z');
    await apply(job(a));
    await apply(job(resolved(a, '2026-11-20T12:55:00Z')));
    now = new Date('2026-11-20T15:00:00Z');
    await release();
    expect(await fate(a)).toMatchObject({ status: 'resolved', disposition: 'silenced', incidents: [],
      release_at: null });
  });
});

describe('maintenance windows', () => {
  test('an alert in a window is held; still firing at the window end, it opens its incident then', async () => {
    // Saturday 2026-11-28, 02:00-04:00 UTC.
    now = new Date('2026-11-28T02:30:00Z');
    const before = await suppressed('maintenance');
    const a = alert({ alertname: 'ReplicationLag', service: 'db', instance: 'db-1' }, '2026-11-28T02:29:00Z');
    const gone = alert({ alertname: 'ReplicationLag', service: 'db', instance: 'db-2' }, '2026-11-28T02:29:00Z');
    await apply(job(a, gone));
    expect(await fate(a)).toEqual({
      status: 'firing', disposition: 'maintenance', incidents: [], release_at: new Date('2026-11-28T04:00:00Z'),
      disposition_detail: {
        window: 'db-patching', origin: 'rules.yaml:12', starts_at: '2026-11-28T02:00:00.000Z',
        ends_at: '2026-11-28T04:00:00.000Z', time_zone: 'UTC',
      },
    });
    expect(await suppressed('maintenance')).toBe(before + 2);
    await apply(job(resolved(gone, '2026-11-28T03:00:00Z'))); // resolves inside the window

    now = new Date('2026-11-28T03:59:59Z');
    expect((await release()).total).toBe(0);
    now = new Date('2026-11-28T04:00:30Z');
    expect(await release()).toEqual({ total: 1, released: { maintenance: 1 } });
    expect(await fate(a)).toMatchObject({ disposition: 'incident', incidents: [expect.any(Number)] });
    expect(await fate(gone)).toMatchObject({ status: 'resolved', disposition: 'maintenance', incidents: [] });
    const incident = await t.db.selectFrom('incidents').selectAll()
      .where('id', '=', (await fate(a)).incidents[0]!).executeTakeFirstOrThrow();
    expect(incident).toMatchObject({ status: 'open', alert_count: 1, group_key: 'by-service:{service="db"}' });
    // After the window, a new alert of the service opens (joins) an incident at once.
    const later = alert({ alertname: 'ReplicationLag', service: 'db', instance: 'db-3' }, '2026-11-28T04:00:10Z');
    await apply(job(later));
    expect((await fate(later)).incidents).toEqual((await fate(a)).incidents);
  });

  test('windows scoped by CI (as the CMDB binds alerts, else the ci label), in their time zone', async () => {
    // 02:00-03:00 in Berlin on Saturday 2026-11-28 is 01:00-02:00 UTC.
    now = new Date('2026-11-28T01:15:00Z');
    const onRack = alert({ alertname: 'FanFailure', service: 'hw', ci: 'rack-7' }, '2026-11-28T01:14:00Z');
    const bound = alert({ alertname: 'FanFailure', service: 'hw', instance: 'fw-1.example:9100' },
      '2026-11-28T01:14:00Z');
    const elsewhere = alert({ alertname: 'FanFailure', service: 'hw-other', ci: 'rack-8' }, '2026-11-28T01:14:00Z');
    await apply(job(onRack, bound, elsewhere));
    expect(await fate(onRack)).toMatchObject({
      disposition: 'maintenance', disposition_detail: { window: 'rack-firmware', time_zone: 'Europe/Berlin' },
      release_at: new Date('2026-11-28T02:00:00Z'),
    });
    expect(await fate(bound))
      .toMatchObject({ disposition: 'maintenance', disposition_detail: { window: 'rack-firmware' } });
    expect(await fate(elsewhere)).toMatchObject({ disposition: 'incident' });
    now = new Date('2026-11-28T02:00:10Z');
    expect(await release()).toEqual({ total: 2, released: { maintenance: 2 } });
    expect(await fate(onRack)).toMatchObject({ disposition: 'incident' });
  });

  test('taking a held alert up is exactly once, however many processes run the release', async () => {
    now = new Date('2026-11-28T02:10:00Z');
    const alerts = Array.from({ length: 30 },
      (_, i) => alert({ alertname: 'Lag', service: 'db', shard: String(i) }, '2026-11-28T02:09:00Z'));
    await apply(job(...alerts));
    now = new Date('2026-11-28T04:01:00Z');
    const results = await Promise.all([1, 2, 3].map(() => releaseHeldAlerts(t.db, stages, metrics, now, 7)));
    expect(results.reduce((n, r) => n + r.total, 0)).toBe(30);
    for (const a of alerts) expect((await fate(a)).incidents).toHaveLength(1);
    // Each was linked once on the timeline too.
    const events = await t.db.selectFrom('incident_events').select('detail')
      .where('kind', 'in', ['opened', 'alerts_linked']).execute();
    const linked = events.flatMap((e) => e.detail['fingerprints'] as string[]);
    for (const a of alerts) expect(linked.filter((fp) => fp === a.fingerprint)).toHaveLength(1);
  });
});

describe('inhibition', () => {
  test('a firing source inhibits targets with equal labels; others open incidents', async () => {
    now = new Date('2026-11-20T16:00:00Z');
    const before = await suppressed('inhibited');
    const nodeDown = alert({ alertname: 'NodeDown', service: 'infra', instance: 'n1' });
    await apply(job(nodeDown));
    const target = alert({ alertname: 'DiskFull', service: 'infra-disk', instance: 'n1' });
    const unrelated = alert({ alertname: 'DiskFull', service: 'infra-disk', instance: 'n2' });
    await apply(job(target, unrelated));
    expect(await fate(target)).toEqual({
      status: 'firing', disposition: 'inhibited', incidents: [], release_at: Infinity,
      disposition_detail: { inhibited_by: nodeDown.fingerprint, rule: 'node-down' },
    });
    expect(await fate(unrelated)).toMatchObject({ disposition: 'incident' });
    expect(await fate(nodeDown)).toMatchObject({ disposition: 'incident' }); // not inhibited by itself
    expect(await suppressed('inhibited')).toBe(before + 1);

    // While the source fires, the target stays held; once it resolves, the target opens its incident.
    expect((await release()).total).toBe(0);
    await apply(job(resolved(nodeDown, '2026-11-20T16:05:00Z')));
    expect(await release()).toEqual({ total: 1, released: { inhibited: 1 } });
    expect(await fate(target)).toMatchObject({ disposition: 'incident', incidents: [expect.any(Number)] });
  });

  test('a source and its target in the same batch; a missing equal label is equal on both', async () => {
    now = new Date('2026-11-20T17:00:00Z');
    const source = alert({ alertname: 'NodeDown', service: 'edge' });
    const target = alert({ alertname: 'Latency', service: 'edge-lat' });
    await apply(job(target, source));
    expect(await fate(target)).toMatchObject({
      disposition: 'inhibited', disposition_detail: { inhibited_by: source.fingerprint },
    });
    await apply(job(resolved(source, '2026-11-20T17:01:00Z'))); // it would inhibit every alert without an instance
  });

  test('an alert matching both sides is not inhibited by another matching both (Alertmanager)', async () => {
    now = new Date('2026-11-20T18:00:00Z');
    const first = alert({ alertname: 'A', service: 'checkout', severity: 'critical' });
    const second = alert({ alertname: 'B', service: 'checkout', severity: 'critical' });
    const warning = alert({ alertname: 'C', service: 'checkout', severity: 'warning' });
    await apply(job(first));
    await apply(job(second, warning));
    expect(await fate(first)).toMatchObject({ disposition: 'incident' });
    expect(await fate(second)).toMatchObject({ disposition: 'incident' });
    expect(await fate(warning)).toMatchObject({
      disposition: 'inhibited', disposition_detail: { rule: 'critical-over-warning' },
    });
    const by = (await fate(warning)).disposition_detail!['inhibited_by'];
    expect([first.fingerprint, second.fingerprint]).toContain(by);
  });

  test('alerts already firing when an inhibit rule comes into force are sources', async () => {
    now = new Date('2026-11-20T19:00:00Z');
    const source = alert({ alertname: 'PowerLoss', service: 'dc', rack: 'r9' });
    const previous = rules;
    try {
      rules = compileRuleText('rules.yaml', CORRELATION);
      await apply(job(source)); // no inhibit rule yet: not filed as a source as it opens
      rules = compileRuleText('rules.yaml', `${CORRELATION}---
apiVersion: quell/v1
kind: InhibitRules
rules:
  - source_matchers: ['alertname="PowerLoss"']
    equal: [rack]
`);
      const target = alert({ alertname: 'Unreachable', service: 'dc-net', rack: 'r9' });
      await apply(job(target));
      expect(await fate(target)).toMatchObject({
        disposition: 'inhibited', disposition_detail: { inhibited_by: source.fingerprint },
      });
    } finally {
      rules = previous;
    }
  });
});

describe('every alert has a disposition', () => {
  test('no rule, first seen resolved, stale firing', async () => {
    now = new Date('2026-11-20T20:00:00Z');
    const noRule = alert({ alertname: 'Orphan' });
    await apply(job(noRule));
    expect(await fate(noRule)).toMatchObject({
      disposition: 'uncorrelated',
      disposition_detail: { reason: 'no correlation rule takes it', rules_version: rules.version },
    });

    const overtaken = alert({ alertname: 'X', service: 'late' }, '2026-11-20T19:00:00Z');
    await apply(job(resolved(overtaken, '2026-11-20T19:05:00Z')));
    expect(await fate(overtaken)).toMatchObject({ status: 'resolved', disposition: 'resolved' });
    await apply(job(overtaken)); // its firing, delivered after its resolve
    expect(await fate(overtaken)).toMatchObject({
      status: 'resolved', disposition: 'stale', incidents: [],
      disposition_detail: { starts_at: '2026-11-20T19:00:00Z', previous: { disposition: 'resolved' } },
    });

    const resent = alert({ alertname: 'Y', service: 'late' }, '2026-11-20T19:00:00Z');
    await apply(job(resent));
    const incidentId = (await fate(resent)).incidents[0];
    await apply(job(resolved(resent, '2026-11-20T19:30:00Z')));
    await apply(job(resent)); // Alertmanager's late retry of the old firing
    expect(await fate(resent)).toMatchObject({
      disposition: 'stale', incidents: [incidentId],
      disposition_detail: { previous: { disposition: 'incident', detail: { incident_id: incidentId } } },
    });
  });
});
