import { Topology } from '../../src/domain/topology';
import {
  assignTopologyGroups, nearCis, type OpenTopologyIncident, type TopologyScope,
} from '../../src/domain/topology-grouping';
import { compileRuleText } from '../../src/rules/rule-loader';
import { correlationRulesKind } from '../../src/rules/kinds/correlation-rules-kind';

/**
 *   sw-1 <- h1, h2 (connected_to)      sw-2 <- h3
 *   api runs_on h1; api depends_on db; db runs_on h3
 */
const topology = Topology.build({
  cis: ['sw-1', 'sw-2', 'h1', 'h2', 'h3', 'api', 'db']
    .map((id) => ({ id, type: id.startsWith('sw') ? 'switch' : 'x', labels: {} })),
  relations: [
    { from: 'h1', type: 'connected_to', to: 'sw-1' }, { from: 'h2', type: 'connected_to', to: 'sw-1' },
    { from: 'h3', type: 'connected_to', to: 'sw-2' },
    { from: 'api', type: 'runs_on', to: 'h1' }, { from: 'api', type: 'depends_on', to: 'db' },
    { from: 'db', type: 'runs_on', to: 'h3' },
  ],
});
const directed: TopologyScope = { maxHops: 2, paths: 'directed', relationTypes: ['runs_on', 'depends_on', 'part_of'] };
const T0 = Date.parse('2026-11-27T10:00:00Z');
const m = (ci: string, base = 'topo:{}', at = T0) => ({ ci, base, at });

test('related CIs in one batch share a key; unrelated ones do not', () => {
  const keys = assignTopologyGroups(topology, directed, [m('api'), m('db'), m('h2')], []);
  expect(keys[0]).toBe(keys[1]);
  expect(keys[0]).toBe('topo:{}:ci="api"');
  expect(keys[2]).toBe('topo:{}:ci="h2"');
});

test('directed paths: siblings are related only through an upstream CI with an alert', () => {
  const net: TopologyScope = { maxHops: 1, paths: 'directed', relationTypes: ['connected_to'] };
  // connected_to is symmetric, so under any relation type both hosts reach the switch.
  const [a, b] = assignTopologyGroups(topology, { ...net, paths: 'any', maxHops: 1 }, [m('h1'), m('h2')], []);
  expect(a).not.toBe(b);
  const [c, d, e] = assignTopologyGroups(topology, net, [m('h1'), m('h2'), m('sw-1')], []);
  expect(new Set([c, d, e]).size).toBe(1);
});

test('an alert related to a CI of an open incident joins it, within its window only', () => {
  const open: OpenTopologyIncident[] = [
    { id: 7, groupKey: 'topo:{}:ci="db"', cis: ['db'], joinableUntil: T0 + 60_000, freshUntil: T0 + 60_000 },
  ];
  expect(assignTopologyGroups(topology, directed, [m('api')], open)).toEqual(['topo:{}:ci="db"']);
  expect(assignTopologyGroups(topology, directed, [m('api', 'topo:{}', T0 + 120_000)], open))
    .toEqual(['topo:{}:ci="api"']);
  // Another base (group_by values) never joins.
  expect(assignTopologyGroups(topology, directed, [m('api', 'topo:{cluster="b"}')], open))
    .toEqual(['topo:{cluster="b"}:ci="api"']);
});

test('alerts bridging two open incidents join the oldest', () => {
  const open: OpenTopologyIncident[] = [
    { id: 9, groupKey: 'topo:{}:ci="h3"', cis: ['h3'], joinableUntil: T0 + 1, freshUntil: T0 + 1 },
    { id: 4, groupKey: 'topo:{}:ci="api"', cis: ['api'], joinableUntil: T0 + 1, freshUntil: T0 + 1 },
  ];
  expect(assignTopologyGroups(topology, directed, [m('db')], open)).toEqual(['topo:{}:ci="api"']);
});

test('a topology rule takes only alerts bound to a CI; others fall through to label grouping', () => {
  const rules = compileRuleText('r.yaml', `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: topo
    topology: { max_hops: 2 }
  - name: labels
    group_by: [alertname]
`).get(correlationRulesKind);
  expect(rules.correlate({ alertname: 'Down', instance: 'h1:9100' }, topology))
    .toMatchObject({ rule: 'topo', ci: 'h1', topology: { maxHops: 2, paths: 'directed' } });
  expect(rules.correlate({ alertname: 'Down', instance: 'elsewhere:9100' }, topology))
    .toMatchObject({ rule: 'labels' });
  expect(rules.correlate({ alertname: 'Down', instance: 'h1:9100' })).toMatchObject({ rule: 'labels' });
});

test('nearCis: each CI and what it reaches under the scope, which is all an open incident must hold to matter', () => {
  expect([...nearCis(topology, directed, ['api'])].sort()).toEqual(['api', 'db', 'h1', 'h3']);
  expect([...nearCis(topology, directed, ['h2', 'unknown'])].sort()).toEqual(['h2', 'unknown']);
  // An incident away from every near CI changes no key: the stage reads only the near ones.
  const far: OpenTopologyIncident = {
    id: 1, groupKey: 'topo:{}:ci="h2"', cis: ['h2'], root: 'h2', joinableUntil: T0 + 1e6, freshUntil: T0 + 1e6,
  };
  expect(assignTopologyGroups(topology, directed, [m('api')], [far]))
    .toEqual(assignTopologyGroups(topology, directed, [m('api')], []));
});

