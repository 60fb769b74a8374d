import { maximumMatching } from '../../src/tooling/bipartite-matching';
import type { DryRunIncident } from '../../src/tooling/dry-run-engine';
import { compareIncidents } from '../../src/tooling/rule-test-compare';
import { formatMismatches } from '../../src/tooling/rule-test-report';
import type { ExpectedIncident } from '../../src/tooling/rule-tests-kind';
import { formatSeries, parseSeries } from '../../src/tooling/series-notation';

type Members = Record<string, string>[];
const incident = (id: number, rule: string, members: Members, more: Partial<DryRunIncident> = {}) => ({
  id, title: `${rule} incident`, rule, groupKey: `${rule}:{}`, status: 'open' as const, priority: 3,
  firstAlertAt: '2026-01-05T09:00:00.000Z',
  members: members.map((labels, i) => ({ fingerprint: `f${id}-${i}`, labels, status: 'firing' as const,
    startsAt: '2026-01-05T09:00:00.000Z' })),
  ...more,
});
const member = (text: string) => ({ labels: parseSeries(text)!, text });

describe('series notation', () => {
  test('reads and writes label sets', () => {
    expect(parseSeries('NodeDown{instance="a:9100", cluster="eu1"}'))
      .toEqual({ alertname: 'NodeDown', instance: 'a:9100', cluster: 'eu1' });
    expect(parseSeries('{job="node"}')).toEqual({ job: 'node' });
    expect(parseSeries('NodeDown')).toEqual({ alertname: 'NodeDown' });
    expect(parseSeries('X{}')).toEqual({ alertname: 'X' });
    expect(parseSeries('X{v="a \\"quoted\\", comma"}')).toEqual({ alertname: 'X', v: 'a "quoted", comma' });
    for (const bad of ['X{a=b}', 'X{a="1"', 'X{a="1",a="2"}', 'X{a="1"} trailing', 'a b', '']) {
      expect(parseSeries(bad)).toBeUndefined();
    }
    const labels = { alertname: 'NodeDown', z: '1', instance: 'a"b' };
    expect(formatSeries(labels)).toBe('NodeDown{instance="a\\"b",z="1"}');
    expect(parseSeries(formatSeries(labels))).toEqual(labels);
    expect(formatSeries({ alertname: 'not a name', a: '1' })).toBe('{alertname="not a name",a="1"}');
  });
});

describe('maximum matching', () => {
  test('finds the pairing a first fit misses', () => {
    // Left 0 fits both, left 1 fits only right 0: greedy would give 0->0 and leave 1 alone.
    expect(maximumMatching([0, 1], [0, 1], (l, r) => l === 0 || r === 0)).toEqual([1, 0]);
    expect(maximumMatching([0, 1], [0], () => true)).toEqual([0, -1]);
  });
});

describe('expected incidents against formed ones', () => {
  const got = [
    incident(1, 'node-down', [{ alertname: 'NodeDown', instance: 'a' }, { alertname: 'NodeDown', instance: 'b' }]),
    incident(2, 'disk', [{ alertname: 'DiskFull', instance: 'a' }]),
  ];

  test('met: every expectation meets its own incident, in any order; labels are a subset', () => {
    const expected: ExpectedIncident[] = [
      { line: 9, rule: 'disk' },
      { line: 5, rule: 'node-down', priority: 3,
        alerts: [member('NodeDown{instance="b"}'), member('{instance="a"}')] },
    ];
    expect(compareIncidents(expected, got)).toEqual([]);
  });

  test('an alert matches one expected member only', () => {
    const twice = [member('NodeDown'), member('NodeDown'), member('NodeDown')];
    const [m] = compareIncidents([{ line: 3, alerts: twice }], [got[0]!]);
    expect(m?.members?.missing).toEqual([member('NodeDown')]);
  });

  test('a failure pairs each expectation with its closest incident and diffs it', () => {
    const expected: ExpectedIncident[] = [
      { line: 5, rule: 'node-down', status: 'resolved', priority: 1,
        alerts: [member('NodeDown{instance="a"}'), member('NodeDown{instance="c"}')] },
      { line: 12, rule: 'network' },
    ];
    const mismatches = compareIncidents(expected, got);
    expect(mismatches.map((m) => [m.expected?.line, m.got?.id])).toEqual([[5, 1], [12, undefined], [undefined, 2]]);
    expect(formatMismatches('t.test.yaml', mismatches)).toEqual([
      't.test.yaml:5: expected incident differs from incident #1 "node-down incident" '
        + '(rule node-down, P3, open, 2 alerts):',
      '  - status: "resolved"',
      '  + status: "open"',
      '  - priority: P1',
      '  + priority: P3',
      '    alerts:',
      '  -   NodeDown{instance="c"}',
      '  +   NodeDown{instance="b"}',
      't.test.yaml:12: expected incident did not form:',
      '  -  rule: "network"',
      'unexpected incident #2 "disk incident" (rule disk, P3, open, 1 alert):',
      '  +   DiskFull{instance="a"}',
    ]);
  });

  test('root_cause is compared when the engine names one', () => {
    const withRoot = incident(3, 'topo', [{ alertname: 'X' }], { rootCause: 'sw-1' });
    expect(compareIncidents([{ line: 1, rootCause: 'sw-1' }], [withRoot])).toEqual([]);
    const [m] = compareIncidents([{ line: 1, rule: 'topo', rootCause: 'db-1' }], [withRoot]);
    expect(m?.fields).toEqual([{ field: 'root_cause', expected: 'db-1', got: 'sw-1' }]);
  });
});
