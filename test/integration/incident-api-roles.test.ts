import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { hashToken, loadTokensFile, TokenRegistry, TokensFileError } from '../../src/http/api-tokens';
import { DEFAULT_PRIORITY_POLICY, type PriorityPolicy } from '../../src/domain/priority';
import { buildPipeline } from '../../src/pipeline/pipeline';
import { createPipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import { EmbeddedQueue } from '../../src/queue/embedded-queue';
import type { IngestJob } from '../../src/queue/ingest-queue';
import { compileRuleText } from '../../src/rules/rule-loader';
import { listIncidents } from '../../src/store/incident-queries';
import { createJobProcessor } from '../../src/worker/job-processor';
import { serveTestApp, TEST_API_TOKEN, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { firingAlert } from '../support/storm';

const RULES = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: by-service
    matchers: ['service=~".+"']
    group_by: [service]
    group_window: 10m
`;
const TOKENS = { viewer: 'viewer-token-0123456789abcdef', operator: 'operator-token-0123456789abcdef',
  admin: 'admin-token-0123456789abcdef' };
/** A matrix unlike the default, to see that the configured one is used. */
const MATRIX: PriorityPolicy = {
  ...DEFAULT_PRIORITY_POLICY,
  matrix: { high: { high: 1, medium: 1, low: 2 }, medium: { high: 2, medium: 3, low: 4 },
    low: { high: 3, medium: 5, low: 5 } },
};

let t: TestDatabase;
let app: TestApp;
let apply: (job: IngestJob) => Promise<void>;

beforeAll(async () => {
  t = await createTestDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'quell-tokens-'));
  const file = join(dir, 'tokens.yaml');
  writeFileSync(file, [
    `- { name: vera, role: viewer, sha256: ${hashToken(TOKENS.viewer)} }`,
    `- { name: olga, role: operator, sha256: ${hashToken(TOKENS.operator).toUpperCase()} }`,
    `- { name: adam, role: admin, sha256: ${hashToken(TOKENS.admin)} }`,
  ].join('\n'));
  // Roles are the subject here: reads are not open.
  app = await serveTestApp({
    db: t.db, queue: new EmbeddedQueue(t.db), openReads: false, priorityPolicy: () => MATRIX,
    tokens: { ingest: 'ingest-token-0123456789', api: TEST_API_TOKEN, apiTokens: loadTokensFile(file) },
  });
  const metrics = createPipelineMetrics(new Registry());
  const rules = compileRuleText('rules.yaml', RULES);
  apply = createJobProcessor(t.db, buildPipeline({ rules: () => rules, metrics }), metrics);
});
afterAll(async () => { app.close(); await t.drop(); });

type Who = keyof typeof TOKENS | 'api' | 'none' | 'wrong';
const tokenOf = (who: Who) => (
  who === 'api' ? TEST_API_TOKEN : who === 'none' ? undefined : who === 'wrong' ? 'not-a-token' : TOKENS[who]);
async function call(method: string, path: string, who: Who, body?: unknown) {
  const token = tokenOf(who);
  const r = await fetch(`${app.base}${path}`, {
    method,
    headers: { 'content-type': 'application/json',
      ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: r.status, body: await r.json() as any };
}
const post = (path: string, who: Who, body: unknown = {}) => call('POST', path, who, body);

async function newIncident(service: string, severity = 'warning'): Promise<number> {
  await apply({ id: randomUUID(), connector: 'test', receivedAt: new Date().toISOString(),
    alerts: [firingAlert({ alertname: 'A', service, severity })] });
  const incident = (await listIncidents(t.db)).find((i) => i.group_key === `by-service:{service="${service}"}`);
  return incident!.id;
}
const rowOf = (id: number) => t.db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const timelineOf = async (id: number) => (await call('GET', `/api/v1/incidents/${id}/timeline`, 'viewer'))
  .body.timeline as any[];

describe('roles', () => {
  test('reads need a viewer token: none is 401, a wrong one is 401, any role reads', async () => {
    expect((await call('GET', '/api/v1/incidents', 'none')).status).toBe(401);
    expect((await call('GET', '/api/v1/incidents', 'wrong')).body.error.code).toBe('unauthorized');
    for (const who of ['viewer', 'operator', 'admin', 'api'] as const) expect((await call('GET', '/api/v1/incidents',
      who)).status).toBe(200);
    for (const path of ['/api/v1/alerts', '/api/v1/silences', '/api/v1/runbook-runs', '/api/v1/changes',
      '/api/v1/runbooks/kill-switch']) {
      expect([path, (await call('GET', path, 'none')).status]).toEqual([path, 401]);
      expect([path, (await call('GET', path, 'viewer')).status]).toEqual([path, 200]);
    }
  });

  test('a wrong role gets 403 naming the role needed, and changes nothing', async () => {
    const id = await newIncident('forbidden');
    const before = await rowOf(id);
    const timeline = await timelineOf(id);
    for (const [action, body] of [['acknowledge', {}], ['resolve', {}], ['hold', { state: 'on_hold', reason: 'r' }],
      ['assign', { assignee: 'x' }], ['comment', { comment: 'c' }], ['impact-urgency',
        { impact: 'high', urgency: 'high' }]] as const) {
      const r = await post(`/api/v1/incidents/${id}/${action}`, 'viewer', body);
      expect([action, r.status, r.body.error.code, r.body.error.role_needed])
        .toEqual([action, 403, 'forbidden', 'operator']);
      expect(r.body.error.message).toMatch(/role operator/);
    }
    expect(await rowOf(id)).toEqual(before);
    expect(await timelineOf(id)).toEqual(timeline);
    // Configuration needs admin: an operator is refused, and nothing is created.
    const silence = { matchers: ['service="x"'], endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      createdBy: 'me', comment: 'c' };
    const refused = await post('/api/v1/silences', 'operator', silence);
    expect([refused.status, refused.body.error.role_needed]).toEqual([403, 'admin']);
    expect((await call('GET', '/api/v1/silences', 'viewer')).body.silences).toEqual([]);
    expect((await call('PUT', '/api/v1/runbooks/kill-switch', 'operator', { enabled: false })).status).toBe(403);
    expect((await call('GET', '/api/v1/runbooks/kill-switch', 'viewer')).body.api_enabled).toBe(true);
    expect((await call('GET', '/api/v1/cmdb', 'operator')).status).toBe(403);
    expect((await post('/api/v1/changes/1/approve', 'operator')).status).toBe(403);
    expect((await post('/api/v1/runbook-runs/1/approve', 'operator')).status).toBe(403);
  });

  test('no token or a wrong one on a change is 401 before the body is looked at', async () => {
    const id = await newIncident('unauthorized');
    expect((await post(`/api/v1/incidents/${id}/acknowledge`, 'none')).status).toBe(401);
    expect((await post(`/api/v1/incidents/${id}/acknowledge`, 'wrong', { comment: 42 })).status).toBe(401);
    expect((await rowOf(id)).status).toBe('open');
  });

  test('every change is on the timeline under the token\'s name; a self-declared by is ignored', async () => {
    const id = await newIncident('names');
    expect((await post(`/api/v1/incidents/${id}/acknowledge`, 'operator', { by: 'mallory', comment: 'mine' })).status)
      .toBe(200);
    expect((await post(`/api/v1/incidents/${id}/comment`, 'admin', { by: 'mallory',
      comment: 'admin works incidents too' })).status).toBe(200);
    expect((await post(`/api/v1/incidents/${id}/resolve`, 'api', { by: 'mallory' })).status).toBe(200);
    const people = (await timelineOf(id)).filter((e) => e.actor !== 'quell').map((e) => [e.kind, e.actor]);
    expect(people).toEqual([['acknowledged', 'olga'], ['commented', 'adam'], ['resolved', 'api-token']]);
    // Silences record the token's name as createdBy too.
    const silence = { matchers: ['service="names"'], endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      createdBy: 'mallory', comment: 'c' };
    const created = await post('/api/v1/silences', 'admin', silence);
    expect([created.status, created.body.silence.createdBy]).toEqual([201, 'adam']);
    const kill = await call('PUT', '/api/v1/runbooks/kill-switch', 'admin', { enabled: true, by: 'mallory' });
    expect(kill.body.updated_by).toBe('adam');
  });

  test('open reads let reads through without a token, never changes; a wrong token is still refused', async () => {
    const open = await serveTestApp({
      db: t.db, queue: new EmbeddedQueue(t.db), openReads: true,
      tokens: { ingest: 'ingest-token-0123456789', api: TEST_API_TOKEN, apiTokens: [] },
    });
    try {
      const id = await newIncident('open-reads');
      expect((await fetch(`${open.base}/api/v1/incidents/${id}`)).status).toBe(200);
      expect((await fetch(`${open.base}/api/v1/incidents`, { headers: { authorization: 'Bearer nope' } })).status)
        .toBe(401);
      const ack = await fetch(`${open.base}/api/v1/incidents/${id}/acknowledge`, { method: 'POST' });
      expect(ack.status).toBe(401);
      expect((await fetch(`${open.base}/api/v1/cmdb`)).status).toBe(401);
      expect((await rowOf(id)).status).toBe('open');
    } finally {
      open.close();
    }
  });
});

describe('tokens', () => {
  test('kept as SHA-256 digests and compared by hashing what is presented, whatever its length', () => {
    const registry = new TokenRegistry('the-api-token-0123456789', [{ name: 'olga', role: 'operator',
      sha256: hashToken('short') }]);
    expect(registry.identify('short')).toEqual({ name: 'olga', role: 'operator' });
    expect(registry.identify('the-api-token-0123456789')).toEqual({ name: 'api-token', role: 'admin' });
    // Lengths that differ from every token (timingSafeEqual alone would throw on them) just do not match.
    for (const other of ['', 's', 'shor', 'shortt', 'x'.repeat(10_000), 'sh\u00f6rt']) expect(registry.identify(other))
      .toBeUndefined();
    // No token is kept as it was given: only digests.
    const kept = JSON.stringify(registry, (_k, v: { type?: string; data?: number[] } | null | undefined) =>
      (v?.type === 'Buffer' ? Buffer.from(v.data!).toString('hex') : v));
    expect(kept).not.toContain('the-api-token');
    expect(kept).toContain(hashToken('the-api-token-0123456789'));
  });

  test('a bad tokens file is refused naming the entry and field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'quell-tokens-'));
    const write = (text: string) => { const f = join(dir, `${randomUUID()}.yaml`); writeFileSync(f, text); return f; };
    const h = hashToken('x');
    expect(() => loadTokensFile(write(`- { name: a, role: root, sha256: ${h} }`))).toThrow(/tokens\[0\]\.role/);
    expect(() => loadTokensFile(write('- { name: a, role: admin, sha256: abc }')))
      .toThrow(/tokens\[0\]\.sha256: expected the token's SHA-256/);
    const twice = `- { name: a, role: admin, sha256: ${h} }\n- { name: a, role: viewer, sha256: ${hashToken('y')} }`;
    expect(() => loadTokensFile(write(twice)))
      .toThrow(/tokens\[1\]\.name: a second token named "a"/);
    expect(() => loadTokensFile(write(`- { name: api-token, role: admin, sha256: ${h} }`)))
      .toThrow(/tokens\[0\]\.name/);
    expect(() => loadTokensFile(write(`- { name: a, role: admin, sha256: ${h}, token: x }`))).toThrow(TokensFileError);
    expect(loadTokensFile(write(''))).toEqual([]);
  });
});

describe('incident API', () => {
  test('assign: assignee and/or group, null clears, the detail shows them; a resolved incident is 409', async () => {
    const id = await newIncident('assign');
    const r = await post(`/api/v1/incidents/${id}/assign`, 'operator', { assignee: 'olga', assignment_group: 'dba' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ assignee: 'olga', assignment_group: 'dba' });
    expect((await post(`/api/v1/incidents/${id}/assign`, 'operator', { assignee: null })).body)
      .toMatchObject({ assignee: null, assignment_group: 'dba' });
    // The same again changes nothing and writes nothing.
    expect((await post(`/api/v1/incidents/${id}/assign`, 'operator', { assignment_group: 'dba' })).status).toBe(200);
    const assigned = (await timelineOf(id)).filter((e) => e.kind === 'assigned').map((e) => [e.actor, e.detail]);
    expect(assigned).toEqual([['olga', { assignee: 'olga', assignment_group: 'dba' }], ['olga', { assignee: null }]]);
    const bad = await post(`/api/v1/incidents/${id}/assign`, 'operator', {});
    expect([bad.status, bad.body.error.field]).toEqual([400, 'assignee']);
    const long = await post(`/api/v1/incidents/${id}/assign`, 'operator', { assignment_group: 'x'.repeat(201) });
    expect([long.status, long.body.error.field]).toEqual([400, 'assignment_group']);
    await post(`/api/v1/incidents/${id}/resolve`, 'operator');
    const late = await post(`/api/v1/incidents/${id}/assign`, 'operator', { assignee: 'x' });
    expect([late.status, late.body.error.code, late.body.error.status]).toEqual([409, 'conflict', 'resolved']);
    expect(late.body.error.message).toMatch(/is resolved/);
  });

  test('hold and resume: 409 names the status, 400 names the field, the detail shows the pause', async () => {
    const id = await newIncident('hold');
    const noReason = await post(`/api/v1/incidents/${id}/hold`, 'operator', { state: 'on_hold' });
    expect([noReason.status, noReason.body.error.field]).toEqual([400, 'reason']);
    const badState = await post(`/api/v1/incidents/${id}/hold`, 'operator', { state: 'paused', reason: 'r' });
    expect([badState.status, badState.body.error.field]).toEqual([400, 'state']);
    const resume = await post(`/api/v1/incidents/${id}/resume`, 'operator');
    expect([resume.status, resume.body.error.message]).toEqual([409, `incident ${id} is open; cannot resume`]);
    expect((await rowOf(id)).status).toBe('open');

    const held = await post(`/api/v1/incidents/${id}/hold`, 'operator', { state: 'awaiting_change',
      reason: 'CHG0042 approval', comment: 'waiting' });
    expect(held.status).toBe(200);
    expect(held.body).toMatchObject({ status: 'awaiting_change', paused_ms: 0 });
    expect(held.body.paused_at).toEqual(expect.any(String));
    const again = await post(`/api/v1/incidents/${id}/hold`, 'operator', { state: 'awaiting_change', reason: 'r' });
    expect([again.status, again.body.error.status]).toEqual([409, 'awaiting_change']);
    const ack = await post(`/api/v1/incidents/${id}/acknowledge`, 'operator');
    expect([ack.status, ack.body.error.message])
      .toEqual([409, `incident ${id} is awaiting_change; cannot acknowledge`]);

    const resumed = await post(`/api/v1/incidents/${id}/resume`, 'operator');
    expect(resumed.body).toMatchObject({ status: 'open', paused_at: null });
    expect(resumed.body.paused_ms).toEqual(expect.any(Number));
    const rows = (await timelineOf(id)).filter((e) => e.actor === 'olga').map((e) => [e.kind, e.detail]);
    expect(rows).toEqual([
      ['held', { state: 'awaiting_change', reason: 'CHG0042 approval', comment: 'waiting' }],
      ['resumed', { status: 'open', held_ms: resumed.body.paused_ms }],
    ]);
  });

  test('impact and urgency recompute the priority through the configured matrix; alerts no longer move it',
    async () => {
    const id = await newIncident('impact', 'critical');
    const before = (await rowOf(id)).priority;
    const first = await post(`/api/v1/incidents/${id}/impact-urgency`, 'operator', { impact: 'low' });
    expect([first.status, first.body.error.field]).toEqual([400, 'urgency']);
    const set = await post(`/api/v1/incidents/${id}/impact-urgency`, 'operator', { impact: 'low', urgency: 2 });
    expect(set.status).toBe(200);
    // The configured matrix says low x medium is 5 (the ITIL default says 4).
    expect(set.body).toMatchObject({ impact: 3, urgency: 2, priority: 5 });
    const rows = (await timelineOf(id)).filter((e) => e.actor === 'olga').map((e) => [e.kind, e.detail]);
    expect(rows).toEqual([
      ['impact_urgency_changed', { impact: 3, urgency: 2, previous: { impact: null, urgency: null } }],
      ['priority_changed', { priority: 5, previous: before }],
    ]);
    // Now either alone will do; the other is the incident's own.
    expect((await post(`/api/v1/incidents/${id}/impact-urgency`, 'operator', { urgency: 'high' })).body)
      .toMatchObject({ impact: 3, urgency: 1, priority: 3 });
    const bad = await post(`/api/v1/incidents/${id}/impact-urgency`, 'operator', { impact: 'huge' });
    expect([bad.status, bad.body.error.field]).toEqual([400, 'impact']);
    // A critical alert joining does not override a person's priority.
    await apply({ id: randomUUID(), connector: 'test', receivedAt: new Date().toISOString(),
      alerts: [firingAlert({ alertname: 'B', service: 'impact', severity: 'critical' })] });
    expect(await rowOf(id)).toMatchObject({ priority: 3, alert_count: 2 });
  });

  test('comment: on any status, 400 without text, 404 for no incident', async () => {
    const id = await newIncident('comment');
    await post(`/api/v1/incidents/${id}/resolve`, 'operator');
    expect((await post(`/api/v1/incidents/${id}/comment`, 'operator', { comment: 'post-mortem on Monday' })).status)
      .toBe(200);
    const empty = await post(`/api/v1/incidents/${id}/comment`, 'operator', { comment: '  ' });
    expect([empty.status, empty.body.error.field]).toEqual([400, 'comment']);
    expect((await post('/api/v1/incidents/99999/comment', 'operator', { comment: 'x' })).status).toBe(404);
    const detail = await call('GET', `/api/v1/incidents/${id}`, 'viewer');
    expect(detail.body.timeline.at(-1)).toMatchObject({ kind: 'commented', actor: 'olga',
      detail: { comment: 'post-mortem on Monday' } });
    expect(detail.body).toMatchObject({ assignee: null, assignment_group: null, impact: null, urgency: null,
      paused_at: null, paused_ms: 0 });
  });
});
