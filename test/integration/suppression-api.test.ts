import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import type { CanonicalAlert } from '../../src/domain/alert';
import { fingerprint } from '../../src/domain/fingerprint';
import { buildPipeline } from '../../src/pipeline/pipeline';
import { createPipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import { EmbeddedQueue } from '../../src/queue/embedded-queue';
import type { IngestJob } from '../../src/queue/ingest-queue';
import { compileRuleText } from '../../src/rules/rule-loader';
import { createJobProcessor } from '../../src/worker/job-processor';
import { ALERTS_SCANNED_PER_PAGE } from '../../src/api/alerts-router';
import { serveTestApp, TEST_API_TOKEN, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/** The silences API (Alertmanager's shape and semantics) and `GET /api/v1/alerts`, on the real HTTP API. */
const RULES = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: by-service
    matchers: ['service=~".+"']
    group_by: [service]
`;

let t: TestDatabase;
let app: TestApp;
let apply: (job: IngestJob) => Promise<void>;

beforeAll(async () => {
  t = await createTestDatabase();
  app = await serveTestApp({ db: t.db, queue: new EmbeddedQueue(t.db), openReads: true });
  const metrics = createPipelineMetrics(new Registry());
  const rules = compileRuleText('rules.yaml', RULES);
  apply = createJobProcessor(t.db, buildPipeline({ rules: () => rules, metrics }), metrics);
});
afterAll(async () => {
  app.close();
  await t.drop();
});

const call = async (method: string, path: string, body?: unknown, token: string | null = TEST_API_TOKEN) => {
  const r = await fetch(`${app.base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token !== null ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: r.status, body: await r.json() as any };
};
const get = (path: string) => call('GET', path, undefined, null);
const inMinutes = (n: number) => new Date(Date.now() + n * 60_000).toISOString();
const silence = (over: Record<string, unknown> = {}) => ({
  matchers: [{ name: 'service', value: 'pay', isRegex: false, isEqual: true }],
  endsAt: inMinutes(60), createdBy: 'alice', comment: 'deploying', ...over,
});

describe('silences API', () => {
  test('creating needs a token', async () => {
    expect((await call('POST', '/api/v1/silences', silence(), null)).status).toBe(401);
    expect(await call('POST', '/api/v1/silences', silence(), 'wrong-token-0123456789')).toMatchObject({
      status: 401, body: { error: { code: 'unauthorized' } },
    });
    expect((await call('DELETE', `/api/v1/silences/${randomUUID()}`, undefined, null)).status).toBe(401);
  });

  test('Alertmanager\'s shape, matchers as objects or strings; read back; pending until it starts', async () => {
    const created = await call('POST', '/api/v1/silences', silence({
      matchers: [
        { name: 'service', value: 'pay', isRegex: false }, 'env=~"prod|stage"',
        { name: 'team', value: 'x', isRegex: false, isEqual: false },
      ],
    }));
    expect(created.status).toBe(201);
    const id = created.body.silenceID;
    expect(created.body.silence).toEqual({
      id, status: { state: 'active' }, updatedAt: expect.any(String), createdBy: 'api-token', comment: 'deploying',
      startsAt: expect.any(String), endsAt: expect.any(String),
      matchers: [
        { name: 'service', value: 'pay', isRegex: false, isEqual: true },
        { name: 'env', value: 'prod|stage', isRegex: true, isEqual: true },
        { name: 'team', value: 'x', isRegex: false, isEqual: false },
      ],
    });
    // A start in the past is now.
    expect(Math.abs(Date.parse(created.body.silence.startsAt) - Date.now())).toBeLessThan(5000);
    expect(await get(`/api/v1/silences/${id}`)).toEqual({ status: 200, body: created.body.silence });

    const later = await call('POST', '/api/v1/silences', silence({ startsAt: inMinutes(30) }));
    expect(later.body.silence.status).toEqual({ state: 'pending' });
  });

  test.each([
    ['a missing end', { endsAt: undefined }, 'endsAt'],
    ['an end in the past', { endsAt: inMinutes(-1) }, 'endsAt'],
    ['an end before the start', { startsAt: inMinutes(90), endsAt: inMinutes(60) }, 'endsAt'],
    ['a time that is not one', { endsAt: 'tomorrow' }, 'endsAt'],
    ['no matchers', { matchers: [] }, 'matchers'],
    ['a bad regex', { matchers: ['service="pay"', { name: 'x', value: '(', isRegex: true }] }, 'matchers[1]'],
    ['a bad label name', { matchers: [{ name: 'not a label', value: 'x', isRegex: false }] }, 'matchers[0]'],
    ['a bad matcher string', { matchers: ['service'] }, 'matchers[0]'],
    ['matchers that match every alert', { matchers: ['service=~".*"', 'env=""'] }, 'matchers'],
    ['an author that is not text', { createdBy: 42 }, 'createdBy'],
    ['no comment', { comment: undefined }, 'comment'],
    ['an id (an update)', { id: randomUUID() }, 'id'],
  ])('%s is a 400 naming the field', async (_what, over, field) => {
    const r = await call('POST', '/api/v1/silences', silence(over));
    expect(r).toMatchObject({ status: 400, body: { error: { code: 'invalid_payload', field, retryable: false } } });
    expect(r.body.error.message).toMatch(new RegExp(`^${field.replace(/[[\]]/g, '\\$&')}: `));
  });

  test('a body that is not JSON is 400 invalid_json; nothing is stored', async () => {
    const before = (await get('/api/v1/silences?limit=1000')).body.silences.length;
    expect((await call('POST', '/api/v1/silences', '{"matchers": [')).body.error.code).toBe('invalid_json');
    expect((await get('/api/v1/silences?limit=1000')).body.silences.length).toBe(before);
  });

  test('expiring: DELETE ends it now, again changes nothing; unknown ids are 404, bad ones 400', async () => {
    const { body } = await call('POST', '/api/v1/silences', silence({ comment: 'to expire' }));
    const expired = await call('DELETE', `/api/v1/silences/${body.silenceID}`);
    expect(expired).toMatchObject({ status: 200, body: { id: body.silenceID, status: { state: 'expired' } } });
    expect(Date.parse(expired.body.endsAt)).toBeLessThanOrEqual(Date.now());
    const again = await call('DELETE', `/api/v1/silences/${body.silenceID}`);
    expect(again).toEqual({ status: 200, body: expired.body });
    expect((await get(`/api/v1/silences/${body.silenceID}`)).body.status.state).toBe('expired');
    // A pending silence expires too: it starts and ends now.
    const pending = await call('POST', '/api/v1/silences', silence({ startsAt: inMinutes(30) }));
    const gone = await call('DELETE', `/api/v1/silences/${pending.body.silenceID}`);
    expect(gone.body.status.state).toBe('expired');
    expect(gone.body.startsAt).toBe(gone.body.endsAt);

    expect(await call('DELETE', `/api/v1/silences/${randomUUID()}`))
      .toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(await get(`/api/v1/silences/${randomUUID()}`)).toMatchObject({ status: 404 });
    expect(await get('/api/v1/silences/42'))
      .toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
  });

  test('the list: newest first, by state, paged with a cursor', async () => {
    const all = (await get('/api/v1/silences?limit=1000')).body.silences;
    expect(all.length).toBeGreaterThanOrEqual(4);
    const states = new Set(all.map((s: any) => s.status.state));
    expect(states).toEqual(new Set(['active', 'pending', 'expired']));
    const active = (await get('/api/v1/silences?state=active')).body.silences;
    expect(active.length).toBeGreaterThan(0);
    expect(active.every((s: any) => s.status.state === 'active')).toBe(true);
    expect((await get('/api/v1/silences?state=pending,expired')).body.silences.length).toBe(all.length - active.length);

    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: any } = await get(`/api/v1/silences?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.body.silences.length).toBeLessThanOrEqual(2);
      paged.push(...page.body.silences.map((s: any) => s.id));
      cursor = page.body.next;
    } while (cursor !== null);
    expect(paged).toEqual(all.map((s: any) => s.id));

    expect(await get('/api/v1/silences?state=asleep'))
      .toMatchObject({ status: 400, body: { error: { code: 'invalid_request', field: 'state' } } });
    expect((await get('/api/v1/silences?cursor=nope')).status).toBe(400);
  });
});

describe('GET /api/v1/alerts', () => {
  const now = new Date().toISOString();
  const alert = (labels: Record<string, string>): CanonicalAlert => ({
    source: 'test', fingerprint: fingerprint('test', labels), status: 'firing', labels, annotations: { summary: 's' },
    startsAt: now, endsAt: null,
  });
  const silenced = alert({ alertname: 'Quiet', service: 'muted', env: 'prod' });
  const paged = alert({ alertname: 'Loud', service: 'web', env: 'prod' });
  const orphan = alert({ alertname: 'Orphan', env: 'dev' });
  let silenceId: string;

  beforeAll(async () => {
    const created = await call('POST', '/api/v1/silences', silence({ matchers: ['service="muted"'] }));
    silenceId = created.body.silenceID;
    await apply({ id: randomUUID(), connector: 'test', receivedAt: now, alerts: [silenced, paged, orphan] });
    const resolve = { ...paged, status: 'resolved' as const, endsAt: new Date().toISOString() };
    await apply({ id: randomUUID(), connector: 'test', receivedAt: now, alerts: [resolve] });
  });

  test('each alert shows its state, its incident, and why it has none', async () => {
    const fingerprints = [silenced, paged, orphan].map((a) => a.fingerprint).join(',');
    const { status, body } = await get(`/api/v1/alerts?fingerprint=${fingerprints}`);
    expect(status).toBe(200);
    const byName = Object.fromEntries(body.alerts.map((a: any) => [a.labels.alertname, a]));
    expect(byName['Quiet']).toEqual({
      fingerprint: silenced.fingerprint, source: 'test', labels: silenced.labels, annotations: { summary: 's' },
      generator_url: null, status: 'firing', starts_at: now, ends_at: null, occurrences: 1,
      first_seen_at: expect.any(String), last_seen_at: expect.any(String),
      disposition: 'silenced', disposition_detail: { silenced_by: [silenceId], ends_at: expect.any(String) },
      incident_id: null,
    });
    expect(byName['Loud']).toMatchObject({
      status: 'resolved', disposition: 'incident', incident_id: expect.any(Number),
      disposition_detail: { incident_id: byName['Loud'].incident_id },
    });
    expect(byName['Orphan']).toMatchObject({ status: 'firing', disposition: 'uncorrelated', incident_id: null });
    expect(body.next).toBeNull();
  });

  test('filters: status, disposition, Alertmanager matchers (repeatable), fingerprint', async () => {
    const names = async (query: string) => {
      const r = await get(`/api/v1/alerts?${query}`);
      expect(r.status).toBe(200);
      return r.body.alerts.map((a: any) => a.labels.alertname).sort();
    };
    expect(await names('disposition=silenced')).toEqual(['Quiet']);
    expect(await names('disposition=silenced,uncorrelated')).toEqual(['Orphan', 'Quiet']);
    expect(await names('status=resolved')).toEqual(['Loud']);
    expect(await names(`filter=${encodeURIComponent('env="prod"')}`)).toEqual(['Loud', 'Quiet']);
    const both = `filter=${encodeURIComponent('env="prod"')}&filter=${encodeURIComponent('alertname=~"Qu.*"')}`;
    expect(await names(both)).toEqual(['Quiet']);
    expect(await names(`filter=${encodeURIComponent('service=""')}`)).toEqual(['Orphan']); // a missing label is ""
    expect(await names(`filter=${encodeURIComponent('alertname!~"Quiet|Loud"')}&status=firing`)).toEqual(['Orphan']);
    expect(await names(`fingerprint=${orphan.fingerprint}&disposition=incident`)).toEqual([]);

    expect(await get(`/api/v1/alerts?filter=${encodeURIComponent('env=~"("')}`))
      .toMatchObject({ status: 400, body: { error: { code: 'invalid_request', field: 'filter' } } });
    expect(await get('/api/v1/alerts?disposition=forgotten'))
      .toMatchObject({ status: 400, body: { error: { code: 'invalid_request', field: 'disposition' } } });
    expect((await get('/api/v1/alerts?status=open')).status).toBe(400);
  });

  test('paged in fingerprint order; a selective filter reads a bounded number of rows per page', async () => {
    // Many stored alerts before the one silenced alert in fingerprint order.
    await sql`insert into alerts (fingerprint, source, status, labels, annotations, starts_at, occurrences,
        first_seen_at, last_seen_at, disposition)
      select '0' || lpad(i::text, 8, '0'), 'test', 'firing', jsonb_build_object('alertname', 'Bulk', 'n', i::text),
        '{}', now(), 1, now(), now(), 'uncorrelated'
      from generate_series(1, ${ALERTS_SCANNED_PER_PAGE + 50}) i`.execute(t.db);
    const first = await get('/api/v1/alerts?disposition=silenced');
    expect(first.body.alerts).toEqual([]); // the page read its bound, all of them left out
    expect(first.body.next).not.toBeNull();
    const second = await get(`/api/v1/alerts?disposition=silenced&cursor=${first.body.next}`);
    expect(second.body.alerts.map((a: any) => a.fingerprint)).toEqual([silenced.fingerprint]);
    expect(second.body.next).toBeNull();

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query = `limit=1000&filter=alertname%3D%22Bulk%22${cursor ? `&cursor=${cursor}` : ''}`;
      const page: { body: any } = await get(`/api/v1/alerts?${query}`);
      seen.push(...page.body.alerts.map((a: any) => a.fingerprint));
      cursor = page.body.next;
    } while (cursor !== null);
    expect(seen).toHaveLength(ALERTS_SCANNED_PER_PAGE + 50);
    expect([...seen].sort()).toEqual(seen);
  });
});
