import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connector as datadog } from '../../connectors/datadog';
import { connector as nagios } from '../../connectors/nagios';
import { connector as prometheus } from '../../connectors/prometheus';
import { connector as zabbix } from '../../connectors/zabbix';
import type { Connector } from '../../src/connectors/connector';
import { intake } from '../../src/connectors/connector-intake';
import { seededRandom, type SeededRandom } from '../quality/seeded-random';

/**
 * Mutated payloads through each connector's intake (what `POST /ingest/<id>` runs before it
 * queues): each is accepted (alerts with a fingerprint) or refused naming a field, never a
 * throw (a 500). 2,000 mutations of each fixture, seeded.
 */
const fixture = (id: string, name: string): unknown => JSON.parse(readFileSync(join(__dirname, '../../connectors', id,
  'fixtures', name), 'utf8'));
const prometheusPayload = [
  { labels: { alertname: 'X', instance: 'a' }, annotations: { summary: 's' }, startsAt: '2026-11-20T09:00:00Z', endsAt: '2026-11-20T09:10:00Z', generatorURL: 'http://p/graph' },
];

const CASES: readonly (readonly [Connector<any>, unknown])[] = [
  [zabbix, fixture('zabbix', 'problem.json')], [zabbix, fixture('zabbix', 'recovery.json')],
  [nagios, fixture('nagios', 'service-problem.json')], [nagios, fixture('nagios', 'host-down.json')],
  [datadog, fixture('datadog', 'triggered.json')], [datadog, fixture('datadog', 'recovered.json')],
  [prometheus, prometheusPayload],
];

const ODD: readonly unknown[] = [
  null, true, 0, -1, 1e308, Number.NaN, '', ' ', '0', '-1', '9'.repeat(40), 'x'.repeat(20_000), '\u0000', '\ud800',
  '__proto__',
  [], [null], {}, { __proto__: 'x' }, '2026-13-45T99:99:99Z', '0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z', 'PROBLEM',
  'Recovered',
];

function mutate(value: unknown, r: SeededRandom, depth = 0): unknown {
  if (Array.isArray(value)) {
    const copy = value.map((v) => (r.chance(0.3) ? mutate(v, r, depth + 1) : v));
    if (r.chance(0.1)) copy.push(r.pick(ODD));
    if (r.chance(0.1)) copy.splice(r.int(0, copy.length), 1);
    return copy;
  }
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = { ...value };
    const keys = Object.keys(copy);
    for (let n = r.int(1, 3); n > 0 && keys.length > 0; n--) {
      const key = r.pick(keys);
      const what = r.int(0, 4);
      if (what === 0) Reflect.deleteProperty(copy, key);
      else if (what === 1) copy[key] = r.pick(ODD);
      else copy[key] = mutate(copy[key], r, depth + 1);
    }
    if (r.chance(0.1)) Object.defineProperty(copy, r.pick(['__proto__', 'constructor', 'x']),
      { value: r.pick(ODD), enumerable: true });
    return copy;
  }
  if (typeof value === 'string' && r.chance(0.5)) {
    return r.chance(0.5) ? value + r.pick(['"', '\\', '$(x)', '%', '}', '\n']) : value.slice(0, r.int(0, value.length));
  }
  return r.pick(ODD);
}

test.each(CASES.map(([c, body], i) => [c.id, i, c, body] as const))('%s (fixture %i): 2,000 mutations, never a throw',
  (_id, i, connector, body) => {
  const r = seededRandom(8_000 + i);
  const now = new Date('2026-11-20T10:00:00Z');
  let accepted = 0;
  for (let n = 0; n < 2000; n++) {
    const text = JSON.stringify(mutate(body, r)) as string | undefined;
    const mutated = JSON.parse(text ?? 'null') as unknown;
    const taken = intake(connector, mutated, now, 3600);
    if (taken.ok) {
      accepted++;
      for (const a of taken.alerts) expect(a.fingerprint).toMatch(/^[0-9a-f]{32}$/);
    } else if ('schemaError' in taken) {
      expect(taken.schemaError.issues.length).toBeGreaterThan(0);
    } else {
      expect(taken.issue.field).toMatch(/^alerts\[\d+\]\./);
    }
  }
  expect(accepted).toBeGreaterThan(0);
});
