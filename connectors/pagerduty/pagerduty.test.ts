import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectorSetups } from '../../src/connectors/connector-settings';
import type { JobHandler } from '../../src/queue/ingest-queue';
import { listIncidents } from '../../src/store/incident-queries';
import { readIncidentDetail } from '../../src/api/incident-detail';
import { createTestDatabase, type TestDatabase } from '../../test/support/postgres';
import { openTestQueue, type TestQueue } from '../../test/support/redis';
import { applyQueued, pipelineWorker } from '../../test/support/pipeline-worker';
import { serveTestApp, TEST_INGEST_TOKEN, type TestApp } from '../../test/support/app';
import { connector } from './index';

const fixture = (name: string): Record<string, any> =>
  JSON.parse(readFileSync(join(__dirname, 'fixtures', name), 'utf8'));
const KEY = 'R0UT1NGKEYEU1000000000000000000A';

describe('normalize (pure)', () => {
  test('a trigger becomes a firing alert identified by its integration and dedup_key', () => {
    const [a] = connector.normalize(connector.schema.parse(fixture('trigger.json')), new Date('2026-11-25T09:00:00Z'),
      { id: 'x' });
    expect(a).toMatchObject({
      status: 'firing',
      labels: {
        alertname: 'disk', severity: 'critical', pd_severity: 'critical', source: 'db-eu1-03.example.com',
        component: 'mysql', group: 'prod-datapipe', class: 'disk', dedup_key: 'disk-db-eu1-03',
        integration: expect.stringMatching(/^[0-9a-f]{12}$/),
      },
      annotations: {
        summary: 'DISK at 99% on machine db-eu1-03.example.com',
        custom_details: '{"free space":"1%","ping time":"1500ms","load avg":0.75}',
        link_0: 'Host page https://monitoring.example.com/hosts/db-eu1-03',
        image_0: 'https://monitoring.example.com/graphs/disk-db-eu1-03.png',
      },
      startsAt: '2026-11-25T08:42:58.315+00:00', // PagerDuty's +0000 read as an offset
      endsAt: null,
    });
    expect(JSON.stringify(a)).not.toContain(KEY); // the routing key is a secret: only its hash is kept
  });

  test('PagerDuty\'s error severity is urgent to Quell, as to PagerDuty', () => {
    const e = fixture('trigger.json');
    e['payload'].severity = 'error';
    const [a] = connector.normalize(connector.schema.parse(e), new Date(), { id: 'x' });
    expect(a!.labels).toMatchObject({ severity: 'critical', pd_severity: 'error' });
  });

  test.each([
    ['a trigger without payload', { routing_key: KEY, event_action: 'trigger' }, 'payload'],
    ['a resolve without dedup_key', { routing_key: KEY, event_action: 'resolve' }, 'dedup_key'],
    ['an unknown action', { routing_key: KEY, event_action: 'snooze', dedup_key: 'x' }, 'event_action'],
    ['custom_details nested too deep', {
      ...fixture('trigger.json'),
      payload: { ...fixture('trigger.json').payload, custom_details: JSON.parse('['.repeat(40) + ']'.repeat(40)) },
    }, 'payload.custom_details'],
  ])('refuses %s, naming the field', (_what, body, field) => {
    const r = connector.schema.safeParse(body);
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path.join('.')).toBe(field);
  });
});

