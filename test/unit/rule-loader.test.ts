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
    expect(rule).toMatchObject({ name: 'all', matchers: [], groupBy: [], impact: 'medium', origin: 'r.yaml:4' });
    // Today's grouping: a sliding window of an hour, one alert opens, no reopening, no flapping detection.
    expect(rule!.policy).toEqual({ window: 'sliding', windowMs: 3_600_000, minAlerts: 1 });
  });

  test('window, min_alerts, reopen_within and flapping compile to the rule\'s policy', () => {
    const [a, b] = parseRuleFile('r.yaml', `${HEADER}  - name: a
    group_window: 30m
    window: fixed
    min_alerts: 3
    reopen_within: 1h30m
    flapping: {changes: 6, window: 5m}
  - name: b
    flapping: {}
`);
    expect(a!.policy).toEqual({
      window: 'fixed', windowMs: 1_800_000, minAlerts: 3, reopenWithinMs: 5_400_000,
      flapping: { changes: 6, windowMs: 300_000 },
    });
    expect(b!.policy.flapping).toEqual({ changes: 4, windowMs: 600_000 });
  });

  test.each([
    [`${HEADER}  - name: a\n    group_window: soon\n`, 'r.yaml:5:19: rules.0.group_window: expected a duration'],
    [`${HEADER}  - name: a\n    matchers: ['x="1"', 'bad matcher']\n`, 'r.yaml:5:25: invalid matcher "bad matcher"'],
    [`${HEADER}  - name: a\n    group_by: [ok, "not-a-label"]\n`,
      'r.yaml:5:20: rules.0.group_by.1: expected a label name'],
    [`${HEADER}  - name: a\n    colour: red\n`, 'r.yaml:4:5: rules.0: Unrecognized key: "colour"'],
    ['apiVersion: quell/v9\nkind: CorrelationRules\nrules: []\n', 'r.yaml:1:13: apiVersion: '],
    [`${HEADER}  - name: a\n   bad: [indent\n`, 'r.yaml:5:'],
    [`${HEADER}  - name: a\n    window: tumbling\n`, 'r.yaml:5:13: rules.0.window: Invalid option: expected one of'],
    [`${HEADER}  - name: a\n    min_alerts: 0\n`, 'r.yaml:5:17: rules.0.min_alerts: Too small'],
    [`${HEADER}  - name: a\n    reopen_within: later\n`, 'r.yaml:5:20: rules.0.reopen_within: expected a duration'],
    [`${HEADER}  - name: a\n    flapping: {changes: 1}\n`, 'r.yaml:5:25: rules.0.flapping.changes: Too small'],
    [`${HEADER}  - name: a\n    flapping: {window: 2d}\n`, 'r.yaml:5:24: rules.0.flapping.window: at most 24h'],
    [`${HEADER}  - name: a\n    flapping: {often: yes}\n`, 'r.yaml:5:15: rules.0.flapping: Unrecognized key: "often"'],
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
    await expect(loadRules('/nonexistent/rules'))
      .rejects.toThrow('rules directory /nonexistent/rules (QUELL_RULES_DIR): ENOENT');
  });
});
