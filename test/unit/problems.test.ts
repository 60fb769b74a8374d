import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { timelineEntryOf } from '../../src/domain/incident-event';
import { problemTimelineEntryOf } from '../../src/domain/problem-event';
import { isActiveProblem, nextProblemStatus, PROBLEM_STATUSES } from '../../src/domain/problem-lifecycle';
import { recurrence, signatureOf } from '../../src/domain/problem-recurrence';
import { IncidentEventLog, type StageContext } from '../../src/pipeline/stage';
import { problemStage } from '../../src/pipeline/stages/problem';
import { createRunbookSet } from '../../src/runbooks/runbook-set';
import { candidatesOf, firedTrigger } from '../../src/runbooks/runbook-triggers';
import { problemRulesKind } from '../../src/rules/kinds/problem-rules-kind';
import { compileRuleSources, compileRuleText, formatProblem } from '../../src/rules/rule-loader';
import { testRunbook } from '../support/runbooks';

describe('problem signature', () => {
  const labels: Record<string, string>[] = [{ alertname: 'HighErrorRate', service: 'checkout', instance: 'a' },
    { alertname: 'Other', service: 'x' }];

  test('group_key, ci and alertname_service sign an incident; values are quoted', () => {
    expect(signatureOf('group_key', { groupKey: 'default:{service="checkout"}', labels }))
      .toBe('group_key:"default:{service=\\"checkout\\"}"');
    expect(signatureOf('ci', { ci: 'db-1', labels })).toBe('ci:"db-1"');
    expect(signatureOf('alertname_service', { labels }))
      .toBe('alertname_service:{alertname="HighErrorRate",service="checkout"}');
  });

  test('an incident without the signature\'s parts has none', () => {
    expect(signatureOf('ci', { labels })).toBeUndefined();
    expect(signatureOf('group_key', { labels })).toBeUndefined();
    expect(signatureOf('alertname_service', { labels: [{ alertname: 'NoService' }] })).toBeUndefined();
    expect(signatureOf('alertname_service', { labels: [] })).toBeUndefined();
  });

  test('a hostile label cannot forge another signature, and a huge one is hashed', () => {
    const forged = signatureOf('alertname_service', { labels: [{ alertname: 'A",service="b', service: 'c' }] });
    expect(forged).not.toBe(signatureOf('alertname_service', { labels: [{ alertname: 'A', service: 'b' }] }));
    const huge = signatureOf('ci', { ci: 'x'.repeat(5000), labels: [] })!;
    expect(huge).toMatch(/^ci:sha256="[0-9a-f]{64}"$/);
    expect(huge).toBe(signatureOf('ci', { ci: 'x'.repeat(5000), labels: [] }));
  });
});

describe('recurrence (injected clock)', () => {
  const now = new Date('2026-11-20T12:00:00Z');
  const ago = (min: number) => new Date(now.getTime() - min * 60_000);
  const policy = { minIncidents: 3, windowMs: 60 * 60_000 };

  test('opens at min_incidents distinct incidents within the window, and names them', () => {
    expect(recurrence([{ incidentId: 1, at: ago(50) }, { incidentId: 2, at: ago(10) }], now, policy))
      .toEqual({ opens: false, incidentIds: [1, 2] });
    expect(recurrence([{ incidentId: 3, at: now }, { incidentId: 1, at: ago(50) }, { incidentId: 2, at: ago(10) }], now,
      policy))
      .toEqual({ opens: true, incidentIds: [1, 2, 3] });
  });

  test('occurrences at or before the window\'s start, or after now, do not count; an incident counts once', () => {
    expect(recurrence([{ incidentId: 1, at: ago(60) }, { incidentId: 2, at: ago(1) }, { incidentId: 3, at: now }], now,
      policy).opens).toBe(false);
    expect(recurrence([{ incidentId: 2, at: ago(1) }, { incidentId: 2, at: ago(2) }, { incidentId: 3, at: now }], now,
      policy).opens).toBe(false);
    expect(recurrence([{ incidentId: 1, at: new Date(now.getTime() + 1) }, { incidentId: 2, at: ago(1) },
      { incidentId: 3, at: now }], now, policy).opens)
      .toBe(false);
  });
});

describe('problem lifecycle', () => {
  test('open -> known_error -> resolved -> closed; reopen from resolved only', () => {
    expect(nextProblemStatus('open', 'mark_known_error')).toBe('known_error');
    expect(nextProblemStatus('known_error', 'mark_known_error')).toBeUndefined();
    expect(nextProblemStatus('open', 'resolve')).toBe('resolved');
    expect(nextProblemStatus('known_error', 'resolve')).toBe('resolved');
    expect(nextProblemStatus('resolved', 'resolve')).toBeUndefined();
    expect(nextProblemStatus('resolved', 'reopen')).toBe('open');
    expect(nextProblemStatus('closed', 'reopen')).toBeUndefined();
    expect(nextProblemStatus('open', 'reopen')).toBeUndefined();
    for (const s of ['open', 'known_error', 'resolved'] as const) expect(nextProblemStatus(s, 'close')).toBe('closed');
    expect(nextProblemStatus('closed', 'close')).toBeUndefined();
    expect(nextProblemStatus('closed', 'mark_known_error')).toBeUndefined();
  });

  test('only open and known errors are active (take new incidents)', () => {
    expect(PROBLEM_STATUSES.filter(isActiveProblem)).toEqual(['open', 'known_error']);
  });

  test('events become timeline rows naming who', () => {
    expect(problemTimelineEntryOf({ kind: 'known_error', problemId: 4, by: 'alice', workaround: 'w', runbook: null }))
      .toEqual({ problemId: 4, kind: 'known_error', actor: 'alice', detail: { workaround: 'w', runbook: null } });
    expect(problemTimelineEntryOf({ kind: 'status_changed', problemId: 4, by: 'bob', status: 'resolved',
      previous: 'open' }))
      .toEqual({ problemId: 4, kind: 'status_changed', actor: 'bob',
        detail: { status: 'resolved', previous: 'open' } });
    expect(timelineEntryOf({ kind: 'known_error', incidentId: 9, problemId: 4, workaround: 'w' }))
      .toEqual({ incidentId: 9, kind: 'known_error', actor: 'quell', detail: { problem_id: 4, workaround: 'w' } });
  });
});

