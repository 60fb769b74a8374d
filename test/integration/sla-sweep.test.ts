import type { Kysely } from 'kysely';
import { Registry } from 'prom-client';
import { readIncidentDetail } from '../../src/api/incident-detail';
import type { EscalationPolicy } from '../../src/domain/escalation';
import type { ServiceLevelPolicy } from '../../src/domain/service-level';
import { NOTIFY_QUEUE, type NotifyJob } from '../../src/notify/notify-job';
import { OutboxRelay } from '../../src/outbox/outbox-relay';
import { EmbeddedQueue } from '../../src/queue/embedded-queue';
import { createSlaMetrics, type SlaMetrics } from '../../src/sla/sla-metrics';
import { pruneSlaRecords } from '../../src/sla/sla-store';
import { sweepServiceLevels, type SlaSweepDeps } from '../../src/sla/sla-sweep';
import { connectDatabase } from '../../src/store/connect';
import type { Database } from '../../src/store/database';
import { changeIncident } from '../../src/store/incident-store';
import { TIMELINE_ONLY } from '../../src/store/incident-events-commit';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * The service-level sweep against real PostgreSQL, with an injected clock: three sweepers (each
 * with its own pool, as three processes would be) sweep every minute of an hour at once, and
 * every warning, breach and escalation step is on the timeline once, its notifications once in
 * the outbox, its metrics counted once across the three.
 */

const MIN = 60_000;
let t: TestDatabase;
let pools: Kysely<Database>[];
beforeAll(async () => {
  t = await createTestDatabase();
  pools = await Promise.all([1, 2, 3].map(async () => (await connectDatabase({ url: t.url, dataDir: '',
    poolSize: 3 })).db));
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.destroy()));
  await t.drop();
});

const LEVELS: ServiceLevelPolicy = {
  targets: { 1: { tta: 15 * MIN, ttr: 60 * MIN }, 3: { ttr: 30 * MIN } },
  pauseIn: ['on_hold', 'awaiting_change'], warnAt: 0.8, notify: ['oncall'],
};
const POLICIES: EscalationPolicy[] = [{
  name: 'p1', matchers: [], priorities: [1],
  levels: [{ afterMs: 5 * MIN, notify: ['oncall'] }, { afterMs: 20 * MIN, notify: ['lead', 'manager'] }],
}];

/** An incident as the pipeline would have opened it at `openedAt`. */
async function insertIncident(
  db: Kysely<Database>, openedAt: Date, over: { priority?: number; acknowledgedAt?: Date; resolvedAt?: Date } = {},
): Promise<number> {
  const row = await db.insertInto('incidents').values({
    title: 'db down', status: over.resolvedAt ? 'resolved' : over.acknowledgedAt ? 'acknowledged' : 'open',
      priority: over.priority ?? 1,
    rule: 'test', group_key: `g-${Math.random()}`, grouping_open: false, group_window_seconds: 300, alert_count: 1,
    opened_at: openedAt, first_alert_at: openedAt, last_alert_at: openedAt,
    acknowledged_at: over.acknowledgedAt ?? null, resolved_at: over.resolvedAt ?? null,
      resolved_by: over.resolvedAt ? 'manual' : null,
  } as never).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

const sweeper = (db: Kysely<Database>, metrics: SlaMetrics, over: Partial<SlaSweepDeps> = {}): SlaSweepDeps => ({
  db, metrics, serviceLevels: () => LEVELS, escalationPolicies: () => POLICIES, incidentEvents: TIMELINE_ONLY, ...over,
});

async function timeline(db: Kysely<Database>, id: number) {
  return db.selectFrom('incident_events').select(['kind', 'actor', 'detail']).where('incident_id', '=', id)
    .where('kind', 'in', ['sla_warning', 'sla_breached', 'escalated', 'notified']).orderBy('id').execute();
}

const metricSum = async (registries: Registry[], name: string, labels: Record<string, string> = {}) => {
  let sum = 0;
  for (const r of registries) {
    for (const m of await r.getMetricsAsJSON()) {
      for (const v of m.values as { value: number; labels: Record<string, unknown>; metricName?: string }[]) {
        if ((v.metricName ?? m.name) === name
          && Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x)) sum += v.value;
      }
    }
  }
  return sum;
};

