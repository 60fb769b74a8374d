import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { BullmqIngestQueue } from '../../src/queue/bullmq-queue';
import type { IngestJob, IngestQueue } from '../../src/queue/ingest-queue';
import { createTestDatabase, type TestDatabase } from '../../test/support/postgres';
import { openTestQueue, type TestQueue } from '../../test/support/redis';
import { fingerprint } from '../../src/domain/fingerprint';
import { connector } from './index';
import { serveTestApp, TEST_INGEST_TOKEN, type TestApp } from '../../test/support/app';

const fixture = (name: string): Record<string, any> =>
  JSON.parse(readFileSync(join(__dirname, 'fixtures', name), 'utf8'));
const TOKEN = TEST_INGEST_TOKEN;

describe('normalize (pure)', () => {
  test('maps a firing webhook to canonical alerts', () => {
    const payload = connector.schema.parse(fixture('firing.json'));
    const alerts = connector.normalize(payload, new Date('2026-11-20T11:00:00Z'));
    expect(alerts).toHaveLength(2);
    expect(alerts[0]).toEqual({
      status: 'firing',
      labels: { alertname: 'HighErrorRate', cluster: 'eu1', service: 'checkout', severity: 'critical',
        instance: '10.0.0.11:8080', job: 'checkout' },
      annotations: { summary: '5xx ratio above 5% on checkout', runbook_url: 'https://runbooks.example/checkout-5xx' },
      startsAt: '2026-11-25T13:14:17.000Z',
      endsAt: null, // Go's zero time means "no end"
      generatorUrl: expect.stringContaining('http://prometheus:9090/graph'),
    });
  });

  test('keeps the end time of resolved alerts', () => {
    const alerts = connector.normalize(connector.schema.parse(fixture('resolved.json')), new Date());
    expect(alerts.map((a) => [a.status, a.endsAt])).toEqual([['resolved', '2026-11-25T13:19:26.000Z'],
      ['resolved', '2026-11-25T13:19:26.000Z']]);
  });

  test('reads timestamps with nanoseconds and offsets, as Go writes them', () => {
    const payload = fixture('firing.json');
    payload['alerts'][0].startsAt = '2026-11-20T11:00:00.123456789+01:00';
    const [a] = connector.normalize(connector.schema.parse(payload), new Date());
    expect(a!.startsAt).toBe('2026-11-20T10:00:00.123Z');
  });

  test('a __proto__ label is a label: kept in the labels and so in the fingerprint', () => {
    const payload = fixture('firing.json');
    payload['alerts'][0].labels = JSON.parse('{"alertname":"X","__proto__":"p"}');
    const [a] = connector.normalize(connector.schema.parse(payload), new Date());
    expect(Object.keys(a!.labels)).toEqual(['alertname', '__proto__']);
    expect(a!.labels['__proto__']).toBe('p');
    expect(fingerprint('alertmanager', a!.labels)).not.toBe(fingerprint('alertmanager', { alertname: 'X' }));
  });

  test('a resolve without an end time ends at receipt', () => {
    const payload = fixture('resolved.json');
    delete payload['alerts'][0].endsAt;
    const [a] = connector.normalize(connector.schema.parse(payload), new Date('2026-11-25T14:00:00Z'));
    expect(a!.endsAt).toBe('2026-11-25T14:00:00.000Z');
  });
});

