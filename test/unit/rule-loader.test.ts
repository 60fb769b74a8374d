import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { correlationRulesKind } from '../../src/rules/kinds/correlation-rules-kind';
import { loadRules, parseRuleFile, RuleFileError, RulesDirError } from '../../src/rules/rule-loader';

const HEADER = 'apiVersion: quell/v1\nkind: CorrelationRules\nrules:\n';

describe('rule files', () => {
  test('the shipped rules load and correlate', async () => {
    const set = (await loadRules(resolve(__dirname, '../../rules'))).get(correlationRulesKind);
    const c = set.correlate({ alertname: 'NodeDown', cluster: 'eu1', severity: 'critical', instance: 'n1' });
    expect(c).toMatchObject({ rule: 'node-down', groupKey: 'node-down:{cluster="eu1"}', priority: 1 });
    expect(set.correlate({ alertname: 'Other', service: 's' })?.rule).toBe('default');
  });

  test('defaults fill in a minimal rule', () => {
    const [rule] = parseRuleFile('r.yaml', `${HEADER}  - name: all\n`);
    expect(rule).toMatchObject({ name: 'all', matchers: [], groupBy: [], groupWindowMs: 3_600_000, impact: 'medium', origin: 'r.yaml:4' });
  });

  test.each([
    [`${HEADER}  - name: a\n    group_window: soon\n`, 'r.yaml:5:19: rules.0.group_window: expected a duration'],
    [`${HEADER}  - name: a\n    matchers: ['x="1"', 'bad matcher']\n`, 'r.yaml:5:25: invalid matcher "bad matcher"'],
    [`${HEADER}  - name: a\n    group_by: [ok, "not-a-label"]\n`, 'r.yaml:5:20: rules.0.group_by.1: expected a label name'],
    [`${HEADER}  - name: a\n    colour: red\n`, 'r.yaml:4:5: rules.0: Unrecognized key: "colour"'],
    ['apiVersion: quell/v9\nkind: CorrelationRules\nrules: []\n', 'r.yaml:1:13: apiVersion: '],
    [`${HEADER}  - name: a\n   bad: [indent\n`, 'r.yaml:5:'],
  ])('points at file:line:column (%#)', (text, message) => {
    let error: unknown;
    try { parseRuleFile('r.yaml', text); } catch (err) { error = err; }
    expect(error).toBeInstanceOf(RuleFileError);
    expect((error as Error).message).toContain(message);
  });

  test('rule names are unique across files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quell-rules-'));
    writeFileSync(join(dir, 'a.yaml'), `${HEADER}  - name: same\n`);
    writeFileSync(join(dir, 'b.yaml'), `${HEADER}  - name: other\n  - name: same\n`);
    await expect(loadRules(dir)).rejects.toThrow(/b\.yaml:5:11: rule name "same" is already used at .*a\.yaml:4/);
  });

  test('a missing rules directory is named', async () => {
    await expect(loadRules('/nonexistent/rules')).rejects.toThrow(RulesDirError);
    await expect(loadRules('/nonexistent/rules')).rejects.toThrow('rules directory /nonexistent/rules (QUELL_RULES_DIR): ENOENT');
  });
});