test('three sweepers at once, every minute of 70: each warning, breach and escalation step once; metrics counted once',
  async () => {
  const t0 = new Date('2026-03-02T10:00:00Z');
  const at = (m: number) => new Date(t0.getTime() + m * MIN);
  const open = await insertIncident(t.db, t0);
  const acked = await insertIncident(t.db, t0, { acknowledgedAt: at(7) });
  const p3 = await insertIncident(t.db, t0, { priority: 3, acknowledgedAt: at(2), resolvedAt: at(40) });
  const held = await insertIncident(t.db, t0, { priority: 3 });
  // On hold from minute 10, as the lifecycle records it (paused_at) and its timeline says it.
  await t.db.updateTable('incidents').set({ status: 'on_hold', paused_at: at(10) }).where('id', '=', held).execute();
  await t.db.insertInto('incident_events').values({ incident_id: held, kind: 'held', actor: 'alice',
    detail: JSON.stringify({ state: 'on_hold' }) as never, at: at(10) }).execute();

  const registries = [new Registry(), new Registry(), new Registry()];
  const metrics = registries.map(createSlaMetrics);
  let leaders = 0;
  for (let m = 0; m <= 70; m++) {
    const outcomes = await Promise.all(pools.map((db, i) => sweepServiceLevels(sweeper(db, metrics[i]!), at(m))));
    leaders += outcomes.filter((o) => o.leader).length;
  }
  // At least one per minute; a sweep that began after the leader committed leads too (and finds every flag set).
  expect(leaders).toBeGreaterThanOrEqual(71);

  const said = async (id: number) => (await timeline(t.db, id)).map((e) => {
    const d = e.detail;
    return e.kind === 'escalated' ? `L${String(d['level'])}` : `${e.kind}:${String(d['clock'])}`;
  });
  expect(await said(open)).toEqual(['L1', 'sla_warning:tta', 'sla_breached:tta', 'L2', 'sla_warning:ttr',
    'sla_breached:ttr']);
  // Acknowledged at minute 7: escalated at 5, then its time to resolve runs on.
  expect(await said(acked)).toEqual(['L1', 'sla_warning:ttr', 'sla_breached:ttr']);
  // Resolved at minute 40 of a 30-minute target: warned at 24, breached at 30.
  expect(await said(p3)).toEqual(['sla_warning:ttr', 'sla_breached:ttr']);
  // Paused from minute 10 of a 30-minute clock: warned at 24 minutes only if it ran; it did not.
  expect(await timeline(t.db, held)).toEqual([]);

  const jobs = await t.db.selectFrom('outbox').select(['queue', 'job_id', 'payload']).where('queue', '=', NOTIFY_QUEUE)
    .execute();
  const about = jobs.map((j) => {
    const p = j.payload as NotifyJob;
    return `${p.incidentId}:${p.about}:${p.target}`;
  }).sort();
  expect(about).toEqual([
    `${acked}:escalation:p1:L1R0:oncall`, `${acked}:sla_warning:ttr:oncall`, `${acked}:sla_breached:ttr:oncall`,
    `${p3}:sla_warning:ttr:oncall`, `${p3}:sla_breached:ttr:oncall`,
    `${open}:escalation:p1:L1R0:oncall`, `${open}:escalation:p1:L2R0:lead`, `${open}:escalation:p1:L2R0:manager`,
    `${open}:sla_breached:tta:oncall`, `${open}:sla_breached:ttr:oncall`, `${open}:sla_warning:tta:oncall`,
      `${open}:sla_warning:ttr:oncall`,
  ].sort());

  expect(await metricSum(registries, 'quell_sla_breaches_total', { clock: 'tta', priority: 'P1' })).toBe(1);
  expect(await metricSum(registries, 'quell_sla_breaches_total', { clock: 'ttr', priority: 'P1' })).toBe(2);
  expect(await metricSum(registries, 'quell_sla_breaches_total', { clock: 'ttr', priority: 'P3' })).toBe(1);
  // Acknowledged at 7 (P1), at 2 (P3): each observed once across the three registries.
  expect(await metricSum(registries, 'quell_incident_tta_seconds_count')).toBe(2);
  expect(await metricSum(registries, 'quell_incident_tta_seconds_sum', { priority: 'P1' })).toBe(7 * 60);
  expect(await metricSum(registries, 'quell_incident_ttr_seconds_sum', { priority: 'P3' })).toBe(40 * 60);
  expect(await metricSum(registries, 'quell_escalations_total', { policy: 'p1' })).toBe(3);
  expect(await metricSum(registries, 'quell_sla_warnings_total')).toBe(4);
});

