import type { Kysely } from 'kysely';
import { Registry } from 'prom-client';
import type { ServiceLevelPolicy } from '../../src/domain/service-level';
import { NOTIFY_QUEUE, type NotifyJob } from '../../src/notify/notify-job';
import { notifySender } from '../../src/notify/notify-sender';
import { OutboxRelay } from '../../src/outbox/outbox-relay';
import { BullmqConsumer, BullmqQueue } from '../../src/queue/bullmq-queue';
import { EmbeddedQueue } from '../../src/queue/embedded-queue';
import { createGuardedHttp } from '../../src/runbooks/guarded-http';
import { createSecretStore } from '../../src/runbooks/secret-store';
import { notificationTargetsKind } from '../../src/rules/kinds/notification-targets-kind';
import { compileRuleText } from '../../src/rules/rule-loader';
import { createSlaMetrics } from '../../src/sla/sla-metrics';
import { sweepServiceLevels } from '../../src/sla/sla-sweep';
import type { Database } from '../../src/store/database';
import { TIMELINE_ONLY, type IncidentEventsDeps } from '../../src/store/incident-events-commit';
import { startRecordingServer, type RecordingServer } from '../support/http-recorder';
import { serveTestApp, TEST_API_TOKEN } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { obliterateQueue, REDIS_URL, uniqueQueueName } from '../support/redis';
import { waitFor } from '../support/wait';

/**
 * A breach's notifications go through the outbox to the `notify` queue (the embedded queue
 * here), whose consumer posts them through the guarded client to a local HTTP recorder: a 500 is
 * retried (by the queue, its attempts counted) and the delivery is on the timeline; a target
 * that keeps failing is recorded failed after its attempts; a redelivered job sends nothing.
 */

const MIN = 60_000;
let t: TestDatabase;
let hooks: RecordingServer;
let queue: EmbeddedQueue<NotifyJob>;
let events: IncidentEventsDeps;
let targets: ReturnType<typeof notificationTargetsKind.combine>;
const registry = new Registry();

beforeAll(async () => {
  t = await createTestDatabase();
  const seen = new Map<string, number>();
  hooks = await startRecordingServer((req, res) => {
    const n = (seen.get(req.url) ?? 0) + 1;
    seen.set(req.url, n);
    if (req.url.startsWith('/flaky') && n === 1) { res.statusCode = 500; res.end('busy'); return; }
    if (req.url === '/broken') { res.statusCode = 503; res.end('down'); return; }
    res.end('ok');
  });
  targets = compileRuleText('targets.yaml', `apiVersion: quell/v1
kind: NotificationTargets
targets:
  - { name: oncall, format: slack, url: '{{ secret.ONCALL_HOOK }}' }
  - { name: manager, format: teams, url: '${hooks.base}/teams' }
  - { name: broken, url: '${hooks.base}/broken' }
  - { name: bull, url: '${hooks.base}/flaky-bull' }
`).get(notificationTargetsKind);
  queue = new EmbeddedQueue<NotifyJob>(t.db, { queue: NOTIFY_QUEUE, pollMs: 50 });
  const relay = new OutboxRelay(t.db, { [NOTIFY_QUEUE]: queue });
  events = { ...TIMELINE_ONLY, relay: (rows) => relay.relayLater(rows) };
  queue.start(notifySender({
    db: t.db, targets: () => targets, maxAttempts: 2, registry, incidentEvents: events,
    secrets: createSecretStore({ env: { QUELL_SECRET_ONCALL_HOOK: `${hooks.base}/flaky` } }),
    http: createGuardedHttp({ allow: ['127.0.0.1'], maxBodyBytes: 65_536 }),
  }));
});
afterAll(async () => {
  await queue.close();
  await hooks.close();
  await t.drop();
});

async function insertIncident(db: Kysely<Database>, openedAt: Date, title: string): Promise<number> {
  const row = await db.insertInto('incidents').values({
    title, status: 'open', priority: 1, rule: 'test', group_key: `g-${Math.random()}`, grouping_open: false,
    group_window_seconds: 300, alert_count: 1, opened_at: openedAt, first_alert_at: openedAt, last_alert_at: openedAt,
  } as never).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

const notified = (id: number) => t.db.selectFrom('incident_events').select(['detail']).where('incident_id', '=', id)
  .where('kind', '=', 'notified').orderBy('id').execute()
    .then((rows) => rows.map((r) => r.detail));

test('a breach notifies each target: a 500 retried then delivered, a target that keeps failing recorded failed',
  async () => {
  const now = new Date();
  const id = await insertIncident(t.db, new Date(now.getTime() - 20 * MIN), 'db <!channel> down');
  const levels: ServiceLevelPolicy = { targets: { 1: { tta: 15 * MIN } }, pauseIn: [], warnAt: 0.8,
    notify: ['oncall', 'manager', 'broken'] };
  const outcome = await sweepServiceLevels({
    db: t.db, serviceLevels: () => levels, escalationPolicies: () => [], incidentEvents: events,
      metrics: createSlaMetrics(new Registry()),
  }, now);
  expect(outcome).toEqual({ leader: true, events: 1, notifications: 3 });

  const done = await waitFor(async () => { const n = await notified(id); return n.length === 3 && n; }, 20_000,
    'three notified entries');
  const byTarget = Object.fromEntries(done.map((d) => [d['target'], d]));
  expect(byTarget['oncall']).toEqual({ target: 'oncall', about: 'sla_breached:tta', status: 'delivered', attempts: 2 });
  expect(byTarget['manager']).toEqual({ target: 'manager', about: 'sla_breached:tta', status: 'delivered',
    attempts: 1 });
  expect(byTarget['broken']).toEqual({ target: 'broken', about: 'sla_breached:tta', status: 'failed', attempts: 2,
    error: 'generic webhook answered 503' });

  const flaky = hooks.requests.filter((r) => r.url === '/flaky');
  expect(flaky).toHaveLength(2);
  // Slack's shape, the incident's title (a label's text) escaped.
  expect(JSON.parse(flaky[1]!.body)).toEqual({
    text: `*P1 incident #${id} breached its time to acknowledge*\ndb &lt;!channel&gt; down\n20m of 15m (status open)`,
  });
  const teams = JSON.parse(hooks.requests.find((r) => r.url === '/teams')!.body);
  expect(teams.attachments[0].content.body[0].text).toBe(`P1 incident #${id} breached its time to acknowledge`);

  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'quell_notifications_total')!;
  const count = (result: string) => metric.values.find((v) => v.labels['result'] === result)?.value;
  expect([count('delivered'), count('failed'), count('retried')]).toEqual([2, 1, 2]);
});

