import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actionByName, RUNBOOK_ACTIONS } from '../../src/runbooks/actions/action-registry';
import { StepError, type ActionContext } from '../../src/runbooks/runbook-action';
import type { DocumentContext } from '../../src/rules/rule-kind';
import { FakeIncidentPort, testContext } from '../support/action-context';
import { startRecordingServer, type RecordingServer } from '../support/http-recorder';

/**
 * Alert labels are written by whoever can fire an alert. Fed to every template of every action,
 * none of these may run anything, write anything, reach another host, add a header, or be read
 * as a template: each arrives where it goes as the same literal text (or the step is refused).
 */
const MARK = join(tmpdir(), `quell-pwned-${process.pid}`);
const HOSTILE: Record<string, string> = {
  semi: `; touch ${MARK}-semi`,
  subst: `$(touch ${MARK}-subst)`,
  tick: `\`touch ${MARK}-tick\``,
  nl: `a\nX-Injected: 1\r\ntouch ${MARK}-nl`,
  opt: '--output=/etc/passwd',
  tpl: "{{constructor.constructor('return process')()}}",
  secret: '{{ secret.TOKEN }}',
  host: 'evil.example/@127.0.0.1#',
};
const NAMES = Object.keys(HOSTILE);
const marks = () => ['semi', 'subst', 'tick', 'nl'].map((k) => `${MARK}-${k}`).filter((f) => existsSync(f));

function compile(action: string, spec: unknown) {
  const a = actionByName(action)!;
  const doc: DocumentContext = {
    file: 't', position: () => ({ file: 't', line: 1, column: 1 }),
    error: (p, r) => { throw new Error(`${p.join('.')}: ${r}`); }, warn: () => {},
  };
  const params = a.compile(a.schema.parse(spec), ['with'], doc);
  return (ctx: ActionContext) => a.run(params, ctx);
}

