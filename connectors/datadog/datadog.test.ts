import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { intake } from '../../src/connectors/connector-intake';
import { connector } from './index';

const fixture = (name: string): Record<string, any> => JSON.parse(readFileSync(join(__dirname, name), 'utf8'));
const now = new Date('2026-11-20T10:00:00Z');
const take = (body: unknown) => {
  const taken = intake(connector, body, now, 3600);
  if (!taken.ok) {
    throw new Error(`refused: ${JSON.stringify('schemaError' in taken ? taken.schemaError.issues : taken.issue)}`);
  }
  return taken.alerts;
};

test('the shipped payload template names every field the connector reads, each a Datadog variable', () => {
  const template = fixture('payload-template.json');
  const triggered = fixture('fixtures/triggered.json');
  expect(Object.keys(template).sort()).toEqual(Object.keys(triggered).sort());
  for (const value of Object.values(template)) expect(value).toMatch(/^\$[A-Z_]+$/);
});

test('Triggered fires, identified by its alert cycle key; scope, host and tags are labels', () => {
  const [a] = take(fixture('fixtures/triggered.json'));
  expect(a).toEqual(expect.objectContaining({
    status: 'firing', startsAt: '2025-11-20T09:04:03.000Z', endsAt: null,
    labels: {
      env: 'prod', service: 'checkout', role: 'web', monitor: '',
      alertname: 'CPU load is high on web-1', monitor_id: '148302', severity: 'critical',
      alert_cycle_key: '7805617425541634052', scope: 'host:web-1', host: 'web-1', priority: 'P2',
    },
    annotations: expect.objectContaining({ transition: 'Triggered', link: expect.stringContaining('event_id='),
      query: expect.stringContaining('system.load.1') }),
    generatorUrl: 'https://app.datadoghq.com/event/jump_to?event_id=7805617425541634052',
  }));
});

test('Recovered resolves the same alert at its date, though its title and type changed', () => {
  const [t] = take(fixture('fixtures/triggered.json'));
  const [r] = take(fixture('fixtures/recovered.json'));
  expect(r).toEqual(expect.objectContaining({ status: 'resolved', endsAt: '2025-11-20T09:21:40.000Z' }));
  expect(r!.fingerprint).toBe(t!.fingerprint);
});

test('another group of the same monitor is another alert; Warn is a warning; no cycle key: monitor and scope', () => {
  const [t] = take(fixture('fixtures/triggered.json'));
  const [w] = take(fixture('fixtures/warn.json'));
  expect(w!.fingerprint).not.toBe(t!.fingerprint);
  expect(w!.labels['severity']).toBe('warning');
  const noKey = { ...fixture('fixtures/triggered.json'), alert_cycle_key: '' };
  const [a] = take(noKey);
  const [b] = take({ ...noKey, alert_transition: 'Recovered', alert_title: 'other' });
  const [c] = take({ ...noKey, alert_scope: 'host:web-9' });
  expect(b!.fingerprint).toBe(a!.fingerprint);
  expect(c!.fingerprint).not.toBe(a!.fingerprint);
});

test.each([
  ['alert_transition', { alert_transition: 'Exploded' }],
  ['date', { date: 'yesterday' }],
  ['alert_id', { alert_id: 'abc' }],
  ['alert_id', { alert_id: '', alert_cycle_key: '' }],
])('refuses a bad %s, naming it', (field, change) => {
  const taken = intake(connector, { ...fixture('fixtures/triggered.json'), ...change }, now, 3600);
  expect(!taken.ok && 'schemaError' in taken && taken.schemaError.issues[0]!.path.join('.')).toBe(field);
});