describe('known error runbook trigger', () => {
  const set = createRunbookSet([testRunbook('fix', [{ event: 'resolved' }]),
    testRunbook('other', [{ event: 'opened' }])]);

  test('the named runbook, whatever its triggers, once per incident', () => {
    const event = { kind: 'known_error', incidentId: 7, problemId: 1, workaround: 'w', runbook: 'fix' } as const;
    expect(candidatesOf(event, set).map((r) => r.name)).toEqual(['fix']);
    expect(firedTrigger(event, '123', set.byName('fix')!)).toEqual({ trigger: 'known_error',
      triggerKey: 'fix|known_error|7' });
    expect(firedTrigger(event, '456', set.byName('fix')!)).toEqual({ trigger: 'known_error',
      triggerKey: 'fix|known_error|7' });
    expect(firedTrigger(event, '123', set.byName('other')!)).toBeUndefined();
    expect(candidatesOf({ ...event, runbook: 'gone' }, set)).toEqual([]);
    const { runbook: _, ...without } = event;
    expect(candidatesOf(without, set)).toEqual([]);
  });
});

describe('ProblemRules kind', () => {
  const doc = (rule: string) => `apiVersion: quell/v1\nkind: ProblemRules\nrules:\n${rule}`;

  test('compiles with defaults', () => {
    const set = compileRuleText('p.yaml', doc('  - name: r1\n    signature: ci\n')).get(problemRulesKind);
    expect(set.rules).toEqual([expect.objectContaining({ name: 'r1', signature: 'ci', minIncidents: 3,
      windowMs: 86_400_000, matchers: [], origin: 'p.yaml:4' })]);
  });

  test('reports bad fields at their position, and duplicate names', () => {
    const errors = (text: string) => compileRuleSources([{ file: 'p.yaml', text }]).errors.map(formatProblem);
    expect(errors(doc('  - name: r1\n    signature: host\n'))[0]).toMatch(/^p\.yaml:5:16: rules\.0\.signature/);
    expect(errors(doc('  - name: r1\n    signature: ci\n    window: 200d\n'))[0]).toMatch(/at most 90d/);
    expect(errors(doc('  - name: r1\n    signature: ci\n    matchers: ["a=~("]\n'))[0]).toMatch(/^p\.yaml:6/);
    expect(errors(doc('  - name: r1\n    signature: ci\n  - name: r1\n    signature: ci\n'))[0]).toMatch(/already used at p\.yaml:4/);
  });

  test('the rules whose matchers hold (on any of the incident\'s alerts), in order', () => {
    const set = compileRuleText('p.yaml',
      doc(`  - name: db\n    matchers: ['service="db"']\n    signature: ci\n`
        + `  - name: rest\n    signature: group_key\n`))
      .get(problemRulesKind);
    expect(set.rulesFor([{ service: 'web' }, { service: 'db' }]).map((r) => r.name)).toEqual(['db', 'rest']);
    expect(set.rulesFor([{ service: 'web' }]).map((r) => r.name)).toEqual(['rest']);
  });
});

describe('problem stage', () => {
  const noDb = new Proxy({}, { get: () => { throw new Error('the stage queried the database'); } });
  const ctx = (events: IncidentEventLog): StageContext => ({
    // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- a throwing stand-in
    trx: noDb as StageContext['trx'], events, now: () => new Date(), afterCommit: () => undefined,
  });

  test('with no problem rules, or no incident opened, it reads nothing', async () => {
    const events = new IncidentEventLog();
    events.emit({ kind: 'opened', incidentId: 1, rule: 'r', groupKey: 'g', title: 't', priority: 3,
      fingerprints: ['f'] });
    const none = compileRuleText('r.yaml', 'apiVersion: quell/v1\nkind: CorrelationRules\nrules: []\n');
    await expect(problemStage(() => none).run([], ctx(events))).resolves.toEqual([]);
    const some = compileRuleText('p.yaml',
      'apiVersion: quell/v1\nkind: ProblemRules\nrules:\n  - name: r\n    signature: group_key\n');
    const quiet = new IncidentEventLog();
    quiet.emit({ kind: 'alerts_linked', incidentId: 1, fingerprints: ['f'] });
    await expect(problemStage(() => some).run([], ctx(quiet))).resolves.toEqual([]);
  });
});

test('the example pack rules/packs/problems loads', () => {
  const file = join(__dirname, '../../rules/packs/problems/50-problems.yaml');
  const report = compileRuleSources([{ file, text: readFileSync(file, 'utf8') }]);
  expect(report.errors.map(formatProblem)).toEqual([]);
  expect(report.warnings).toEqual([]);
  expect(report.bundle!.get(problemRulesKind).rules.map((r) => r.name)).toEqual(['recurring-database',
    'flapping-groups', 'same-alert-same-service']);
});