describe('hostile labels stay data in every action', () => {
  let server: RecordingServer;
  beforeAll(async () => {
    for (const f of marks()) rmSync(f);
    server = await startRecordingServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url.startsWith('/api/v1/query')) {
        res.end('{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}'); return;
      }
      if (req.url.startsWith('/rest/api/2/issue') && req.method === 'POST') {
        res.statusCode = 201; res.end('{"key":"OPS-1","id":"1"}'); return;
      }
      res.end('{}');
    });
  });
  afterAll(async () => {
    await server.close();
    expect(marks()).toEqual([]);
  });
  const ctx = (extra: Parameters<typeof testContext>[0] = {}) =>
    testContext({ labels: HOSTILE, secrets: { TOKEN: 'real-secret', HOOK: `${server.base}/hook` }, ...extra });
  const body = () => server.requests[server.requests.length - 1]!;

  test('every registered action is covered here', () => {
    expect(RUNBOOK_ACTIONS.map((a) => a.name).sort()).toEqual(['exec', 'http', 'incident', 'notify', 'ticket',
      'wait_for']);
  });

  test('http: path, query and JSON body carry the values literally; the host stays the declared one', async () => {
    for (const name of NAMES) {
      await compile('http', {
        method: 'POST', url: `${server.base}/p/{{ labels.${name} }}?q={{ labels.${name} }}`,
        body: { v: `{{ labels.${name} }}` },
      })(ctx());
      const req = body();
      const url = new URL(req.url, 'http://x');
      expect(url.pathname.split('/').map(decodeURIComponent)).toEqual(['', 'p', HOSTILE[name]]);
      expect([...url.searchParams]).toEqual([['q', HOSTILE[name]]]);
      expect(JSON.parse(req.body)).toEqual({ v: HOSTILE[name] });
      expect(req.headers.host).toBe(`127.0.0.1:${server.port}`);
      expect(req.headers['x-injected']).toBeUndefined();
    }
    // A value where the host goes must be a host: nothing else passes.
    for (const name of NAMES) {
      await expect(compile('http', { url: `http://{{ labels.${name} }}/x` })(ctx())).rejects.toThrow(StepError);
    }
  });

  test('http headers: CR/LF refused before any request; other values literal', async () => {
    const before = server.requests.length;
    await expect(compile('http', { url: server.base, headers: { 'X-V': '{{ labels.nl }}' } })(ctx()))
      .rejects.toThrow(/CR, LF/);
    expect(server.requests.length).toBe(before);
    await compile('http', { url: server.base, headers: { 'X-V': '{{ labels.tpl }} {{ labels.secret }}' } })(ctx());
    expect(body().headers['x-v']).toBe(`${HOSTILE.tpl} {{ secret.TOKEN }}`);
  });

  test('exec: each value is one literal argv entry, or refused when it would start an option', async () => {
    const script = 'process.stdout.write(JSON.stringify(process.argv.slice(1)))';
    for (const name of NAMES) {
      const run = compile('exec', {
        program: process.execPath, args: ['-e', script, `{{ labels.${name} }}`, `x{{ labels.${name} }}`],
        env: { V: `{{ labels.${name} }}` },
      });
      if (name === 'opt') {
        await expect(run(ctx({ settings: { execEnvAllow: ['V'] } })))
          .rejects.toThrow(/may not begin an argument with "-"/);
        continue;
      }
      const out = await run(ctx({ settings: { execEnvAllow: ['V'] } }));
      expect(JSON.parse(String(out.stdout))).toEqual([HOSTILE[name], `x${HOSTILE[name]}`]);
    }
    const env = await compile('exec',
      { program: '/usr/bin/env', env: { V: '{{ labels.subst }}' } })(ctx({ settings: { execEnvAllow: ['V'] } }));
    expect(String(env.stdout)).toContain(`V=${HOSTILE.subst}\n`);
  });

  test('notify (generic, slack, teams): the text arrives as written', async () => {
    for (const format of ['generic', 'slack', 'teams']) {
      for (const name of NAMES) {
        await compile('notify', { format, url: '{{ secret.HOOK }}', text: `{{ labels.${name} }}`, title: 't' })(ctx());
        const sent = JSON.parse(body().body);
        const text = format === 'teams' ? sent.attachments[0].content.body[1].text
          : format === 'slack' ? sent.text.replace('*t*\n', '') : sent.text;
        expect(text).toBe(format === 'slack'
          ? HOSTILE[name]!.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;') : HOSTILE[name]);
        expect(body().url).toBe('/hook');
      }
    }
  });

  test('wait_for: a value cannot leave its PromQL string', async () => {
    for (const name of NAMES) {
      await compile('wait_for', { query: `up{i="{{ labels.${name} }}"}`, condition: '== 1', timeout: '2s',
        interval: '10ms' })(
        ctx({ settings: { prometheusUrl: server.base, httpAllow: [] } }));
      const q = new URL(body().url, 'http://x').searchParams.get('query')!;
      const inner = /^up\{i="((?:[^"\\]|\\.)*)"\}$/.exec(q);
      expect(inner).not.toBeNull();
      expect(JSON.parse(`"${inner![1]!.replace(/\\'/g, "'").replace(/\\`/g, '`')}"`)).toBe(HOSTILE[name]);
    }
  });

  test('incident: comments, resolve notes and escalations get the literal text', async () => {
    const incident = new FakeIncidentPort();
    for (const name of NAMES) {
      await compile('incident', { comment: `{{ labels.${name} }}` })(ctx({ incident }));
      await compile('incident', { resolve: true, comment: `{{ labels.${name} }}` })(ctx({ incident }));
      await compile('incident', { escalate: `{{ labels.${name} }}` })(ctx({ incident }));
    }
    expect(incident.calls.map((c) => c[2])).toEqual(NAMES.flatMap((n) => [HOSTILE[n], HOSTILE[n], HOSTILE[n]]));
  });

  test('ticket: fields literal, a key one path segment', async () => {
    for (const name of NAMES) {
      await compile('ticket', { system: 'jira', url: server.base, project: 'OPS',
        fields: { summary: `{{ labels.${name} }}` } })(ctx());
      expect(JSON.parse(body().body).fields.summary).toBe(HOSTILE[name]);
      await compile('ticket', { system: 'jira', url: server.base, op: 'update', ticket: `{{ labels.${name} }}`,
        fields: { description: 'x' } })(ctx());
      expect(body().url).toBe(`/rest/api/2/issue/${encodeURIComponent(HOSTILE[name]!)}`);
    }
  });

  test('nothing was written', () => {
    expect(marks()).toEqual([]);
  });
});
