import type { SourceAlert } from '../../src/domain/alert';
import { storableAlerts } from '../../src/connectors/storable-alert';

const now = new Date('2026-11-20T12:00:00Z');
const bounds = { now, maxSkewSeconds: 3600 };
const firing = (startsAt: string): SourceAlert => ({
  status: 'firing', labels: { alertname: 'A' }, annotations: {}, startsAt, endsAt: null,
});
const resolved = (endsAt: string): SourceAlert => ({ ...firing('2026-11-20T10:00:00Z'), status: 'resolved', endsAt });

test.each([
  ['year 0', firing('0000-01-01T00:00:00Z'), 'alerts[0].startsAt', 'outside the years 1970 to 9999'],
  ['year 1 that is year 0 in UTC', firing('0001-01-01T00:00:00+14:00'), 'alerts[0].startsAt', 'outside the years'],
  ['year 9999 that is 10000 in UTC', firing('9999-12-31T23:59:59-23:59'), 'alerts[0].startsAt', 'outside the years'],
  ['a resolve ending in year 10000', resolved('9999-12-31T23:59:59-01:00'), 'alerts[0].endsAt', 'outside the years'],
  ['before 1970', firing('1969-12-31T23:59:59Z'), 'alerts[0].startsAt', 'outside the years'],
  ['a start in 9999 (no resolve would overtake it)', firing('9999-12-31T23:59:59Z'), 'alerts[0].startsAt',
    'more than 3600 s ahead'],
  ['more than the skew ahead', firing('2026-11-20T13:00:01Z'), 'alerts[0].startsAt', 'QUELL_MAX_CLOCK_SKEW_SECONDS'],
  ['not a time', firing('yesterday'), 'alerts[0].startsAt', 'is not a time'],
])('refuses %s, naming the field', (_what, alert, field, message) => {
  const out = storableAlerts([alert], bounds);
  expect(out).toEqual({ ok: false, issue: { field, message: expect.stringContaining(message) } });
});

test('names the alert by its place', () => {
  const ok = firing('2026-11-20T10:00:00Z');
  const out = storableAlerts([ok, ok, resolved('0000-01-01T00:00:00Z')], bounds);
  expect(out.ok ? undefined : out.issue.field).toBe('alerts[2].endsAt');
});

test('keeps times within the window and the skew, in one form', () => {
  const out = storableAlerts([
    firing('1970-01-01T00:00:00Z'),
    firing('2026-11-20T13:00:00+00:00'), // exactly the skew ahead
    resolved('2026-11-20T11:00:00.123456789+01:00'),
  ], bounds);
  expect(out.ok && out.alerts.map((a) => [a.startsAt, a.endsAt])).toEqual([
    ['1970-01-01T00:00:00.000Z', null],
    ['2026-11-20T13:00:00.000Z', null],
    ['2026-11-20T10:00:00.000Z', '2026-11-20T10:00:00.123Z'],
  ]);
});

test('the skew is a setting', () => {
  expect(storableAlerts([firing('2026-11-20T12:00:01Z')], { now, maxSkewSeconds: 0 }).ok).toBe(false);
  expect(storableAlerts([firing('2026-11-20T12:00:00Z')], { now, maxSkewSeconds: 0 }).ok).toBe(true);
  expect(storableAlerts([firing('2026-11-22T12:00:00Z')], { now, maxSkewSeconds: 3 * 86400 }).ok).toBe(true);
});

test('labels are passed on as they are, own __proto__ included', () => {
  const labels = JSON.parse('{"alertname":"A","__proto__":"x"}') as Record<string, string>;
  const out = storableAlerts([{ ...firing('2026-11-20T10:00:00Z'), labels }], bounds);
  expect(out.ok && Object.keys(out.alerts[0]!.labels)).toEqual(['alertname', '__proto__']);
});
