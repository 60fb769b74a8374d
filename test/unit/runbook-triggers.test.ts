import type { IncidentEvent } from '../../src/domain/incident-event';
import {
  candidatesOf, firedTrigger, inScope, runsFor, targetOf, type IncidentFacts,
} from '../../src/runbooks/runbook-triggers';
import { createRunbookSet } from '../../src/runbooks/runbook-set';
import { testRunbook } from '../support/runbooks';

const facts = (more: Partial<IncidentFacts> = {}): IncidentFacts => ({
  id: 7, priority: 3, groupKey: 'g', cis: [], alertLabels: [{ alertname: 'WebUnhealthy', env: 'prod' }], ciLabels: [],
  ...more,
});
const opened = (priority = 3): IncidentEvent =>
  ({ kind: 'opened', incidentId: 7, rule: 'r', groupKey: 'g', title: 't', priority, fingerprints: [] });

test('opened fires once per incident: the same event gives the same key', () => {
  const rb = testRunbook('repair', [{ event: 'opened' }]);
  expect(firedTrigger(opened(), '100', rb)).toEqual({ trigger: 'opened', triggerKey: 'repair|opened|7' });
  expect(firedTrigger(opened(), '200', rb)?.triggerKey).toBe('repair|opened|7');
});

test('repeatable events are keyed by their timeline row; other kinds fire nothing', () => {
  const rb = testRunbook('r', [{ event: 'acknowledged' }, { event: 'resolved' }]);
  expect(firedTrigger({ kind: 'acknowledged', incidentId: 7, by: 'a' }, '42', rb)?.triggerKey)
    .toBe('r|acknowledged|7|42');
  expect(firedTrigger({ kind: 'resolved', incidentId: 7, by: 'a' }, '43', rb)?.triggerKey).toBe('r|resolved|7|43');
  expect(firedTrigger(opened(), '1', rb)).toBeUndefined();
  expect(firedTrigger({ kind: 'settled', incidentId: 7, fingerprint: 'f' }, '1', rb)).toBeUndefined();
});

test('priority fires at or above its level, on opening or on a change, once per incident', () => {
  const rb = testRunbook('p', [{ event: 'priority', atOrAbove: 2 }]);
  expect(firedTrigger(opened(3), '1', rb)).toBeUndefined();
  expect(firedTrigger(opened(1), '1', rb)?.triggerKey).toBe('p|priority<=P2|7');
  const change: IncidentEvent = { kind: 'priority_changed', incidentId: 7, by: 'x', priority: 2, previous: 3 };
  expect(firedTrigger(change, '9', rb)?.triggerKey).toBe('p|priority<=P2|7');
});

test('one run per runbook per event when two of its triggers fire', () => {
  const rb = testRunbook('both', [{ event: 'opened' }, { event: 'priority', atOrAbove: 5 }]);
  const set = createRunbookSet([rb]);
  expect(candidatesOf(opened(), set)).toEqual([rb]);
  expect(runsFor(opened(1), '1', [rb], facts())).toHaveLength(1);
});

test('scope: one alert must match all matchers; one CI all CI matchers', () => {
  const rb = testRunbook('s', [{ event: 'opened' }], { matchers: ['alertname="WebUnhealthy"', 'env=~"prod|staging"'] });
  expect(inScope(rb, facts())).toBe(true);
  expect(inScope(rb, facts({ alertLabels: [{ alertname: 'WebUnhealthy' }, { env: 'prod' }] }))).toBe(false);
  expect(inScope(rb, facts({ alertLabels: [] }))).toBe(false);
  const ci = testRunbook('c', [{ event: 'opened' }], { ciMatchers: ['type="service"'] });
  expect(inScope(ci, facts())).toBe(false);
  expect(inScope(ci, facts({ ciLabels: [{ type: 'host' }, { type: 'service' }] }))).toBe(true);
  expect(inScope(testRunbook('any', [{ event: 'opened' }]), facts({ alertLabels: [] }))).toBe(true);
});

test('the rate-limit target follows rate_limit.by', () => {
  const by = (b: 'ci' | 'incident' | 'group' | 'runbook') =>
    testRunbook('t', [{ event: 'opened' }], { rateLimit: { max: 1, perMs: 1000, by: b } });
  expect(targetOf(by('ci'), facts({ cis: ['a', 'b'], rootCauseCi: 'b' }))).toBe('ci:b');
  expect(targetOf(by('ci'), facts({ cis: ['a'] }))).toBe('ci:a');
  expect(targetOf(by('ci'), facts())).toBe('incident:7');
  expect(targetOf(by('group'), facts())).toBe('group:g');
  expect(targetOf(by('runbook'), facts())).toBe('runbook:t');
  expect(targetOf(testRunbook('none', [{ event: 'opened' }]), facts())).toBe('incident:7');
});
