import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { intake } from '../../src/connectors/connector-intake';
import { connectorSetups } from '../../src/connectors/connector-settings';
import { signHmac } from '../../src/connectors/hmac-signature';
import { createTestDatabase, type TestDatabase } from '../../test/support/postgres';
import { openTestQueue, type TestQueue } from '../../test/support/redis';
import { serveTestApp, TEST_INGEST_TOKEN, type TestApp } from '../../test/support/app';
import { connector } from './index';

const fixture = (name: string): Record<string, any> =>
  JSON.parse(readFileSync(join(__dirname, 'fixtures', name), 'utf8'));
const normalized = (name: string, at = new Date('2026-11-25T09:00:00Z')) =>
  connector.normalize(connector.schema.parse(fixture(name)), at);

describe('normalize (pure)', () => {
  test('keeps orgId and Grafana\'s fingerprint as the identity, URLs and values as annotations', () => {
    const [a, b] = normalized('firing.json');
    expect(a).toEqual({
      status: 'firing',
      labels: {
        alertname: 'High memory usage', grafana_folder: 'Infra', team: 'blue', zone: 'us-1',
        grafana_org_id: '1', grafana_fingerprint: 'c6eadffa33fcdf37',
      },
      annotations: expect.objectContaining({
        summary: 'This alert was triggered for zone us-1',
        dashboard_url: 'https://grafana.example/d/abcd?orgId=1',
        panel_url: 'https://grafana.example/d/abcd?orgId=1&viewPanel=4',
        silence_url: expect.stringContaining('/alerting/silence/new?'),
        value_B: '44.23943737541908', value_C: '1',
        value_string: expect.stringContaining("var='B'"),
      }),
      startsAt: '2026-11-25T07:51:03.157Z',
      endsAt: null,
      generatorUrl: expect.stringContaining('/alerting/grafana/'),
    });
    // Empty URLs are left out; a future endsAt of a firing alert is Grafana's resolve timeout, not an end.
    expect(b!.annotations).not.toHaveProperty('dashboard_url');
    expect(b!.endsAt).toBeNull();
  });

  test('a resolved alert ends when Grafana says', () => {
    const [a] = normalized('resolved.json');
    expect([a!.status, a!.endsAt]).toEqual(['resolved', '2026-11-25T08:20:03.157Z']);
  });

  test('the same alert in two orgs is two alerts; two label sets of one rule are two alerts', () => {
    const take = (payload: object) => {
      const t = intake(connector, payload, new Date('2026-11-25T09:00:00Z'), 3600);
      if (!t.ok) throw new Error('refused');
      return t.alerts.map((x) => x.fingerprint);
    };
    const [one, two] = take(fixture('firing.json'));
    expect(one).not.toBe(two);
    const [otherOrg] = take({ ...fixture('firing.json'), orgId: 2 });
    expect(otherOrg).not.toBe(one);
    // Without Grafana's fingerprint (older versions) the labels still tell alerts apart.
    const bare = fixture('firing.json');
    for (const a of bare['alerts']) delete a.fingerprint;
    const [x, y] = take(bare);
    expect(x).not.toBe(y);
  });
});

describe('POST /ingest/grafana', () => {
  const SECRET = 'grafana-hmac-secret-0123456789';
  let t: TestDatabase;
  let q: TestQueue;
  let app: TestApp;

  beforeAll(async () => {
    t = await createTestDatabase();
    q = await openTestQueue();
    const setups = connectorSetups([connector], {
      QUELL_CONNECTOR_GRAFANA_HMAC_SECRET: SECRET,
      QUELL_CONNECTOR_GRAFANA_TOKENS: 'grafana-eu=eu-token-0123456789abcdef',
    });
    app = await serveTestApp({ db: t.db, queue: q.queue, connectors: setups });
  });
  afterAll(async () => {
    app.close();
    await q.close();
    await t.drop();
  });
  beforeEach(async () => { await q.bull.drain(true); });

  const post = (body: string, headers: Record<string, string>) => fetch(`${app.base}/ingest/grafana`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body,
  });
  const scheme = { ...connector.signature, windowSeconds: 300 } as Parameters<typeof signHmac>[1];

  test('a body signed as Grafana signs it is queued, with no bearer token', async () => {
    const body = JSON.stringify(fixture('firing.json'));
    const res = await post(body, signHmac(SECRET, scheme, body, new Date()));
    expect(res.status).toBe(202);
    const jobs = await q.waiting();
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.alerts.map((a) => a.labels['grafana_fingerprint']))
      .toEqual(['c6eadffa33fcdf37', 'bc97ff14869b13e3']);
  });

  test.each([
    ['no signature', () => ({}), 'X-Grafana-Alerting-Signature: missing'],
    ['a signature over another body', (body: string) => signHmac(SECRET, scheme, `${body} `, new Date()),
      'does not match'],
    ['a signature made with another secret',
      (body: string) => signHmac('another-secret-0123456789', scheme, body, new Date()), 'does not match'],
    ['a signature ten minutes old (a replay)',
      (body: string) => signHmac(SECRET, scheme, body, new Date(Date.now() - 600_000)), 'replay window'],
    ['a valid bearer token but no signature', () => ({ authorization: `Bearer ${TEST_INGEST_TOKEN}` }),
      'missing signature'],
  ])('401 for %s, and nothing queued', async (_what, sign, message) => {
    const body = JSON.stringify(fixture('firing.json'));
    const res = await post(body, sign(body));
    expect(res.status).toBe(401);
    const { error } = await res.json() as { error: { code: string; message: string } };
    expect(error.code).toBe('unauthorized');
    expect(error.message).toContain(message);
    expect(error.message).not.toContain(SECRET);
    expect(await q.waiting()).toHaveLength(0);
  });

  test('a sender\'s own token (basic auth, as Grafana sends it) is taken along with the signature', async () => {
    const body = JSON.stringify(fixture('resolved.json'));
    const basic = `Basic ${Buffer.from('grafana-eu:eu-token-0123456789abcdef').toString('base64')}`;
    expect((await post(body, { authorization: basic, ...signHmac(SECRET, scheme, body, new Date()) })).status)
      .toBe(202);
    const wrong = `Basic ${Buffer.from('grafana-eu:nope').toString('base64')}`;
    expect((await post(body, { authorization: wrong, ...signHmac(SECRET, scheme, body, new Date()) })).status)
      .toBe(401);
  });
});