test('escalation stops on acknowledge', async () => {
  const now = new Date();
  const id = await insertIncident(t.db, new Date(now.getTime() - 6 * MIN), { priority: 1 });
  const registry = new Registry();
  const deps = sweeper(t.db, createSlaMetrics(registry), { serviceLevels: () => ({ ...LEVELS, targets: {} }) });
  await sweepServiceLevels(deps, now);
  expect((await timeline(t.db, id)).map((e) => e.kind)).toEqual(['escalated']);
  expect(await changeIncident(t.db, id, 'acknowledge', 'alice')).toMatchObject({ ok: true });
  await sweepServiceLevels(deps, new Date(now.getTime() + 60 * MIN));
  expect((await timeline(t.db, id)).map((e) => e.kind)).toEqual(['escalated']);
  expect(await metricSum([registry], 'quell_incident_tta_seconds_count', { priority: 'P1' })).toBe(1);
});

test('on hold (the lifecycle\'s hold and resume) stands the escalation and the clocks still', async () => {
  const now = new Date();
  const id = await insertIncident(t.db, new Date(now.getTime() - 3 * MIN), { priority: 1 });
  const deps = sweeper(t.db, createSlaMetrics(new Registry()));
  expect(await changeIncident(t.db, id, { action: 'hold', state: 'awaiting_change', reason: 'CHG0042' }, 'alice'))
    .toMatchObject({ ok: true });
  const later = new Date(now.getTime() + 30 * MIN);
  await sweepServiceLevels(deps, later);
  expect(await timeline(t.db, id)).toEqual([]);
  const held = await readIncidentDetail(t.db, id, { maxBytes: 1 << 20, serviceLevels: LEVELS, now: later });
  expect(held?.service_levels.map((c) => [c.clock, c.paused, Math.round(c.elapsed_seconds / 60)]))
    .toEqual([['tta', true, 3], ['ttr', true, 3]]);

  expect(await changeIncident(t.db, id, 'resume', 'alice')).toMatchObject({ ok: true });
  await sweepServiceLevels(deps, later);
  // Resumed: 33 minutes unacknowledged, both levels due; one sweep posts the latest only.
  const kinds = (await timeline(t.db, id)).map((e) => [e.kind, e.detail['level'] ?? e.detail['clock']]);
  expect(kinds).toEqual([['sla_breached', 'tta'], ['escalated', 1], ['escalated', 2]]);
  const jobs = await t.db.selectFrom('outbox').select('payload').where('queue', '=', NOTIFY_QUEUE).execute();
  expect(jobs.map((j) => j.payload as NotifyJob).filter((j) => j.incidentId === id).map((j) => j.about).sort())
    .toEqual(['escalation:p1:L2R0', 'escalation:p1:L2R0', 'sla_breached:tta']);
});

