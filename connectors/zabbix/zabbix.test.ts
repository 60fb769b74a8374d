import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { fingerprintOf, intake } from '../../src/connectors/connector-intake';
import { pollTarget } from '../../src/connectors/poll-target';
import { connector } from './index';

const fixture = (name: string): Record<string, any> =>
  JSON.parse(readFileSync(join(__dirname, 'fixtures', name), 'utf8'));
const SCRIPT = readFileSync(join(__dirname, 'quell-media-type.js'), 'utf8');
const now = new Date('2026-11-20T10:00:00Z');
const take = (body: unknown) => intake(connector, body, now, 3600);

/** Runs the shipped media type script as Zabbix would (its `value`, HttpRequest, Zabbix.log). */
function runMediaType(
  params: unknown, status = 202,
): { url: string; headers: string[]; body: string; result: unknown } {
  const sent = { url: '', headers: [] as string[], body: '' };
  class HttpRequest {
    addHeader(h: string): void { sent.headers.push(h); }
    setProxy(): void {}
    post(url: string, body: string): string { sent.url = url; sent.body = body; return '{}'; }
    getStatus(): number { return status; }
  }
  const result = runInNewContext(`(function () {${SCRIPT}\n})()`,
    { value: JSON.stringify(params), HttpRequest, Zabbix: { log: () => undefined } });
  return { ...sent, result };
}

describe('the media type script', () => {
  test('sends the problem as the fixture, with the bearer token; unresolved macros are left out', () => {
    const sent = runMediaType(fixture('media-params-problem.json'));
    expect(sent.result).toBe('OK');
    expect(sent.url).toBe('http://quell.test/ingest/zabbix');
    expect(sent.headers)
      .toEqual(['Content-Type: application/json', 'Authorization: Bearer test-ingest-token-0123456789']);
    const body = JSON.parse(sent.body);
    // {EVENT.DATE} {EVENT.TIME} are the Zabbix server's local time: the script's time zone.
    expect(body.started_at).toBe(new Date(2026, 10, 20, 9, 14, 3).toISOString());
    expect({ ...body, started_at: undefined }).toEqual({ ...fixture('problem.json'), started_at: undefined });
    expect(body.recovered_at).toBeUndefined();
  });

  test('sends the recovery with the problem event id and the recovery event id', () => {
    const body = JSON.parse(runMediaType(fixture('media-params-recovery.json')).body);
    expect({ ...body, started_at: undefined, recovered_at: undefined }).toEqual({ ...fixture('recovery.json'),
      started_at: undefined, recovered_at: undefined });
    expect(body.recovered_at).toBe(new Date(2026, 10, 20, 9, 31, 40).toISOString());
  });

  test('fails (Zabbix retries) unless Quell answers 202', () => {
    expect(() => runMediaType(fixture('media-params-problem.json'), 503)).toThrow(/HTTP 503/);
  });

  test('hostile macro values stay data: quotes and braces travel as text', () => {
    const params = {
      ...fixture('media-params-problem.json'), event_name: '"}); process.exit(1); ({"', host: '$(reboot)',
    };
    const body = JSON.parse(runMediaType(params).body);
    expect(body.event_name).toBe('"}); process.exit(1); ({"');
    const taken = take(body);
    expect(taken.ok && taken.alerts[0]!.labels['host']).toBe('$(reboot)');
  });
});

describe('normalize', () => {
  test('a problem fires, identified by its problem event id; tags are labels', () => {
    const taken = take(fixture('problem.json'));
    if (!taken.ok) throw new Error('refused');
    expect(taken.alerts).toEqual([expect.objectContaining({
      status: 'firing', startsAt: '2026-11-20T09:14:03.000Z', endsAt: null,
      labels: {
        class: 'os', component: 'cpu', scope: 'performance', target: 'linux',
        alertname: 'High CPU utilization (over 90% for 5m)', host: 'db-01.dc1', severity: 'warning',
        zabbix_eventid: '81245', zabbix_triggerid: '23412',
      },
      annotations: expect.objectContaining({ zabbix_severity: 'Warning', host_name: 'Database 01 (DC1)',
        opdata: 'Current utilization: 96.2 %' }),
      generatorUrl: 'https://zabbix.example/tr_events.php?triggerid=23412&eventid=81245',
    })]);
  });

  test('the recovery resolves the same alert (same fingerprint), even with other labels', () => {
    const problem = take(fixture('problem.json'));
    const recovery = take({ ...fixture('recovery.json'), event_severity: '4', event_name: 'renamed trigger' });
    if (!problem.ok || !recovery.ok) throw new Error('refused');
    expect(recovery.alerts[0])
      .toEqual(expect.objectContaining({ status: 'resolved', endsAt: '2026-11-20T09:31:40.000Z' }));
    expect(recovery.alerts[0]!.fingerprint).toBe(problem.alerts[0]!.fingerprint);
    // Another problem of the same trigger is another alert.
    const next = take({ ...fixture('problem.json'), event_id: '90001' });
    expect(next.ok && next.alerts[0]!.fingerprint).not.toBe(problem.alerts[0]!.fingerprint);
  });

  test('a tag does not replace Quell\'s own labels; repeated tags are joined', () => {
    const taken = take({ ...fixture('problem.json'),
      event_tags: [{ tag: 'host', value: 'forged' }, { tag: 'service', value: 'a' }, { tag: 'service', value: 'b' }] });
    expect(taken.ok && taken.alerts[0]!.labels).toEqual(expect.objectContaining({ host: 'db-01.dc1', service: 'a,b' }));
  });

  test.each([
    ['event_id', { event_id: 'abc' }],
    ['event_value', { event_value: '2' }],
    ['event_severity', { event_severity: '9' }],
    ['host', { host: '' }],
    ['started_at', { started_at: 'yesterday' }],
  ])('refuses a bad %s, naming it', (field, change) => {
    const taken = take({ ...fixture('problem.json'), ...change });
    expect(taken.ok).toBe(false);
    expect(!taken.ok && 'schemaError' in taken && taken.schemaError.issues[0]!.path.join('.')).toBe(field);
  });
});

describe('poll (problem.get)', () => {
  test('asks problem.get with the bearer token and answers the open problems by event id', async () => {
    const seen: { url?: string; auth?: string; body?: any } = {};
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => {
        Object.assign(seen, { url: req.url, auth: req.headers.authorization, body: JSON.parse(body) });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(fixture('problem-get.json')));
      });
    }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/zabbix`;
      const answer = await connector.poll!(pollTarget({ url, token: 'zbx-token' }));
      expect(seen).toEqual({ url: '/zabbix/api_jsonrpc.php', auth: 'Bearer zbx-token',
        body: expect.objectContaining({ method: 'problem.get' }) });
      const problem = take(fixture('problem.json'));
      expect(answer.firing.map((a) => fingerprintOf(connector, a.labels)))
        .toEqual([problem.ok && problem.alerts[0]!.fingerprint]);
    } finally {
      server.close();
    }
  });

  test('an API error throws (reconciliation then resolves nothing)', async () => {
    const server = createServer((_req, res) => res.end(JSON.stringify({ jsonrpc: '2.0',
      error: { code: -32602, message: 'Invalid params.', data: 'Not authorised.' }, id: 1 })))
      .listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expect(connector.poll!(pollTarget({ url }))).rejects.toThrow(/Not authorised/);
    } finally {
      server.close();
    }
  });
});
