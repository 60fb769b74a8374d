import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runbooksKind } from '../../src/rules/kinds/runbooks-kind';
import { compileRuleSources, compileRuleText, formatProblem } from '../../src/rules/rule-loader';

const FULL = `apiVersion: quell/v1
kind: Runbooks
runbooks:
  - name: repair-web
    description: Restart the web service when its health alert fires
    triggers:
      - event: opened
      - event: priority
        at_or_above: P2
      - event: still_firing
        after: 10m
    matchers: ['alertname="WebUnhealthy"', 'env=~"prod|staging"']
    ci_matchers: ['type="service"']
    approval: none
    dry_run: false
    concurrency: 1
    rate_limit: { max: 5, per: 1h, by: ci }
    breaker: { failures: 3 }
    post_check: { resolved_within: 2m }
    steps:
      - name: repair
        action: http
        with:
          method: POST
          url: 'http://{{ labels.instance }}/repair'
          headers: { Authorization: 'Bearer {{ secret.REPAIR_TOKEN }}' }
          body: { incident: '{{ incident.id }}' }
          expect_status: [200, 204]
        timeout: 10s
        idempotent: true
        retry: { attempts: 3, backoff: 1s }
      - name: tell
        action: notify
        with:
          format: slack
          url: '{{ secret.SLACK_WEBHOOK }}'
          text: 'repaired {{ incident.title }}: {{ steps.repair.status }}'
`;

const errorsOf = (text: string, file = 'rb.yaml') => compileRuleSources([{ file, text }]).errors.map(formatProblem);

/** FULL with one line replaced. */
const edit = (from: string, to: string) => {
  if (!FULL.includes(from)) throw new Error(`not in FULL: ${from}`);
  return FULL.replace(from, to);
};

