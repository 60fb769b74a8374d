import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { intake } from '../../src/connectors/connector-intake';
import { startRecordingServer } from '../../test/support/http-recorder';
import { connector } from './index';

const fixture = (name: string): Record<string, any> =>
  JSON.parse(readFileSync(join(__dirname, 'fixtures', name), 'utf8'));
const SCRIPT = join(__dirname, 'quell-notify.sh');
const now = new Date('2026-11-20T10:00:00Z');
const take = (body: unknown) => {
  const taken = intake(connector, body, now, 3600);
  if (!taken.ok) {
    throw new Error(`refused: ${JSON.stringify('schemaError' in taken ? taken.schemaError.issues : taken.issue)}`);
  }
  return taken.alerts;
};

describe('normalize', () => {
  test('a service problem fires from its state change, identified as host!service', () => {
    const [a] = take(fixture('service-problem.json'));
    expect(a).toEqual(expect.objectContaining({
      status: 'firing', startsAt: '2025-11-20T09:04:03.000Z', endsAt: null,
      labels: { alertname: 'HTTP', host: 'web-03', service: 'HTTP', severity: 'critical', monitor: 'nagios',
        hostgroups: 'web-servers,linux-servers' },
      annotations: expect.objectContaining({ notification_type: 'PROBLEM', state: 'CRITICAL',
        summary: expect.stringContaining('503'), problem_id: '4127' }),
    }));
  });

  test('its recovery resolves the same alert at the state change', () => {
    const [problem] = take(fixture('service-problem.json'));
    const [recovery] = take(fixture('service-recovery.json'));
    expect(recovery).toEqual(expect.objectContaining({ status: 'resolved', endsAt: '2025-11-20T09:21:40.000Z' }));
    expect(recovery!.fingerprint).toBe(problem!.fingerprint);
  });

  test('an acknowledgement re-sends the firing alert with who and why; '
    + 'a WARNING -> CRITICAL keeps the identity', () => {
    const [problem] = take(fixture('service-problem.json'));
    const [ack] = take(fixture('service-acknowledgement.json'));
    expect(ack).toEqual(expect.objectContaining({ status: 'firing', startsAt: problem!.startsAt,
      fingerprint: problem!.fingerprint }));
    expect(ack!.annotations).toEqual(expect.objectContaining({ notification_type: 'ACKNOWLEDGEMENT', author: 'alice',
      comment: 'looking into it' }));
    const [warning] = take({ ...fixture('service-problem.json'), state: 'WARNING' });
    expect(warning!.fingerprint).toBe(problem!.fingerprint);
    expect(warning!.labels['severity']).toBe('warning');
  });

  test('the identity is the host name, not the display name; hosts and services differ', () => {
    const [service] = take(fixture('service-problem.json'));
    const [renamed] = take({ ...fixture('service-problem.json'), host_display_name: 'something else',
      service_display_name: 'other' });
    expect(renamed!.fingerprint).toBe(service!.fingerprint);
    const [otherHost] = take({ ...fixture('service-problem.json'), host: 'web-04' });
    expect(otherHost!.fingerprint).not.toBe(service!.fingerprint);
    const [host] = take(fixture('host-down.json'));
    expect(host).toEqual(expect.objectContaining({ status: 'firing',
      labels: expect.objectContaining({ alertname: 'host', host: 'db-01', severity: 'critical' }) }));
    expect(take({ ...fixture('host-down.json'), notification_type: 'RECOVERY', state: 'UP' })[0]!.fingerprint)
      .toBe(host!.fingerprint);
  });

  test('Icinga 2: its notification types, upper or lower case; FLAPPINGEND and DOWNTIMEREMOVED in OK resolve', () => {
    const [flap] = take(fixture('icinga2-flappingstart.json'));
    expect(flap).toEqual(expect.objectContaining({ status: 'firing',
      labels: expect.objectContaining({ host: 'web-03.example.org', service: 'http', monitor: 'icinga2' }) }));
    expect(take({ ...fixture('icinga2-flappingstart.json'), notification_type: 'FlappingEnd', state: 'OK' })[0]!.status)
      .toBe('resolved');
    const removed = take({
      ...fixture('icinga2-flappingstart.json'), notification_type: 'DowntimeRemoved', state: 'critical',
    });
    expect(removed[0]!.status).toBe('firing');
  });

  test.each([
    ['notification_type', { notification_type: 'EXPLODED' }],
    ['state', { state: 'DOWN' }], // a host state on a service
    ['service', { service: '' }],
    ['host', { host: '' }],
    ['last_state_change', { last_state_change: 'soon' }],
  ])('refuses a bad %s, naming it', (field, change) => {
    const taken = intake(connector, { ...fixture('service-problem.json'), ...change }, now, 3600);
    expect(!taken.ok && 'schemaError' in taken && taken.schemaError.issues[0]!.path.join('.')).toBe(field);
  });
});