describe('POST /ingest/alertmanager', () => {
  let t: TestDatabase;
  let q: TestQueue;
  let app: TestApp;
  let base: string;

  const start = (queue: IngestQueue): Promise<TestApp> => serveTestApp({ db: t.db, queue, connectors: [connector] });
  const auth = { authorization: `Bearer ${TOKEN}` };
  const post = (body: string | Buffer | object, headers: Record<string, string> = auth, url = base) =>
    fetch(`${url}/ingest/alertmanager`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    });
  /** The resolved fixture with its second alert ending at `endsAt`. */
  const resolvedEnding = (endsAt: string): object => {
    const payload = fixture('resolved.json');
    payload['alerts'][1].endsAt = endsAt;
    return payload;
  };
  /** A body holding `inner` in `depth` nested arrays. */
  const deep = (depth: number, inner: string): string =>
    `{"version":"4","x":${'['.repeat(depth)}${inner}${']'.repeat(depth)}}`;
  /** The firing fixture with its first alert changed. */
  const withAlert = (change: Record<string, unknown>): object => {
    const payload = fixture('firing.json');
    payload['alerts'][0] = { ...payload['alerts'][0], ...change };
    return payload;
  };
  const queued = (): Promise<IngestJob[]> => q.waiting();

  beforeAll(async () => {
    t = await createTestDatabase();
    q = await openTestQueue();
    app = await start(q.queue);
    base = app.base;
  });
  afterAll(async () => {
    app.close();
    await q.close();
    await t.drop();
  });
  beforeEach(async () => { await q.bull.drain(true); });

  test('202 once the whole request is one job in Redis', async () => {
    const res = await post(fixture('firing.json'));
    expect(res.status).toBe(202);
    const body = await res.json() as { job_id: string; alerts: number };
    expect(body.alerts).toBe(2);
    const jobs = await queued();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.id).toBe(body.job_id);
    expect(jobs[0]!.alerts.map((a) => a.labels['instance'])).toEqual(['10.0.0.11:8080', '10.0.0.12:8080']);
    expect(jobs[0]!.alerts[0]!.fingerprint).toMatch(/^[0-9a-f]{32}$/);
  });

  test('counts the alerts Alertmanager says it truncated (max_alerts)', async () => {
    const metric = async (): Promise<number> => {
      const text = await (await fetch(`${base}/metrics`)).text();
      return Number(/^quell_alerts_truncated_total\{connector="alertmanager"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    const before = await metric();
    expect((await post({ ...fixture('firing.json'), truncatedAlerts: 7 })).status).toBe(202);
    expect(await metric()).toBe(before + 7);
  });

  test.each([
    ['no token', {}, 'missing bearer token'],
    ['a wrong token', { authorization: 'Bearer nope' }, 'wrong bearer token'],
  ])('401 with %s, and nothing queued', async (_what, headers, message) => {
    const res = await post(fixture('firing.json'), headers);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
    expect(await res.json())
      .toMatchObject({ error: { code: 'unauthorized', message: expect.stringContaining(message) } });
    expect(await queued()).toHaveLength(0);
  });

  test.each([
    ['bad JSON', '{"version":', 'invalid_json', undefined],
    ['no version', { status: 'firing', alerts: [] }, 'invalid_payload', 'version'],
    ['alerts not a list', { ...fixture('firing.json'), alerts: 'x' }, 'invalid_payload', 'alerts'],
    ['a bad timestamp',
      { ...fixture('firing.json'), alerts: [{ ...fixture('firing.json').alerts[0], startsAt: 'yesterday' }] },
      'invalid_payload', 'alerts[0].startsAt'],
    ['a bad status', {
      ...fixture('firing.json'),
      alerts: [fixture('firing.json').alerts[0], { ...fixture('firing.json').alerts[1], status: 'burning' }],
    }, 'invalid_payload', 'alerts[1].status'],
    ['a NUL in a label value', {
      ...fixture('firing.json'),
      alerts: [{ ...fixture('firing.json').alerts[0], labels: { alertname: 'X', x: 'a\u0000b' } }],
    }, 'invalid_payload', 'alerts[0].labels.x'],
    ['a lone surrogate in an annotation', {
      ...fixture('firing.json'),
      alerts: [
        fixture('firing.json').alerts[0],
        { ...fixture('firing.json').alerts[1], annotations: { summary: 'bad \ud800 text' } },
      ],
    }, 'invalid_payload', 'alerts[1].annotations.summary'],
    ['a label that is not a string', {
      ...fixture('firing.json'), alerts: [{ ...fixture('firing.json').alerts[0], labels: { alertname: 'X', n: 5 } }],
    }, 'invalid_payload', 'alerts[0].labels.n'],
    // Times the schema takes and PostgreSQL refuses, or that would hold an incident open for ever.
    ['a start in year 0', withAlert({ startsAt: '0000-01-01T00:00:00Z' }), 'invalid_payload', 'alerts[0].startsAt'],
    ['a start in year 1 that is 0 in UTC', withAlert({ startsAt: '0001-01-01T00:00:00+14:00' }), 'invalid_payload',
      'alerts[0].startsAt'],
    ['a start in 9999 that is 10000 in UTC', withAlert({ startsAt: '9999-12-31T23:59:59-23:59' }), 'invalid_payload',
      'alerts[0].startsAt'],
    ['a start in year 9999', withAlert({ startsAt: '9999-12-31T23:59:59Z' }), 'invalid_payload', 'alerts[0].startsAt'],
    ['a resolve ending in year 10000', resolvedEnding('9999-12-31T23:59:59-01:00'), 'invalid_payload',
      'alerts[1].endsAt'],
    ['a NUL 20,000 arrays deep', deep(20_000, '"\\u0000"'), 'invalid_payload', `x${'[0]'.repeat(20_000)}`],
  ])('400 for %s, naming the field, and nothing queued', async (_what, body, code, field) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    const err = (await res.json() as { error: { code: string; field?: string; message: string } }).error;
    expect(err.code).toBe(code);
    if (field !== undefined) {
      expect(err.field).toBe(field);
      expect(err.message.startsWith(`${field}: `)).toBe(true);
    }
    expect(await queued()).toHaveLength(0);
  });

  test.each([
    ['br that is not Brotli', 'br', Buffer.from(JSON.stringify(fixture('firing.json'))), /not valid br/],
    ['gzip that is not gzip', 'gzip', Buffer.from('{"version":"4"}'), /not valid gzip/],
    ['deflate cut short', 'deflate', deflateSync(JSON.stringify(fixture('firing.json'))).subarray(0, 40),
      /not valid deflate/],
    ['bytes that are not UTF-8', 'identity', Buffer.from('{"version":"4","x":"\xff\xfe"}', 'latin1'),
      /not valid UTF-8/],
  ])('400 for %s, and nothing queued', async (_what, encoding, bytes, message) => {
    const res = await post(bytes, { ...auth, 'content-encoding': encoding });
    expect(res.status).toBe(400);
    const error = { code: 'invalid_payload', message: expect.stringMatching(message), retryable: false };
    expect(await res.json()).toMatchObject({ error });
    expect(await queued()).toHaveLength(0);
  });

  test('400 for a charset other than UTF-8, and nothing queued', async () => {
    const utf16 = Buffer.from(JSON.stringify(fixture('firing.json')), 'utf16le');
    const res = await post(utf16, { ...auth, 'content-type': 'application/json; charset=utf-16le' });
    expect(res.status).toBe(400);
    expect(await res.json())
      .toMatchObject({ error: { code: 'invalid_payload', message: expect.stringContaining('UTF-8') } });
    expect(await queued()).toHaveLength(0);
  });

  test('a gzip body is read', async () => {
    const res = await post(gzipSync(JSON.stringify(fixture('firing.json'))), { ...auth, 'content-encoding': 'gzip' });
    expect(res.status).toBe(202);
    expect(await queued()).toHaveLength(1);
  });

  test('a __proto__ label reaches the queue as a label, with its fingerprint', async () => {
    const body = JSON.stringify(withAlert({ labels: JSON.parse('{"alertname":"X","__proto__":"p"}') }));
    expect(body).toContain('"__proto__":"p"');
    expect((await post(body)).status).toBe(202);
    const [alert] = (await queued())[0]!.alerts;
    expect(Object.entries(alert!.labels)).toEqual([['alertname', 'X'], ['__proto__', 'p']]);
    expect(alert!.fingerprint).toBe(fingerprint('alertmanager', alert!.labels));
    expect(alert!.fingerprint).not.toBe(fingerprint('alertmanager', { alertname: 'X' }));
  });

  test('413 over the body limit, and nothing queued', async () => {
    const big = fixture('firing.json');
    big['alerts'] = Array.from({ length: 400 },
      (_, i) => ({ ...big['alerts'][0], labels: { ...big['alerts'][0].labels, instance: `host-${i}` } }));
    const res = await post(big);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    expect(await queued()).toHaveLength(0);
  });

  test('503 within a second when Redis cannot be reached, so Alertmanager retries', async () => {
    const down = new BullmqIngestQueue({ redisUrl: 'redis://127.0.0.1:1', queueName: q.name });
    const other = await start(down);
    try {
      const started = Date.now();
      const res = await post(fixture('firing.json'), undefined, other.base);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(await res.json()).toMatchObject({ error: { code: 'queue_unavailable', retryable: true } });
    } finally {
      other.close();
      await down.close();
    }
  });
});