describe('kind: Runbooks', () => {
  test('the design example compiles to a Runbook', () => {
    const set = compileRuleText('rb.yaml', FULL).get(runbooksKind);
    expect(set.all).toHaveLength(1);
    const r = set.byName('repair-web')!;
    expect(r).toMatchObject({
      name: 'repair-web', approval: 'none', dryRun: false, concurrency: 1,
      rateLimit: { max: 5, perMs: 3_600_000, by: 'ci' }, breakerFailures: 3, postCheck: { resolvedWithinMs: 120_000 },
      triggers: [{ event: 'opened' }, { event: 'priority', atOrAbove: 2 }, { event: 'still_firing', afterMs: 600_000 }],
      position: { file: 'rb.yaml', line: 4, column: 11 },
    });
    expect(r.matchers.map((m) => m.name)).toEqual(['alertname', 'env']);
    expect(r.ciMatchers.map((m) => m.name)).toEqual(['type']);
    expect(r.steps.map((s) => [s.name, s.action, s.timeoutMs, s.idempotent, s.retry])).toEqual([
      ['repair', 'http', 10_000, true, { attempts: 3, backoffMs: 1000 }],
      ['tell', 'notify', 30_000, false, { attempts: 1, backoffMs: 0 }],
    ]);
    // Params are JSON: they are stored with the run.
    expect(JSON.parse(JSON.stringify(r.steps[0]!.params))).toEqual(r.steps[0]!.params);
    expect(set.triggeredBy('opened')).toEqual([r]);
    expect(set.triggeredBy('resolved')).toEqual([]);
    expect(set.byName('nope')).toBeUndefined();
  });

  test.each([
    ['unknown action', ['action: http', 'action: shell'], /^rb\.yaml:22:17: .*unknown action; known actions: http, exec, notify, wait_for, incident, ticket/],
    ['bad template', ["url: 'http://{{ labels.instance }}/repair'", "url: 'http://{{ labels.instance /repair'"], /^rb\.yaml:25:16: unclosed \{\{/],
    ['unknown template root', ["body: { incident: '{{ incident.id }}' }", "body: { incident: '{{ process.env }}' }"], /^rb\.yaml:27:29: .*unknown template root "process"/],
    ['unknown incident field', ["body: { incident: '{{ incident.id }}' }", "body: { incident: '{{ incident.constructor }}' }"], /^rb\.yaml:27:29: .*expected incident.<field>/],
    ['a later step read', ['{{ steps.repair.status }}', '{{ steps.later.status }}'], /^rb\.yaml:37:17: .*no earlier step is named "later"/],
    ['retry without idempotent', ['idempotent: true', 'idempotent: false'], /^rb\.yaml:31:16: retry needs idempotent: true/],
    ['bad matcher', ['\'env=~"prod|staging"\'', '\'env=~"(prod"\''], /^rb\.yaml:12:44: invalid matcher/],
    ['bad duration', ['after: 10m', 'after: ten minutes'], /^rb\.yaml:11:16: .*duration/],
    ['a with: field the action does not know', ['expect_status: [200, 204]', 'expect_statuz: [200]'], /^rb\.yaml:\d+:\d+: with: .*expect_statuz.*\(action http\)/],
    ['a URL whose host is not written', ["url: 'http://{{ labels.instance }}/repair'", "url: '{{ labels.instance }}/repair'"], /^rb\.yaml:25:16: a URL begins with http/],
    ['a bad priority', ['at_or_above: P2', 'at_or_above: P9'], /^rb\.yaml:9:22: .*expected P1 to P5/],
    ['no trigger', ['    triggers:\n      - event: opened\n      - event: priority\n        at_or_above: P2\n      - event: still_firing\n        after: 10m\n', '    triggers: []\n'], /^rb\.yaml:6:15: .*triggers/],
  ])('%s is an error at its file:line:column', (_what, [from, to], expected) => {
    const errors = errorsOf(edit(from!, to!));
    expect(errors.join('\n')).toMatch(expected);
  });

  test('duplicate step names in a runbook, duplicate runbook names across files', () => {
    expect(errorsOf(edit('name: tell', 'name: repair')).join('\n')).toMatch(/^rb\.yaml:32:15: step name "repair" is already used/);
    const report = compileRuleSources([{ file: 'a.yaml', text: FULL }, { file: 'b.yaml', text: FULL }]);
    expect(report.errors.map(formatProblem))
      .toEqual(['b.yaml:4:11: runbook name "repair-web" is already used at a.yaml:4']);
  });

  test('a template referring to a secret name that cannot be one is an error', () => {
    expect(errorsOf(edit('{{ secret.REPAIR_TOKEN }}', '{{ secret.REPAIR-TOKEN }}')).join('\n')).toMatch(/^rb\.yaml:26:37: .*secret\.<NAME>/);
  });

  test('exec: the program is literal, args templates; incident and wait_for and ticket compile', () => {
    const text = `apiVersion: quell/v1
kind: Runbooks
runbooks:
  - name: all-actions
    triggers: [{ event: opened }]
    steps:
      - { name: run, action: exec, with: { program: /bin/echo, args: ['{{ labels.instance }}'],
          env: { TARGET: '{{ ci.id }}' } } }
      - { name: note, action: incident, with: { comment: 'exit {{ steps.run.exit_code }}' } }
      - { name: prio, action: incident, with: { set_priority: P2 } }
      - { name: wait, action: wait_for, with: { alerts: resolved, timeout: 1m } }
      - { name: q, action: wait_for, with: { query: 'up{instance="{{ labels.instance }}"}', condition: '== 1',
          timeout: 1m, interval: 2s } }
      - { name: t, action: ticket, with: { system: jira, url: 'https://jira.example', project: OPS, fields: { summary: '{{ incident.title }}' } } }
      - { name: u, action: ticket, with: { system: servicenow, url: 'https://sn.example', op: update, ticket: '{{ steps.t.key }}', fields: { work_notes: x } } }
`;
    const set = compileRuleText('rb.yaml', text).get(runbooksKind);
    expect(set.all[0]!.steps.map((s) => s.action))
      .toEqual(['exec', 'incident', 'incident', 'wait_for', 'wait_for', 'ticket', 'ticket']);
    expect(errorsOf(text.replace('program: /bin/echo', "program: '{{ labels.cmd }}'")).join('\n')).toMatch(/:7:\d+: the program is written literally/);
    expect(errorsOf(text.replace("condition: '== 1'", "condition: 'is up'")).join('\n')).toMatch(/:12:\d+: with.condition: expected a comparison/);
    expect(errorsOf(text.replace("op: update, ", '')).join('\n')).toMatch(/a create needs fields.summary/);
  });
});

test('the example pack rules/packs/runbooks loads', () => {
  const file = join(__dirname, '../../rules/packs/runbooks/40-runbooks.yaml');
  const report = compileRuleSources([{ file: 'pack.yaml', text: readFileSync(file, 'utf8') }]);
  expect(report.errors.map(formatProblem)).toEqual([]);
  expect(report.bundle!.get(runbooksKind).all.map((r) => r.name)).toEqual(['repair-web', 'clean-logs', 'p1-ticket']);
});
