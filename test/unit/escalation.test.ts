import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dueSteps, policyFor, stepKey, type EscalationPolicy } from '../../src/domain/escalation';
import { parseMatcher } from '../../src/domain/matchers';
import { webhookPayload } from '../../src/notify/webhook-shapes';
import { escalationPoliciesKind } from '../../src/rules/kinds/escalation-policies-kind';
import { notificationTargetsKind } from '../../src/rules/kinds/notification-targets-kind';
import { compileRuleSources, compileRuleText, formatProblem } from '../../src/rules/rule-loader';

const MIN = 60_000;
const db: EscalationPolicy = {
  name: 'database', matchers: [parseMatcher('service="db"')], priorities: [1, 2],
  levels: [{ afterMs: 5 * MIN, notify: ['db-oncall'] }, { afterMs: 20 * MIN, notify: ['db-lead', 'manager'] }],
  repeat: { times: 2, intervalMs: 60 * MIN },
};
const steps = (p: EscalationPolicy, ms: number) => dueSteps(p, ms).map(stepKey);

describe('escalation levels', () => {
  test('each level is due after its time unacknowledged, in order', () => {
    expect(steps(db, 4 * MIN)).toEqual([]);
    expect(steps(db, 5 * MIN)).toEqual(['L1R0']);
    expect(dueSteps(db, 25 * MIN)).toEqual([
      { policy: 'database', level: 1, round: 0, dueMs: 5 * MIN, notify: ['db-oncall'] },
      { policy: 'database', level: 2, round: 0, dueMs: 20 * MIN, notify: ['db-lead', 'manager'] },
    ]);
  });

  test('repeat runs the ladder again, each round an interval after the previous one began, `times` more times', () => {
    expect(steps(db, 65 * MIN)).toEqual(['L1R0', 'L2R0', 'L1R1']);
    expect(steps(db, 200 * MIN)).toEqual(['L1R0', 'L2R0', 'L1R1', 'L2R1', 'L1R2', 'L2R2']);
    expect(steps({ ...db, repeat: undefined }, 1000 * MIN)).toEqual(['L1R0', 'L2R0']);
  });

  test('the first policy covering the incident applies: priorities, then matchers on any of its alerts', () => {
    const any: EscalationPolicy = { name: 'any', matchers: [], priorities: [],
      levels: [{ afterMs: MIN, notify: ['desk'] }] };
    expect(policyFor([db, any], 1, [{ service: 'web' }, { service: 'db' }])?.name).toBe('database');
    expect(policyFor([db, any], 3, [{ service: 'db' }])?.name).toBe('any');
    expect(policyFor([db], 1, [{ service: 'web' }])).toBeUndefined();
  });
});

describe('kind: EscalationPolicies and NotificationTargets', () => {
  test('compile', () => {
    const bundle = compileRuleText('esc.yaml', `apiVersion: quell/v1
kind: EscalationPolicies
policies:
  - name: database
    matchers: ['service="db"']
    priorities: [P1, 2]
    levels:
      - { after: 5m, notify: [db-oncall] }
      - { after: 20m, notify: [db-lead, manager] }
    repeat: { times: 2, interval: 1h }
---
apiVersion: quell/v1
kind: NotificationTargets
targets:
  - { name: db-oncall, format: slack, url: '{{ secret.SLACK_DB }}' }
  - { name: manager, url: 'https://hooks.example.com/quell' }
`);
    expect(bundle.get(escalationPoliciesKind)).toEqual([db]);
    const targets = bundle.get(notificationTargetsKind);
    expect([...targets.keys()]).toEqual(['db-oncall', 'manager']);
    expect(targets.get('manager')?.format).toBe('generic');
  });

  test('errors at their place: levels out of order, an interval shorter than the ladder, a bad URL, duplicate names',
    () => {
    const errors = compileRuleSources([{ file: 'esc.yaml', text: `apiVersion: quell/v1
kind: EscalationPolicies
policies:
  - name: a
    levels:
      - { after: 20m, notify: [x] }
      - { after: 5m, notify: [y] }
    repeat: { times: 1, interval: 10m }
  - name: a
    levels: [{ after: 1m, notify: [x] }]
---
apiVersion: quell/v1
kind: NotificationTargets
targets:
  - { name: x, url: 'ftp://example.com' }
  - { name: x, url: 'https://example.com' }
` }]).errors.map(formatProblem).join('\n');
    expect(errors).toMatch(/esc\.yaml:7:\d+.*after the one before/);
    expect(errors).toMatch(/esc\.yaml:8:\d+.*interval/);
    expect(errors).toMatch(/esc\.yaml:9:\d+.*already used/);
    expect(errors).toMatch(/esc\.yaml:15:\d+.*http/);
    expect(errors).toMatch(/esc\.yaml:16:\d+.*already used/);
  });
});

describe('webhook shapes', () => {
  const m = { title: 'P1 <!channel> & co', text: 'db down',
    incident: { id: 7, title: 'db down', priority: 1, status: 'open' } };
  test('generic, Slack (values escaped) and Teams', () => {
    expect(webhookPayload('generic', m)).toEqual({ incident: m.incident, title: m.title, text: 'db down' });
    expect(webhookPayload('slack', m)).toEqual({ text: '*P1 &lt;!channel&gt; &amp; co*\ndb down' });
    expect(JSON.stringify(webhookPayload('teams', m))).toContain('"type":"AdaptiveCard"');
  });
});

test('the example pack rules/packs/service-levels loads', () => {
  const file = join(__dirname, '../../rules/packs/service-levels/50-service-levels.yaml');
  const report = compileRuleSources([{ file: 'pack.yaml', text: readFileSync(file, 'utf8') }]);
  expect(report.errors.map(formatProblem)).toEqual([]);
  expect(report.bundle!.counts).toMatchObject({ ServiceLevels: 4, EscalationPolicies: 1, NotificationTargets: 2 });
});
