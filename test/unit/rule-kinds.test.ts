import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { correlationRulesKind } from '../../src/rules/kinds/correlation-rules-kind';
import { inhibitRulesKind } from '../../src/rules/kinds/inhibit-rules-kind';
import { maintenanceWindowsKind } from '../../src/rules/kinds/maintenance-windows-kind';
import { defineRuleKind } from '../../src/rules/rule-kind';
import { RULE_KINDS } from '../../src/rules/rule-kinds';
import { compileRuleSources, formatProblem, inspectRules, loadRules } from '../../src/rules/rule-loader';
import { ruleTestsKind } from '../../src/tooling/rule-tests-kind';

const REPO = resolve(__dirname, '../..');
const HEADER = 'apiVersion: quell/v1\nkind: CorrelationRules\nrules:\n';
const messages = (sources: { file: string; text: string }[]) => compileRuleSources(sources).errors.map(formatProblem);

/** A kind as a later feature would add it: one definition, listed beside the others. */
const greetingsKind = defineRuleKind({
  kind: 'Greetings',
  versions: {
    'quell/v1': z.strictObject({ greetings: z.array(z.strictObject({ to: z.string(), words: z.string() })) }),
  },
  compile: (spec, doc) => spec.greetings.map((g, i) => {
    if (g.words.length === 0) doc.error(['greetings', i, 'words'], 'say something');
    return { ...g, at: doc.position(['greetings', i]) };
  }),
  combine: (items) => new Map(items.map((g) => [g.to, g.words])),
  count: (byName) => byName.size,
});

const KNOWN = RULE_KINDS.map((k) => k.kind).join(', ');