test('a job delivered already sends nothing when it comes again; an unknown target is failed at once', async () => {
  const id = await insertIncident(t.db, new Date(), 'again');
  const before = hooks.requests.length;
  const job: NotifyJob = { id: 'notify-test-again', incidentId: id, target: 'manager', about: 'test', title: 'x',
    text: 'y' };
  await queue.add(job);
  await waitFor(async () => (await notified(id)).length === 1, 10_000, 'delivered once');
  await t.db.deleteFrom('queue_jobs').where('queue', '=', NOTIFY_QUEUE).execute();
  await queue.add(job); // the same id again (removed from the queue once applied): counted in notify_deliveries
  await queue.add({ ...job, id: 'notify-test-unknown', target: 'nobody' });
  await waitFor(async () => (await notified(id)).length === 2, 10_000, 'the unknown target failed');
  expect(hooks.requests.length - before).toBe(1);
  expect((await notified(id))[1]).toEqual({ target: 'nobody', about: 'test', status: 'failed', attempts: 1,
    error: 'no notification target "nobody" in the rules' });
});

test('server mode: the notify queue on BullMQ retries a 500 with its backoff, then delivers', async () => {
  const name = uniqueQueueName();
  const bull = new BullmqQueue<NotifyJob>({ redisUrl: REDIS_URL, queueName: name, jobName: NOTIFY_QUEUE });
  const consumer = new BullmqConsumer<NotifyJob>({ redisUrl: REDIS_URL, queueName: name, jobName: NOTIFY_QUEUE });
  consumer.start(notifySender({
    db: t.db, targets: () => targets, secrets: createSecretStore({ env: {} }), incidentEvents: TIMELINE_ONLY,
    http: createGuardedHttp({ allow: ['127.0.0.1'], maxBodyBytes: 65_536 }),
  }));
  const relay = new OutboxRelay(t.db, { [NOTIFY_QUEUE]: bull });
  try {
    const now = new Date();
    const id = await insertIncident(t.db, new Date(now.getTime() - 40 * MIN), 'bull');
    const levels: ServiceLevelPolicy = { targets: { 1: { ttr: 30 * MIN } }, pauseIn: [], warnAt: 0.8,
      notify: ['bull'] };
    const before = await t.db.selectFrom('outbox').select('id').where('queue', '=', NOTIFY_QUEUE).execute();
    await sweepServiceLevels({
      db: t.db, serviceLevels: () => levels, escalationPolicies: () => [], incidentEvents: { ...TIMELINE_ONLY,
        relay: (rows) => relay.relayLater(rows) },
    }, now);
    const done = await waitFor(async () => { const n = await notified(id); return n.length === 1 && n; }, 20_000,
      'delivered through BullMQ');
    expect(done[0]).toEqual({ target: 'bull', about: 'sla_breached:ttr', status: 'delivered', attempts: 2 });
    expect(hooks.requests.filter((r) => r.url === '/flaky-bull')).toHaveLength(2);
    const after = await t.db.selectFrom('outbox').select(['id', 'relayed_at']).where('queue', '=', NOTIFY_QUEUE)
      .execute();
    expect(after.length - before.length).toBe(1);
  } finally {
    await consumer.close();
    await bull.close();
    await obliterateQueue(name);
  }
});

test('GET /api/v1/incidents/{id} shows the clocks of the service levels in force', async () => {
  const id = await insertIncident(t.db, new Date(Date.now() - 20 * MIN), 'api');
  const app = await serveTestApp({
    db: t.db, queue: new EmbeddedQueue(t.db),
    serviceLevels: () => ({ targets: { 1: { tta: 15 * MIN, ttr: 240 * MIN } }, pauseIn: [], warnAt: 0.8, notify: [] }),
  });
  try {
    const res = await fetch(`${app.base}/api/v1/incidents/${id}`,
      { headers: { authorization: `Bearer ${TEST_API_TOKEN}` } });
    const body = await res.json() as {
      service_levels: { clock: string; breached: boolean; near: boolean; remaining_seconds: number }[];
    };
    expect(body.service_levels.map((c) => [c.clock, c.breached, c.near])).toEqual([['tta', true, false],
      ['ttr', false, false]]);
    expect(body.service_levels[0]!.remaining_seconds).toBeLessThanOrEqual(-300);
  } finally {
    app.close();
  }
});
