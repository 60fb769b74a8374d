import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { intake } from '../../src/connectors/connector-intake';
import { connector, RESOLVE_TIMEOUT_MS } from './index';

const fixture = (): Record<string, any>[] =>
  JSON.parse(readFileSync(join(__dirname, 'fixtures', 'alerts.json'), 'utf8'));
const now = new Date('2026-11-20T09:15:00Z');
const take = (body: unknown) => {
  const taken = intake(connector, body, now, 3600);
  if (!taken.ok) {
    throw new Error(`refused: ${JSON.stringify('schemaError' in taken ? taken.schemaError.issues : taken.issue)}`);
  }
  return taken.alerts;
};

test('an alert whose endsAt is ahead fires until then; one whose endsAt passed is resolved', () => {
  const [down, load] = take(fixture());
  expect(down).toEqual(expect.objectContaining({
    status: 'firing', startsAt: '2026-11-20T09:14:03.512Z', endsAt: null, expiresAt: '2026-11-20T09:18:03.512Z',
    generatorUrl: expect.stringContaining('up+%3D%3D+0'),
  }));
  expect(load).toEqual(expect.objectContaining({ status: 'resolved', endsAt: '2026-11-20T09:12:00.000Z' }));
  expect(load!.expiresAt).toBeUndefined();
});

test('the identity is the full label set, as Alertmanager\'s; the same alert re-sent keeps it', () => {
  const [a] = take(fixture());
  const [b] = take([{ ...fixture()[0], endsAt: '2026-11-20T09:19:03.512Z', annotations: { summary: 'changed' } }]);
  expect(b!.fingerprint).toBe(a!.fingerprint);
  const [c] = take([{ ...fixture()[0], labels: { ...fixture()[0]!['labels'], instance: 'web-9:9100' } }]);
  expect(c!.fingerprint).not.toBe(a!.fingerprint);
});

test('no endsAt (or Go\'s zero time): fires for Alertmanager\'s resolve_timeout; no startsAt: now', () => {
  const [a] = take([{ labels: { alertname: 'X' } }]);
  expect(a).toEqual(expect.objectContaining({ status: 'firing', startsAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + RESOLVE_TIMEOUT_MS).toISOString() }));
  const [b] = take([{ labels: { alertname: 'X' }, startsAt: '0001-01-01T00:00:00Z', endsAt: '0001-01-01T00:00:00Z' }]);
  expect(b!.expiresAt).toBe(a!.expiresAt);
});

test('an end before the start ends at the start; an empty list is accepted', () => {
  const [a] = take([{ labels: { alertname: 'X' }, startsAt: '2026-11-20T09:00:00Z', endsAt: '2026-11-20T08:00:00Z' }]);
  expect(a).toEqual(expect.objectContaining({ status: 'resolved', endsAt: '2026-11-20T09:00:00.000Z' }));
  expect(take([])).toEqual([]);
});

test.each([
  ['0.labels', [{ labels: {} }]],
  ['0.startsAt', [{ labels: { a: 'b' }, startsAt: 'now' }]],
  ['', { labels: { a: 'b' } }],
])('refuses %s, naming it', (field, body) => {
  const taken = intake(connector, body, now, 3600);
  expect(!taken.ok && 'schemaError' in taken && taken.schemaError.issues[0]!.path.join('.')).toBe(field);
});
