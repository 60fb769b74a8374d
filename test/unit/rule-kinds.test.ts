import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { correlationRulesKind } from '../../src/rules/kinds/correlation-rules-kind';
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
    expect(messages([{ file: 'r.yaml', text: 'apiVersion: quell/v1\nkind: Runbooks\n' }]))
      .toEqual([`r.yaml:2:7: kind: unknown kind "Runbooks"; known kinds: ${KNOWN}`]);
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