test('the incident detail shows each clock: elapsed, remaining, breached, near, paused', async () => {
  const t0 = new Date('2026-03-03T10:00:00Z');
  const id = await insertIncident(t.db, t0, { acknowledgedAt: new Date(t0.getTime() + 20 * MIN) });
  await t.db.insertInto('incident_events').values([
    { incident_id: id, kind: 'held', actor: 'alice', detail: JSON.stringify({ state: 'awaiting_change' }),
      at: new Date(t0.getTime() + 30 * MIN) },
  ]).execute();
  await t.db.updateTable('incidents').set({ status: 'awaiting_change', paused_at: new Date(t0.getTime() + 30 * MIN) })
    .where('id', '=', id).execute();
  const detail = await readIncidentDetail(t.db, id, { maxBytes: 1 << 20, serviceLevels: LEVELS,
    now: new Date(t0.getTime() + 90 * MIN) });
  expect(detail?.service_levels).toEqual([
    { clock: 'tta', target_seconds: 900, elapsed_seconds: 1200, remaining_seconds: -300, breached: true, near: false,
      stopped: true, paused: false },
    { clock: 'ttr', target_seconds: 3600, elapsed_seconds: 1800, remaining_seconds: 1800, breached: false, near: false,
      stopped: false, paused: true },
  ]);
  const none = await readIncidentDetail(t.db, id, { maxBytes: 1 << 20 });
  expect(none?.service_levels).toEqual([]);
});

test('a second sweep at the same minute records and notifies nothing again', async () => {
  const now = new Date('2026-03-04T10:30:00Z');
  const id = await insertIncident(t.db, new Date('2026-03-04T10:00:00Z'), { priority: 3 });
  const queue = new EmbeddedQueue<NotifyJob>(t.db, { queue: NOTIFY_QUEUE });
  const relay = new OutboxRelay(t.db, { [NOTIFY_QUEUE]: queue });
  const deps = sweeper(t.db, createSlaMetrics(new Registry()), { incidentEvents: { ...TIMELINE_ONLY,
    relay: (rows) => { void relay.relay(rows); } } });
  const first = await sweepServiceLevels(deps, now);
  const second = await sweepServiceLevels(deps, now);
  expect(first).toMatchObject({ leader: true });
  expect(second).toMatchObject({ leader: true, events: 0, notifications: 0 });
  expect((await timeline(t.db, id)).map((e) => e.kind)).toEqual(['sla_breached']);
  const jobs = await t.db.selectFrom('outbox').select('payload').where('queue', '=', NOTIFY_QUEUE).execute();
  expect(jobs.map((j) => j.payload as NotifyJob).filter((j) => j.incidentId === id).map((j) => j.about))
    .toEqual(['sla_breached:ttr']);
});

test('housekeeping forgets the flags of incidents resolved past the retention, and old notification outcomes',
  async () => {
  const old = await insertIncident(t.db, new Date(Date.now() - 41 * 86_400_000),
    { resolvedAt: new Date(Date.now() - 40 * 86_400_000) });
  const recent = await insertIncident(t.db, new Date(Date.now() - 2 * 86_400_000),
    { resolvedAt: new Date(Date.now() - 86_400_000) });
  await t.db.insertInto('sla_flags').values([old, recent].map((id) => ({ incident_id: id, clock: 'ttr',
    level: 'stopped' }))).execute();
  await t.db.insertInto('notify_deliveries').values([
    { job_id: 'old', incident_id: old, target: 'x', status: 'delivered', attempts: 1,
      updated_at: new Date(Date.now() - 40 * 86_400_000) },
    { job_id: 'new', incident_id: recent, target: 'x', status: 'delivered', attempts: 1 },
  ] as never).execute();
  // (The earlier tests' incidents resolved in March go too.)
  expect(await pruneSlaRecords(t.db)).toBeGreaterThanOrEqual(2);
  expect(await t.db.selectFrom('sla_flags').select('incident_id').where('incident_id', 'in', [old, recent]).execute())
    .toEqual([{ incident_id: recent }]);
  expect((await t.db.selectFrom('notify_deliveries').select('job_id').execute()).map((r) => r.job_id)).toEqual(['new']);
});