describe('quell-notify.sh', () => {
  const run = promisify(execFile);
  const macros = (f: Record<string, string>, kind: 'host' | 'service'): Record<string, string> => {
    const k = kind === 'host' ? 'HOST' : 'SERVICE';
    return {
      NAGIOS_NOTIFICATIONTYPE: f['notification_type']!, NAGIOS_HOSTNAME: f['host']!,
      NAGIOS_HOSTDISPLAYNAME: f['host_display_name']!, NAGIOS_HOSTADDRESS: f['host_address']!,
      NAGIOS_HOSTGROUPNAMES: f['host_groups']!, NAGIOS_SERVICEDESC: f['service'] ?? '',
      NAGIOS_SERVICEDISPLAYNAME: f['service_display_name'] ?? '', NAGIOS_SERVICEGROUPNAMES: f['service_groups'] ?? '',
      [`NAGIOS_${k}STATE`]: f['state']!, [`NAGIOS_${k}STATETYPE`]: f['state_type']!,
      [`NAGIOS_${k}OUTPUT`]: f['output']!,
      [`NAGIOS_LONG${k}OUTPUT`]: f['long_output']!, [`NAGIOS_LAST${k}STATECHANGE`]: f['last_state_change']!,
      [`NAGIOS_${k}PROBLEMID`]: f['problem_id']!, [`NAGIOS_LAST${k}PROBLEMID`]: f['last_problem_id']!,
      NAGIOS_TIMET: f['timestamp']!, NAGIOS_NOTIFICATIONAUTHOR: f['author']!, NAGIOS_NOTIFICATIONCOMMENT: f['comment']!,
    };
  };

  test('posts exactly the fixture for the macros, the token from its file, hostile output kept as data', async () => {
    const server = await startRecordingServer((_req, res) => { res.statusCode = 202; res.end('{}'); });
    const dir = mkdtempSync(join(tmpdir(), 'quell-notify-'));
    try {
      writeFileSync(join(dir, 'token'), 'tok"en\\1');
      const env = { PATH: process.env['PATH']!, QUELL_URL: `${server.base}/ingest/nagios`,
        QUELL_TOKEN_FILE: join(dir, 'token') };
      await run(SCRIPT, ['service'], { env: { ...env, ...macros(fixture('service-problem.json'), 'service') } });
      await run(SCRIPT, ['host'], { env: { ...env, ...macros(fixture('host-down.json'), 'host') } });
      const hostile = { ...fixture('service-problem.json'), output: `'; rm -rf / #" $(reboot) \`id\` \\n` };
      await run(SCRIPT, ['service'], { env: { ...env, ...macros(hostile, 'service') } });
      expect(server.requests).toHaveLength(3);
      const [service, host, bad] = server.requests;
      expect(service!.headers.authorization).toBe('Bearer tok"en\\1');
      expect(JSON.parse(service!.body)).toEqual(fixture('service-problem.json'));
      expect(JSON.parse(host!.body)).toEqual(fixture('host-down.json'));
      expect(JSON.parse(bad!.body).output).toBe(hostile.output);
      expect(take(JSON.parse(bad!.body))[0]!.annotations['summary']).toBe(hostile.output);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await server.close();
    }
  });

  test('fails (the monitoring host logs it) when Quell refuses', async () => {
    const server = await startRecordingServer((_req, res) => { res.statusCode = 401; res.end('{}'); });
    try {
      const env = { PATH: process.env['PATH']!, QUELL_URL: `${server.base}/ingest/nagios`, QUELL_TOKEN: 'wrong' };
      const serviceEnv = { ...env, ...macros(fixture('service-problem.json'), 'service') };
      await expect(run(SCRIPT, ['service'], { env: serviceEnv })).rejects.toThrow(/401/);
    } finally {
      await server.close();
    }
  });
});