describe('POST /ingest/pagerduty', () => {
  let t: TestDatabase;
  let q: TestQueue;
  let app: TestApp;
  let apply: JobHandler;
  let applyTogether: ReturnType<typeof pipelineWorker>['applyTogether'];

  beforeAll(async () => {
    t = await createTestDatabase();
    q = await openTestQueue();
    ({ apply, applyTogether } = pipelineWorker(t.db));
    const setups = connectorSetups([connector], { QUELL_CONNECTOR_PAGERDUTY_ROUTING_KEYS: `eu-monitoring=${KEY}` });
    app = await serveTestApp({ db: t.db, queue: q.queue, connectors: setups });
  });
  afterAll(async () => {
    app.close();
    await q.close();
    await t.drop();
  });

  const post = (body: object, headers: Record<string, string> = {}) => fetch(`${app.base}/ingest/pagerduty`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
  });
  const incident = async () => {
    const [i] = (await listIncidents(t.db)).filter((x) => x.title.includes('disk'));
    return i === undefined ? undefined : readIncidentDetail(t.db, i.id, { maxBytes: 1 << 20 });
  };

  test('trigger, acknowledge, resolve: answered as PagerDuty answers, '
    + 'the incident follows through the worker', async () => {
    const trigger = await post(fixture('trigger.json'));
    expect(trigger.status).toBe(202);
    expect(await trigger.json())
      .toEqual({ status: 'success', message: 'Event processed', dedup_key: 'disk-db-eu1-03' });
    await applyQueued(q, apply);
    expect(await incident()).toMatchObject({ status: 'open', alert_count: 1 });

    const ack = await post(fixture('acknowledge.json'));
    expect(ack.status).toBe(202);
    expect(await ack.json()).toEqual({ status: 'success', message: 'Event processed', dedup_key: 'disk-db-eu1-03' });
    const [ackJob] = await applyQueued(q, apply);
    expect(ackJob!.alerts).toHaveLength(0);
    expect(ackJob!.acknowledgements).toEqual([{ fingerprint: expect.any(String), by: 'pagerduty-events' }]);
    const acked = await incident();
    expect(acked).toMatchObject({ status: 'acknowledged' });
    expect(acked!.timeline.map((e) => [e.kind, e.actor])).toContainEqual(['acknowledged', 'pagerduty-events']);

    // A second acknowledge changes nothing (already acknowledged), and fails no job.
    expect((await post(fixture('acknowledge.json'))).status).toBe(202);
    await applyQueued(q, apply);
    expect((await incident())!.timeline.filter((e) => e.kind === 'acknowledged')).toHaveLength(1);

    expect((await post(fixture('resolve.json'))).status).toBe(202);
    await applyQueued(q, apply);
    expect(await incident()).toMatchObject({ status: 'resolved' });
  });

  test('a trigger without dedup_key gets one, returned; its resolve with that key resolves it', async () => {
    const res = await post(fixture('trigger-no-dedup-key.json'));
    const { dedup_key: key } = await res.json() as { dedup_key: string };
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    const [job] = await applyQueued(q, apply);
    expect(job!.alerts[0]!.labels['dedup_key']).toBe(key);
    // An Idempotency-Key resend is the same job, with the same generated key.
    const once = await (await post(fixture('trigger-no-dedup-key.json'), { 'idempotency-key': 'edge-1' }))
      .json() as { dedup_key: string };
    const again = await (await post(fixture('trigger-no-dedup-key.json'), { 'idempotency-key': 'edge-1' }))
      .json() as { dedup_key: string };
    expect(again.dedup_key).toBe(once.dedup_key);
    await q.bull.drain(true);

    await post({ routing_key: KEY, event_action: 'resolve', dedup_key: key });
    const [resolve] = await applyQueued(q, apply);
    expect(resolve!.alerts[0]!.fingerprint).toBe(job!.alerts[0]!.fingerprint);
  });

  test('a trigger and its acknowledge applied in one batch (group commit): '
    + 'the new incident is acknowledged', async () => {
    const trigger = { ...fixture('trigger.json'), dedup_key: 'same-batch',
      payload: { ...fixture('trigger.json').payload, class: 'same-batch' } };
    expect((await post(trigger)).status).toBe(202);
    expect((await post({ ...fixture('acknowledge.json'), dedup_key: 'same-batch' })).status).toBe(202);
    const jobs = await q.waiting();
    await q.bull.drain(true);
    await applyTogether(jobs); // one transaction: every job's alerts go through the stages, then the acknowledgements
    const [i] = (await listIncidents(t.db)).filter((x) => x.title.includes('same-batch'));
    expect(i).toMatchObject({ status: 'acknowledged' });
  });

  test('an unknown routing key is 401 naming the field, before anything is queued; '
    + 'the bearer token still works', async () => {
    const res = await post({ ...fixture('trigger.json'), routing_key: 'someone-elses-key-0000000000000' });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 'unauthorized', field: 'routing_key',
      message: expect.not.stringContaining(KEY) } });
    expect(await q.waiting()).toHaveLength(0);
    const bearer = await post({ ...fixture('trigger.json'), routing_key: 'someone-elses-key-0000000000000' },
      { authorization: `Bearer ${TEST_INGEST_TOKEN}` });
    expect(bearer.status).toBe(202);
    await q.bull.drain(true);
  });
});
