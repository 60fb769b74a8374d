import { groupKey, incidentTitle, MAX_GROUP_KEY_BYTES } from '../../src/domain/group-key';
import { priorityOf, urgencyOf } from '../../src/domain/priority';
import { parseDuration } from '../../src/domain/duration';

test('ITIL impact x urgency matrix', () => {
  expect(priorityOf('high', 'high')).toBe(1);
  expect(priorityOf('medium', 'medium')).toBe(3);
  expect(priorityOf('low', 'low')).toBe(5);
  expect(priorityOf('high', 'low')).toBe(priorityOf('low', 'high'));
});

test('urgency comes from the severity label', () => {
  expect(urgencyOf({ severity: 'critical' })).toBe('high');
  expect(urgencyOf({ severity: 'Warning' })).toBe('medium');
  expect(urgencyOf({})).toBe('low');
});

test('group key names the rule and the group_by values, and cannot be forged by a value', () => {
  expect(groupKey('r', ['service', 'cluster'], { cluster: 'eu1', service: 'api', x: 'y' }))
    .toBe('r:{cluster="eu1",service="api"}');
  const forged = groupKey('r', ['a', 'b'], { a: 'x",b="y' });
  expect(forged).not.toBe(groupKey('r', ['a', 'b'], { a: 'x', b: 'y' }));
});

test('a very long group key is hashed, so the database index can hold it', () => {
  const long = groupKey('r', ['a'], { a: 'x'.repeat(5000) });
  expect(long).toMatch(/^r:\{sha256="[0-9a-f]{64}"\}$/);
  expect(groupKey('r', ['a'], { a: 'x'.repeat(5001) })).not.toBe(long);
});

test('the group key limit counts UTF-8 bytes, as the index does, not characters', () => {
  const cjk = (n: number): string => Array.from({ length: n }, (_, i) => String.fromCodePoint(0x4e00 + i * 7)).join('');
  const labels = { alertname: cjk(320), cluster: cjk(320), service: cjk(320) };
  const key = groupKey('default', ['alertname', 'cluster', 'service'], labels);
  expect(key).toMatch(/^default:\{sha256="[0-9a-f]{64}"\}$/); // 1,000 characters, but 2,900 bytes
  const ascii = groupKey('r', ['a'], { a: 'x'.repeat(MAX_GROUP_KEY_BYTES - 8) });
  expect(ascii).toBe(`r:{a="${'x'.repeat(MAX_GROUP_KEY_BYTES - 8)}"}`); // exactly the limit: kept readable
  expect(Buffer.byteLength(ascii)).toBe(MAX_GROUP_KEY_BYTES);
});

test('titles are plain text from labels', () => {
  expect(incidentTitle({ alertname: 'DiskFull', cluster: 'eu1' }, ['alertname', 'cluster']))
    .toBe('DiskFull (cluster=eu1)');
  expect(incidentTitle({ alertname: '{{ .Labels.x }}' }, [])).toBe('{{ .Labels.x }}');
  expect(incidentTitle({ alertname: 'x'.repeat(500) }, []).length).toBe(300);
});

test('Prometheus durations', () => {
  expect(parseDuration('30s')).toBe(30_000);
  expect(parseDuration('1h30m')).toBe(5_400_000);
  expect(parseDuration('5 minutes')).toBeUndefined();
  expect(parseDuration('')).toBeUndefined();
});

test('a label name that is also an Object property is only a label when the alert has it', () => {
  expect(groupKey('r', ['constructor'], { alertname: 'A' })).toBe('r:{constructor=""}');
  expect(groupKey('r', ['constructor'], { alertname: 'A', constructor: 'x' })).toBe('r:{constructor="x"}');
  expect(incidentTitle({ toString: 'y' }, ['toString'])).toBe('alert (toString=y)');
});
