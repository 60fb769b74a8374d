import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actionByName, RUNBOOK_ACTIONS } from '../../src/runbooks/actions/action-registry';
import { StepError, type ActionContext, type StepOutput } from '../../src/runbooks/runbook-action';
import type { DocumentContext } from '../../src/rules/rule-kind';
import { FakeIncidentPort, testContext } from '../support/action-context';
import { startRecordingServer, type RecordingServer } from '../support/http-recorder';

/** Compiles a step's `with:` as the Runbooks kind does; a compile error fails the test. */
function compile(action: string, spec: unknown) {
  const a = actionByName(action)!;
  const errors: string[] = [];
  const doc: DocumentContext = {
    file: 't.yaml', position: () => ({ file: 't.yaml', line: 1, column: 1 }),
    error: (path, reason) => errors.push(`${path.join('.')}: ${reason}`), warn: () => {},
  };
  const params = a.compile(a.schema.parse(spec), ['with'], doc);
  if (errors.length > 0) throw new Error(errors.join('\n'));
  return { run: (ctx: ActionContext): Promise<StepOutput> => a.run(params, ctx), mutates: a.mutates(params) };
}

describe('runbook actions', () => {
  let server: RecordingServer;
  beforeAll(async () => {
    server = await startRecordingServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url.startsWith('/fail')) { res.statusCode = 503; res.end('{"error":"busy"}'); return; }
      if (req.url.startsWith('/missing')) { res.statusCode = 404; res.end('no'); return; }
      if (req.url === '/rest/api/2/issue' && req.method === 'POST') {
        res.statusCode = 201; res.end('{"id":"10001","key":"OPS-7","self":"x"}'); return;
      }
      if (req.url.startsWith('/rest/api/2/issue/')) { res.statusCode = 204; res.end(); return; }
      if (req.url === '/api/now/table/incident' && req.method === 'POST') {
        res.statusCode = 201; res.end('{"result":{"sys_id":"abc123","number":"INC0010001"}}'); return;
      }
      if (req.url.startsWith('/api/now/table/incident/')) { res.end('{"result":{"sys_id":"abc123"}}'); return; }
      if (req.url.startsWith('/api/v1/query')) {
        const q = new URL(req.url, 'http://x').searchParams.get('query');
        const up = server.requests.filter((r) => r.url.startsWith('/api/v1/query')).length >= 3 ? '1' : '0';
        res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector',
          result: [{ metric: { q }, value: [1, up] }] } }));
        return;
      }
      res.end(JSON.stringify({ ok: true, token: req.headers.authorization ?? null }));
    });
  });
  afterAll(() => server.close());
  const last = () => server.requests[server.requests.length - 1]!;

  test('the registry lists six actions, each once', () => {
    expect(RUNBOOK_ACTIONS.map((a) => a.name)).toEqual(['http', 'exec', 'notify', 'wait_for', 'incident', 'ticket']);
  });

  describe('http', () => {
    test('renders method, URL, headers and a JSON body; output status and body with secrets masked', async () => {
      const step = compile('http', {
        method: 'POST', url: `http://{{ labels.instance }}/repair/{{ labels.svc }}`,
        headers: { Authorization: 'Bearer {{ secret.TOKEN }}' }, body: { incident: '{{ incident.id }}', n: 3,
          tags: ['{{ labels.svc }}'] },
      });
      expect(step.mutates).toBe(true);
      const out = await step.run(testContext({ labels: { instance: `127.0.0.1:${server.port}`, svc: 'a b/c' },
        secrets: { TOKEN: 'tok-123' } }));
      expect(last()).toMatchObject({ method: 'POST', url: '/repair/a%20b%2Fc',
        body: '{"incident":"42","n":3,"tags":["a b/c"]}' });
      expect(last().headers['content-type']).toBe('application/json');
      expect(out).toEqual({ status: 200, body: '{"ok":true,"token":"Bearer ***"}' });
    });

    test('5xx is retryable, 404 is not, expect_status decides success', async () => {
      const ctx = testContext();
      const e503 = await compile('http', { url: `${server.base}/fail` }).run(ctx).catch((e: unknown) => e as any);
      expect(e503).toBeInstanceOf(StepError);
      expect([e503.retryable, e503.output.status]).toEqual([true, 503]);
      const e404 = await compile('http', { url: `${server.base}/missing` }).run(ctx).catch((e: unknown) => e as any);
      expect([e404.retryable, e404.output.status]).toEqual([false, 404]);
      await expect(compile('http', { url: `${server.base}/missing`, expect_status: [404] }).run(ctx))
        .resolves.toMatchObject({ status: 404 });
      expect(compile('http', { url: server.base }).mutates).toBe(false);
    });

    test('a destination not allowed is refused (not retryable)', async () => {
      const err = await compile('http', { url: `${server.base}/x` }).run(testContext({ settings: { httpAllow: [] } }))
        .catch((e: unknown) => e as any);
      expect([err.retryable, err.message]).toEqual([false, expect.stringMatching(/loopback.*refused/)]);
    });
  });

  describe('exec', () => {
    test('runs a real program with literal argv entries; env only from the allowlist', async () => {
      const out = await compile('exec', { program: '/bin/echo', args: ['hello', '{{ labels.x }}'] })
        .run(testContext({ labels: { x: 'a; b $(c)' } }));
      expect(out).toEqual({ exit_code: 0, stdout: 'hello a; b $(c)\n', stderr: '' });
      const env = await compile('exec', { program: 'env', env: { TARGET: '{{ ci.id }}' } })
        .run(testContext({ ci: { id: 'ci-7' }, settings: { execEnvAllow: ['TARGET'] } }));
      expect(String(env.stdout).split('\n').filter((l) => l !== '').sort())
        .toEqual([`PATH=${process.env.PATH}`, 'TARGET=ci-7'].sort());
      await expect(compile('exec', { program: '/usr/bin/env', env: { TARGET: 'x' } }).run(testContext()))
        .rejects.toThrow(/not in QUELL_EXEC_ENV_ALLOW/);
    });

    test('a non-zero exit fails, not retryable, with the output', async () => {
      const err = await compile('exec', { program: 'sh', args: ['-c', 'echo out; echo err >&2; exit 3'] })
        .run(testContext()).catch((e: unknown) => e as any);
      expect(err).toBeInstanceOf(StepError);
      expect([err.retryable, err.output]).toEqual([false, { exit_code: 3, stdout: 'out\n', stderr: 'err\n' }]);
    });

    test('a program that outlives its timeout is killed, its group too', async () => {
      const started = Date.now();
      const err = await compile('exec', { program: 'sh', args: ['-c', 'sleep 30 & sleep 30'], timeout: '300ms' })
        .run(testContext()).catch((e: unknown) => e as any);
      expect(err.message).toMatch(/killed/);
      expect(Date.now() - started).toBeLessThan(5000);
    });

    test('a program ignoring SIGTERM is killed with SIGKILL', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'quell-exec-'));
      const script = join(dir, 'stubborn.sh');
      writeFileSync(script, '#!/bin/sh\ntrap "" TERM\nwhile true; do sleep 0.1; done\n');
      chmodSync(script, 0o755);
      const started = Date.now();
      const err = await compile('exec', { program: script, timeout: '200ms' }).run(testContext())
        .catch((e: unknown) => e as any);
      expect(err.message).toMatch(/killed/);
      expect(Date.now() - started).toBeLessThan(6000);
    });

    test('output is truncated to maxOutputBytes', async () => {
      const out = await compile('exec', { program: 'sh', args: ['-c', 'head -c 100000 /dev/zero | tr "\\0" x'] })
        .run(testContext({ settings: { maxOutputBytes: 1000 } }));
      expect(out.stdout).toBe(`${'x'.repeat(1000)}…[truncated]`);
    });
  });

  describe('notify', () => {
    test.each([
      ['generic', (b: any) => expect(b).toEqual({ incident: { id: 42, title: 'Web down', priority: 2, status: 'open' },
        title: 'Web down', text: 'fixed <!channel>' })],
      ['slack', (b: any) => expect(b).toEqual({ text: '*Web down*\nfixed &lt;!channel&gt;' })],
      ['teams', (b: any) => {
        expect(b.type).toBe('message');
        expect(b.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
        expect(b.attachments[0].content.body.map((x: any) => x.text)).toEqual(['Web down', 'fixed <!channel>']);
      }],
    ])('%s shape', async (format, check) => {
      const out = await compile('notify', { format, url: '{{ secret.HOOK }}', text: 'fixed {{ labels.x }}' })
        .run(testContext({ labels: { x: '<!channel>' }, secrets: { HOOK: `${server.base}/hook` } }));
      expect(out).toEqual({ status: 200 });
      expect(last().url).toBe('/hook');
      check(JSON.parse(last().body));
    });
  });

  describe('wait_for', () => {
    test('alerts: resolved polls the incident until no alert fires', async () => {
      const incident = new FakeIncidentPort([2, 1, 0]);
      const out = await compile('wait_for', { alerts: 'resolved', timeout: '5s', interval: '10ms' })
        .run(testContext({ incident }));
      expect(out).toEqual({ met: true, value: 0 });
      expect(incident.calls.filter((c) => c[0] === 'state')).toHaveLength(3);
    });

    test('not met within the timeout: StepError, not retryable, met false', async () => {
      const err = await compile('wait_for', { alerts: 'resolved', timeout: '100ms', interval: '10ms' })
        .run(testContext({ incident: new FakeIncidentPort([1]) })).catch((e: unknown) => e as any);
      expect([err.retryable, err.output]).toEqual([false, { met: false, value: 1 }]);
    });

    test('a Prometheus query until its condition holds; label values escaped in the query', async () => {
      const before = server.requests.length;
      server.requests.length = 0;
      const out = await compile('wait_for', { query: 'up{instance="{{ labels.i }}"}', condition: '== 1', timeout: '5s',
        interval: '10ms' })
        .run(testContext({ labels: { i: 'a"} or vector(1) #' }, settings: { prometheusUrl: server.base,
          httpAllow: [] } }));
      expect(out).toEqual({ met: true, value: 1 });
      const q = new URL(last().url, 'http://x').searchParams.get('query');
      expect(q).toBe('up{instance="a\\"} or vector(1) #"}');
      expect(before).toBeGreaterThanOrEqual(0);
    });
  });

  describe('incident', () => {
    test('comment, set priority, resolve, escalate through the port', async () => {
      const incident = new FakeIncidentPort();
      const ctx = testContext({ incident, labels: { x: '$(id)' } });
      await compile('incident', { comment: 'saw {{ labels.x }}' }).run(ctx);
      await compile('incident', { set_priority: 'P2' }).run(ctx);
      await compile('incident', { resolve: true, comment: 'fixed' }).run(ctx);
      await compile('incident', { escalate: 'did not fix {{ incident.title }}' }).run(ctx);
      expect(incident.calls).toEqual([['comment', 42, 'saw $(id)'], ['setPriority', 42, 2], ['resolve', 42, 'fixed'],
        ['escalate', 42, 'did not fix Web down']]);
    });
  });

  describe('ticket', () => {
    test('Jira create then update', async () => {
      const ctx = testContext({ secrets: { JIRA: 'jt' } });
      const created = await compile('ticket', {
        system: 'jira', url: server.base, project: 'OPS', headers: { Authorization: 'Bearer {{ secret.JIRA }}' },
        fields: { summary: '{{ incident.title }}', description: 'x', priority: 'High' },
      }).run(ctx);
      expect(created).toEqual({ key: 'OPS-7', id: '10001', url: `${server.base}/browse/OPS-7`, status: 201 });
      expect(JSON.parse(last().body)).toEqual({ fields: { project: { key: 'OPS' }, issuetype: { name: 'Task' },
        summary: 'Web down', description: 'x', priority: { name: 'High' } } });
      expect(last().headers.authorization).toBe('Bearer jt');
      const updated = await compile('ticket', { system: 'jira', url: server.base, op: 'update',
        ticket: '{{ steps.t.key }}', fields: { description: 'fixed' } })
        .run(testContext({ steps: { t: created } }));
      expect(last()).toMatchObject({ method: 'PUT', url: '/rest/api/2/issue/OPS-7',
        body: '{"fields":{"description":"fixed"}}' });
      expect(updated).toMatchObject({ key: 'OPS-7', status: 204 });
    });

    test('ServiceNow create then update; a hostile key stays one path segment', async () => {
      const created = await compile('ticket', { system: 'servicenow', url: server.base,
        fields: { summary: 'Web down', urgency: '2' } }).run(testContext());
      expect(created).toMatchObject({ key: 'abc123', number: 'INC0010001' });
      expect(JSON.parse(last().body)).toEqual({ short_description: 'Web down', urgency: '2' });
      await compile('ticket', { system: 'servicenow', url: server.base, op: 'update', ticket: '{{ labels.k }}',
        fields: { work_notes: 'done' } })
        .run(testContext({ labels: { k: '../../../sys_user?x=1' } }));
      expect(last())
        .toMatchObject({ method: 'PATCH',
        url: `/api/now/table/incident/${encodeURIComponent('../../../sys_user?x=1')}` });
    });
  });
});