describe('rule kinds', () => {
  test('a file may hold several documents, of several kinds, each dispatched on its kind', () => {
    const text = `${HEADER}  - name: first\n---\n# a comment-only document is skipped\n---\n`
      + 'apiVersion: quell/v1\nkind: Greetings\ngreetings: [{ to: ops, words: hello }]\n'
      + `---\n${HEADER}  - name: second\n    matchers: ['a="1"']\n`;
    const report = compileRuleSources([{ file: 'r.yaml', text }], [...RULE_KINDS, greetingsKind]);
    expect(report.errors).toEqual([]);
    const bundle = report.bundle!;
    expect(bundle.get(correlationRulesKind).rules.map((r) => [r.name, r.origin]))
      .toEqual([['first', 'r.yaml:4'], ['second', 'r.yaml:15']]);
    expect(bundle.get(greetingsKind).get('ops')).toBe('hello');
    expect(bundle.counts).toMatchObject({ CorrelationRules: 2, Greetings: 1 });
  });

  test('every registered kind is in every bundle, empty when no file has it', () => {
    const sources = [{ file: 'r.yaml', text: `${HEADER}  - name: a\n` }];
    const bundle = compileRuleSources(sources, [...RULE_KINDS, greetingsKind]).bundle!;
    expect(bundle.get(greetingsKind).size).toBe(0);
    expect(() => compileRuleSources([]).bundle!.get(greetingsKind)).toThrow('rule kind Greetings is not registered');
  });

  test('an unknown kind or version is an error at its position that lists what is known', () => {
    expect(messages([{ file: 'r.yaml', text: 'apiVersion: quell/v1\nkind: Playbooks\n' }]))
      .toEqual([`r.yaml:2:7: kind: unknown kind "Playbooks"; known kinds: ${KNOWN}`]);
    expect(messages([{ file: 'r.yaml', text: 'apiVersion: quell/v2\nkind: CorrelationRules\nrules: []\n' }]))
      .toEqual(['r.yaml:1:13: apiVersion: CorrelationRules has no version "quell/v2"; known: quell/v1']);
    expect(messages([{ file: 'r.yaml', text: 'rules: []\n' }]))
      .toEqual([`r.yaml:1:1: kind: missing; known kinds: ${KNOWN}`]);
    expect(messages([{ file: 'r.yaml', text: '- a\n- b\n' }]))
      .toEqual(['r.yaml:1:1: expected a mapping with apiVersion and kind']);
  });

  test('every error of every file is reported, and no bundle is made', () => {
    const report = compileRuleSources([
      {
        file: 'a.yaml',
        text: `${HEADER}  - name: a\n    group_window: soon\n    impact: huge\n`
          + `  - name: b\n    matchers: ['x=~"(?=y)"']\n`,
      },
      { file: 'b.yaml', text: `${HEADER}  - name: a\n  - name: [broken\n` },
      { file: 'c.yaml', text: `${HEADER}  - name: c\n    matchers: ['x=~"(a)\\\\1"', 'bad']\n  - name: b\n` },
    ]);
    expect(report.bundle).toBeUndefined();
    expect(report.errors.map(formatProblem)).toEqual([
      'a.yaml:5:19: rules.0.group_window: expected a duration such as 30s, 5m, 1h30m',
      expect.stringMatching(/^a\.yaml:6:13: rules\.0\.impact: /),
      expect.stringMatching(/^b\.yaml:6:/),
      expect.stringMatching(/^c\.yaml:5:16: invalid matcher "x=~\\"\(a\)\\\\\\\\1\\"": backreferences are not/),
      'c.yaml:5:31: invalid matcher "bad": expected name, one of = != =~ !~, and a value',
    ]);
    // a.yaml's rules failed their schema, so the second "b" is not compared with a rule that never loaded.
  });

  test('rules after a rule that takes every alert are flagged, without failing the load', () => {
    const report = compileRuleSources([
      { file: 'a.yaml', text: `${HEADER}  - name: everything\n` },
      { file: 'b.yaml', text: `${HEADER}  - name: late\n    matchers: ['a="1"']\n` },
    ]);
    expect(report.bundle).toBeDefined();
    expect(report.warnings.map(formatProblem)).toEqual([
      'b.yaml:4:11: warning: rule "late" never takes an alert: rule "everything" (a.yaml:4) has no matchers '
        + 'and takes every alert first',
    ]);
  });

  test('an empty file loads nothing, with a warning', () => {
    const report = compileRuleSources([{ file: 'empty.yaml', text: '# nothing yet\n' }]);
    expect(Object.values(report.bundle?.counts ?? { none: 1 })).toEqual(RULE_KINDS.map(() => 0));
    expect(report.warnings.map(formatProblem)).toEqual(['empty.yaml:1:1: warning: the file holds no rule document']);
  });

  test('the version is a hash of the files: the same files in another directory give the same version', async () => {
    const text = readFileSync(join(REPO, 'rules/default.yaml'), 'utf8');
    const [a, b] = [mkdtempSync(join(tmpdir(), 'quell-kinds-')), mkdtempSync(join(tmpdir(), 'quell-kinds-'))];
    writeFileSync(join(a, 'default.yaml'), text);
    writeFileSync(join(b, 'default.yaml'), text);
    const [va, vb] = [(await loadRules(a)).version, (await loadRules(b)).version];
    expect(va).toMatch(/^[0-9a-f]{12}$/);
    expect(vb).toBe(va);
    writeFileSync(join(b, 'default.yaml'), `${text}\n# changed\n`);
    expect((await loadRules(b)).version).not.toBe(va);
    expect((await inspectRules(b)).bundle?.files).toEqual([join(b, 'default.yaml')]);
  });

  test('a bundle cannot be changed', async () => {
    const bundle = await loadRules(join(REPO, 'rules'));
    expect(Object.isFrozen(bundle)).toBe(true);
    expect(Object.isFrozen(bundle.counts)).toBe(true);
    expect(Object.isFrozen(bundle.files)).toBe(true);
  });

  test.each(['README.md', 'rules/README.md'])('every rule example in %s loads', (doc) => {
    // Whole documents as they are; a rule on its own (`- name: ...`) inside a CorrelationRules document.
    const blocks = [...readFileSync(join(REPO, doc), 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((m) => m[1] as string).filter((b) => /^(kind: |- name: )/m.test(b))
      .map((b) => (/^kind: /m.test(b) ? b : `${HEADER}${b.replace(/^/gm, '  ')}`));
    expect(blocks.length).toBeGreaterThanOrEqual(doc === 'README.md' ? 1 : 7);
    for (const [n, text] of blocks.entries()) {
      // Rule test files (kind: RuleTests) are read by `quell rules test`, not by the engine.
      const report = compileRuleSources([{ file: `${doc}#${n + 1}`, text }], [...RULE_KINDS, ruleTestsKind]);
      expect(report.errors.map(formatProblem)).toEqual([]);
    }
  });
});

describe('MaintenanceWindows', () => {
  const WINDOWS = 'apiVersion: quell/v1\nkind: MaintenanceWindows\nwindows:\n';
  const load = (text: string) => compileRuleSources([{ file: 'w.yaml', text: `${WINDOWS}${text}` }]);

  test('a window is on during each occurrence, for the alerts its matchers and cis cover', () => {
    const report = load(`  - name: db
    schedule: '0 2 * * sat'
    duration: 2h
    time_zone: Europe/Berlin
    matchers: ['service="db"']
  - name: rack
    schedule: '@daily'
    duration: 30m
    cis: [rack-1, rack-2]
`);
    expect(report.errors).toEqual([]);
    const schedule = report.bundle!.get(maintenanceWindowsKind);
    expect(report.bundle!.counts['MaintenanceWindows']).toBe(2);
    // Saturday 02:00-04:00 in Berlin is 01:00-03:00 UTC in winter.
    const inside = new Date('2026-11-28T02:59:00Z');
    expect(schedule.windowFor({ service: 'db' }, inside)).toMatchObject({
      window: { name: 'db', origin: 'w.yaml:4' },
      occurrence: { start: Date.parse('2026-11-28T01:00:00Z'), end: Date.parse('2026-11-28T03:00:00Z') },
    });
    expect(schedule.windowFor({ service: 'web' }, inside)).toBeUndefined();
    expect(schedule.windowFor({ service: 'db' }, new Date('2026-11-28T03:00:00Z'))).toBeUndefined();
    expect(schedule.windowFor({ ci: 'rack-2' }, new Date('2026-11-28T00:10:00Z'))?.window.name).toBe('rack');
    expect(schedule.windowFor({ ci: 'rack-3' }, new Date('2026-11-28T00:10:00Z'))).toBeUndefined();
    expect(schedule.windowFor({ ci: 'rack-2' }, new Date('2026-11-28T00:30:00Z'))).toBeUndefined();
  });

  test('every mistake at its position; a window that covers everything is flagged', () => {
    const report = load(`  - name: a
    schedule: '0 25 * * *'
    duration: 0s
    time_zone: Europe/Atlantis
    matchers: ['x=~"("']
  - name: b
    schedule: '0 2 * * *'
    duration: 1h
`);
    expect(report.errors.map(formatProblem)).toEqual([
      expect.stringMatching(/^w\.yaml:6:15: windows\.0\.duration: expected a duration above 0 and at most 31d/),
      'w.yaml:7:16: windows.0.time_zone: expected an IANA time zone such as Europe/Berlin or UTC',
    ]);
    const second = load(`  - name: a
    schedule: '0 25 * * *'
    duration: 1h
    matchers: ['x=~"("']
  - name: b
    schedule: '0 2 * * *'
    duration: 1h
  - name: b
    schedule: '0 3 * * *'
    duration: 1h
    matchers: ['x="1"']
`);
    expect(second.errors.map(formatProblem)).toEqual([
      expect.stringMatching(/^w\.yaml:7:16: invalid matcher "x=~\\"\(\\"": bad regular expression/),
      'w.yaml:5:15: invalid schedule "0 25 * * *": hour "25": 25 is outside 0-23',
      'w.yaml:11:11: window name "b" is already used at w.yaml:8',
    ]);
    expect(second.warnings.map(formatProblem))
      .toEqual(['w.yaml:8:5: warning: window "b" has no matchers and no cis: it covers every alert']);
  });
});

describe('InhibitRules', () => {
  const INHIBIT = 'apiVersion: quell/v1\nkind: InhibitRules\nrules:\n';
  const load = (text: string, file = 'i.yaml') => compileRuleSources([{ file, text: `${INHIBIT}${text}` }]);

  test('rules are indexed by both sides; the same definition has the same key wherever it is written', () => {
    const report = load(`  - name: node-down
    source_matchers: ['alertname="NodeDown"']
    target_matchers: ['alertname!="NodeDown"']
    equal: [instance, cluster]
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
`);
    expect(report.errors).toEqual([]);
    const set = report.bundle!.get(inhibitRulesKind);
    expect(set.rules.map((r) => [r.name, r.equal])).toEqual([['node-down', ['cluster', 'instance']], ['i.yaml:8', []]]);
    const names = (rules: readonly { name: string }[]) => rules.map((r) => r.name);
    expect(names(set.sourceOf({ alertname: 'NodeDown', severity: 'critical' }))).toEqual(['node-down', 'i.yaml:8']);
    expect(names(set.targetOf({ alertname: 'DiskFull', severity: 'warning' }))).toEqual(['node-down', 'i.yaml:8']);
    expect(set.targetOf({ alertname: 'NodeDown', severity: 'critical' })).toEqual([]);
    const same = load(`  - name: renamed
    equal: [cluster, instance]
    target_matchers: ['alertname!="NodeDown"']
    source_matchers: ['alertname="NodeDown"']
`, 'other.yaml').bundle!.get(inhibitRulesKind);
    expect(same.rules[0]!.key).toBe(set.rules[0]!.key);
    expect(same.rules[0]!.key).not.toBe(set.rules[1]!.key);
  });

  test('mistakes at their positions', () => {
    const report = load(`  - name: a
    source_matchers: ['alertname="A"']
    equal: ['not a label']
  - name: b
    source_match: { a: b }
`);
    expect(report.errors.map(formatProblem)).toEqual([
      'i.yaml:6:13: rules.0.equal.0: expected a label name',
      'i.yaml:7:5: rules.1: Unrecognized key: "source_match"',
    ]);
    // Once the document fits the schema, its matchers are compiled, and names compared.
    const second = load(`  - name: a
    target_matchers: ['x=~"(?=y)"']
  - name: b
  - name: b
`);
    expect(second.errors.map(formatProblem)).toEqual([
      expect.stringMatching(/^i\.yaml:5:23: invalid matcher "x=~\\"\(\?=y\)\\"": lookaround is not supported/),
      'i.yaml:7:11: inhibit rule name "b" is already used at i.yaml:6',
    ]);
    expect(second.warnings.map(formatProblem)).toEqual([
      'i.yaml:6:5: warning: a rule with no matchers and no equal lets any firing alert inhibit every other',
      'i.yaml:7:5: warning: a rule with no matchers and no equal lets any firing alert inhibit every other',
    ]);
  });
});
