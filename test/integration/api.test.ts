import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createRegistry } from '../../src/metrics-registry';
import { sql } from 'kysely';
import { registerStateMetrics } from '../../src/api/state-metrics';
import { buildPipeline } from '../../src/pipeline/pipeline';
import { createPipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import { BullmqIngestQueue } from '../../src/queue/bullmq-queue';
import { loadRules } from '../../src/rules/rule-loader';
import { createJobProcessor } from '../../src/worker/job-processor';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { openTestQueue, type TestQueue } from '../support/redis';
import { firingAlert } from '../support/storm';
import { REPO } from '../support/quell-process';
import { freePort } from '../support/net';
import { serveTestApp, TEST_API_TOKEN, TEST_INGEST_TOKEN, type TestApp } from '../support/app';
import { webhookPayload } from '../support/alertmanager-payload';
import type { IngestJob } from '../../src/queue/ingest-queue';

const API_TOKEN = TEST_API_TOKEN;
const INCIDENT_FIELDS = ['id', 'title', 'status', 'priority', 'group_key', 'alert_count', 'opened_at', 'resolved_at'];

let t: TestDatabase;
let q: TestQueue;
let queue: BullmqIngestQueue;
let app: TestApp;
let base: string;
let apply: (job: IngestJob) => Promise<void>;
const logLines: string[] = [];

/** The API with real readiness checks and its log lines kept in `logLines`. */
function serve(q: BullmqIngestQueue, registry = new Registry()): Promise<TestApp> {
  const log = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { logLines.push(String(chunk)); cb(); } }));
  return serveTestApp({
    db: t.db, queue: q, registry, log, openReads: true,
    checks: [{ name: 'database', check: async () => { await sql`select 1`.execute(t.db); } },
      { name: 'queue', check: () => q.checkReady() }],
  });
}

const get = async (path: string, url = base) => { const r = await fetch(`${url}${path}`); return { status: r.status,
  body: await r.json() as any }; };
/** A JSON body, or raw bytes (with `headers` such as Content-Encoding). */
const post = async (path: string, token?: string, body?: object | Buffer, headers: Record<string, string> = {}) => {
  const r = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    ...(body ? { body: Buffer.isBuffer(body) ? body : JSON.stringify(body) } : {}),
  });
  return { status: r.status, body: await r.json() as any };
};

beforeAll(async () => {
  t = await createTestDatabase();
  q = await openTestQueue();
  queue = q.queue;
  const registry = createRegistry();
  registerStateMetrics(registry, t.db, queue);
  app = await serve(queue, registry);
  base = app.base;
  const metrics = createPipelineMetrics(new Registry());
  const rules = await loadRules(`${REPO}/rules`);
  apply = createJobProcessor(t.db, buildPipeline({ rules: () => rules, metrics }), metrics);
  await apply({ id: randomUUID(), connector: 'alertmanager', receivedAt: new Date().toISOString(), alerts: [
    firingAlert({ alertname: 'DiskFull', cluster: 'eu1', service: 'db', instance: 'a', severity: 'warning' }),
    firingAlert({ alertname: 'DiskFull', cluster: 'eu1', service: 'db', instance: 'b', severity: 'warning' }),
    firingAlert({ alertname: 'NodeDown', cluster: 'eu1', instance: 'n1', severity: 'critical' }),
  ] });
});

afterAll(async () => {
  app.close();
  await q.close();
  await t.drop();
});

describe('incidents API (v1 contract)', () => {
  test('GET /api/v1/incidents?status=open lists incidents with the contract fields', async () => {
    const { status, body } = await get('/api/v1/incidents?status=open');
    expect(status).toBe(200);
    expect(body.incidents).toHaveLength(2);
    for (const incident of body.incidents) expect(Object.keys(incident))
      .toEqual(expect.arrayContaining(INCIDENT_FIELDS));
    const disk = body.incidents.find((i: any) => i.title.startsWith('DiskFull'));
    expect(disk).toMatchObject({ status: 'open', priority: 3, alert_count: 2,
      group_key: 'default:{alertname="DiskFull",cluster="eu1",service="db"}', resolved_at: null });
    expect(new Date(disk.opened_at).toISOString()).toBe(disk.opened_at);
    const node = body.incidents.find((i: any) => i.title.startsWith('NodeDown'));
    expect(node).toMatchObject({ priority: 1, group_key: 'node-down:{cluster="eu1"}' });
  });

  test('GET /api/v1/incidents/{id} has the alerts and the timeline', async () => {
    const [incident] = (await get('/api/v1/incidents?status=open'))
      .body.incidents.filter((i: any) => i.title.startsWith('DiskFull'));
    const { status, body } = await get(`/api/v1/incidents/${incident.id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: incident.id, title: incident.title, alert_count: 2 });
    expect(body.alerts).toHaveLength(2);
    for (const a of body.alerts) {
      expect(Object.keys(a)).toEqual(expect.arrayContaining(['fingerprint', 'labels', 'status', 'starts_at',
        'ends_at']));
      expect(a).toMatchObject({ status: 'firing', ends_at: null, starts_at: '2026-11-20T10:00:00.000Z',
        labels: { alertname: 'DiskFull' } });
    }
    expect(body.timeline.map((e: any) => e.kind)).toEqual(['opened']);
    expect(body.timeline[0].detail.fingerprints.sort()).toEqual(body.alerts.map((a: any) => a.fingerprint).sort());
  });

  test('acknowledge and resolve need a token, follow the life cycle, and are on the timeline under its name',
    async () => {
    const [incident] = (await get('/api/v1/incidents?status=open')).body.incidents;
    expect((await post(`/api/v1/incidents/${incident.id}/acknowledge`)).status).toBe(401);
    expect((await post(`/api/v1/incidents/${incident.id}/acknowledge`, 'wrong-token')).status).toBe(401);
    expect((await get(`/api/v1/incidents/${incident.id}`)).body.status).toBe('open');

    const ack = await post(`/api/v1/incidents/${incident.id}/acknowledge`, API_TOKEN,
      { by: 'noc-alice', comment: 'looking' });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ status: 'acknowledged' });
    expect(ack.body.acknowledged_at).not.toBeNull();
    expect((await post(`/api/v1/incidents/${incident.id}/acknowledge`, API_TOKEN)).body.error.code).toBe('conflict');

    const resolved = await post(`/api/v1/incidents/${incident.id}/resolve`, API_TOKEN);
    expect(resolved.status).toBe(200);
    expect(resolved.body.status).toBe('resolved');
    expect(resolved.body.timeline.slice(-2).map((e: any) => [e.kind, e.actor]))
      .toEqual([['acknowledged', 'api-token'], ['resolved', 'api-token']]);
    const again = await post(`/api/v1/incidents/${incident.id}/resolve`, API_TOKEN);
    expect(again.status).toBe(409);
    expect((await get('/api/v1/incidents?status=resolved')).body.incidents.map((i: any) => i.id))
      .toEqual([incident.id]);
    expect((await get('/api/v1/incidents?status=open,acknowledged')).body.incidents).toHaveLength(1);
  });

  test.each([
    ['/api/v1/incidents?status=closed', 400, 'invalid_request'],
    ['/api/v1/incidents?limit=0', 400, 'invalid_request'],
    ['/api/v1/incidents/abc', 400, 'invalid_request'],
    ['/api/v1/incidents/999999', 404, 'not_found'],
    ['/api/v2/nothing', 404, 'not_found'],
  ])('GET %s -> %i %s', async (path, code, error) => {
    const { status, body } = await get(path);
    expect(status).toBe(code);
    expect(body.error.code).toBe(error);
  });

  test('changing an unknown incident is 404, a bad body 400', async () => {
    expect((await post('/api/v1/incidents/999999/resolve', API_TOKEN)).status).toBe(404);
    const bad = await post('/api/v1/incidents/1/resolve', API_TOKEN, { by: 42 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_payload');
  });
});

describe('health and metrics', () => {
  test('/healthz and /readyz answer on a healthy setup', async () => {
    expect(await get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await get('/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
  });

  test('/metrics is valid for promtool and has the documented series', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const name of ['quell_incidents_open 1', 'quell_queue_jobs{queue="ingest",state="waiting"}',
      'process_cpu_seconds_total', 'quell_ingest_request_duration_seconds']) {
      expect(text).toContain(name);
    }
    const check = execFile('promtool', ['check', 'metrics']);
    let out = '';
    check.stdout!.on('data', (d) => { out += String(d); });
    check.stderr!.on('data', (d) => { out += String(d); });
    check.stdin!.end(text);
    const [code] = await once(check, 'exit');
    expect({ code, out }).toEqual({ code: 0, out: '' });
  });

  test('/readyz is 503, with the reason logged, when Redis may evict jobs', async () => {
    const port = await freePort();
    const redis: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
      '--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru'], { stdio: 'ignore' });
    const evicting = new BullmqIngestQueue({ redisUrl: `redis://127.0.0.1:${port}`, queueName: 'readyz' });
    const other = await serve(evicting);
    try {
      const res = await waitForAnswer(() => get('/readyz', other.base));
      expect(res.status).toBe(503);
      expect(res.body.reasons.queue).toContain('maxmemory-policy is allkeys-lru, not noeviction');
      expect(logLines.some((l) => l.includes('not ready') && l.includes('noeviction'))).toBe(true);
    } finally {
      other.close();
      await evicting.close();
      redis.kill();
    }
  });
});

describe('what the API stores is what was sent', () => {
  test.each([
    ['a NUL in the comment', { by: 'alice', comment: 'a\u0000b' }, {}, 'comment'],
    ['a lone surrogate in by', { by: 'al\ud800ice' }, {}, 'by'],
    ['bytes that are not UTF-8', Buffer.from('{"comment":"caf\xe9"}', 'latin1'), {}, undefined],
    ['br that is not Brotli', Buffer.from('{"comment":"x"}'), { 'content-encoding': 'br' }, undefined],
  ])('acknowledge with %s is 400 invalid_payload and changes nothing', async (_what, body, headers, field) => {
    const [incident] = (await get('/api/v1/incidents?status=open')).body.incidents;
    const res = await post(`/api/v1/incidents/${incident.id}/acknowledge`, API_TOKEN, body, headers);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_payload', retryable: false });
    expect(res.body.error.field).toBe(field);
    const after = (await get(`/api/v1/incidents/${incident.id}`)).body;
    expect([after.status, after.timeline.length]).toEqual(['open', 1]);
  });

  test('a __proto__ label is stored and shown as a label', async () => {
    const labels = JSON.parse('{"alertname":"ProtoLabel","cluster":"eu1","service":"p","__proto__":"p"}');
    const res = await fetch(`${base}/ingest/alertmanager`, {
      method: 'POST', headers: { authorization: `Bearer ${TEST_INGEST_TOKEN}` },
      body: JSON.stringify(webhookPayload([{ labels }])),
    });
    expect(res.status).toBe(202);
    const jobs = await q.waiting();
    expect(jobs).toHaveLength(1);
    await apply(jobs[0]!);
    const open = (await get('/api/v1/incidents?status=open')).body.incidents;
    const incident = open.find((i: any) => i.title.startsWith('ProtoLabel'));
    const [alert] = (await get(`/api/v1/incidents/${incident.id}`)).body.alerts;
    expect(Object.prototype.hasOwnProperty.call(alert.labels, '__proto__')).toBe(true);
    expect(alert.labels).toEqual(labels);
    expect(alert.fingerprint).toBe(jobs[0]!.alerts[0]!.fingerprint);
  });
});

/** Retries while the freshly started Redis is not yet accepting connections. */
async function waitForAnswer(
  ask: () => Promise<{ status: number; body: any }>,
): Promise<{ status: number; body: any }> {
  for (let i = 0; ; i++) {
    const res = await ask();
    const connecting = res.status === 503 && /unreachable|not answering/.test(String(res.body.reasons?.queue));
    if (!connecting || i > 50) return res;
    await new Promise((r) => setTimeout(r, 100));
  }
}
