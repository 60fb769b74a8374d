import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileRuleSources, formatProblem, isRuleFileName, readRuleSources } from '../../src/rules/rule-loader';
import { payloadsOf } from '../../src/tooling/rule-test-input';
import { ruleTestsKind, type RuleTestCase } from '../../src/tooling/rule-tests-kind';

const HEADER = 'apiVersion: quell/v1\nkind: RuleTests\nrule_files: [../rules.yaml]\n';

function compile(text: string, file = 'pack/tests/a.test.yaml') {
  return compileRuleSources([{ file, text }], [ruleTestsKind]);
}

describe('rule test files (kind: RuleTests)', () => {
  test('compile to test cases: paths resolved beside the file, times in ms, positions kept', () => {
    const report = compile(`${HEADER}cmdb: ../cmdb.yaml
tests:
  - name: one
    input_alerts:
      - { at: 0s, labels: { alertname: A } }
      - { at: 1m30s, status: resolved, labels: { alertname: A }, ends_at: 1m }
    expected_incidents:
      - { rule: r, priority: P2, alerts: ['A{x="1"}', { alertname: B }] }
  - start: 2026-03-01T00:00:00+01:00
    input_alerts: []
    expected_incidents: []
`);
    expect(report.errors).toEqual([]);
    const [one, two] = report.bundle!.get(ruleTestsKind);
    expect(one).toEqual({
      file: 'pack/tests/a.test.yaml', line: 6, name: 'one', ruleFiles: ['pack/rules.yaml'], cmdb: 'pack/cmdb.yaml',
      startMs: Date.parse('2026-01-05T09:00:00Z'),
      inputs: [
        { line: 8, atMs: 0, labels: { alertname: 'A' }, annotations: {}, status: 'firing' },
        { line: 9, atMs: 90_000, labels: { alertname: 'A' }, annotations: {}, status: 'resolved', endsAtMs: 60_000 },
      ],
      expected: [{
        line: 11, rule: 'r', priority: 2,
        alerts: [
          { labels: { alertname: 'A', x: '1' }, text: 'A{x="1"}' },
          { labels: { alertname: 'B' }, text: 'B{}' },
        ],
      }],
    });
    expect(two).toMatchObject({ name: 'test 2', startMs: Date.parse('2026-02-28T23:00:00Z') });
  });

  test.each([
    [`${HEADER}tests:\n  - input_alerts: [{ at: soon, labels: { a: b } }]\n    expected_incidents: []\n`,
      'pack/tests/a.test.yaml:5:26: tests.0.input_alerts.0.at: expected a duration from the test\'s start'],
    [`${HEADER}tests:\n  - input_alerts: []\n    expected_incidents: [{ alerts: ['A{x=1}'] }]\n`,
      'pack/tests/a.test.yaml:6:37: tests.0.expected_incidents.0.alerts.0: expected a label set'],
    [`${HEADER}tests:\n  - input_alerts: []\n    expected_incidents: [{ colour: red }]\n`,
      'pack/tests/a.test.yaml:6:26: tests.0.expected_incidents.0: Unrecognized key: "colour"'],
    ['apiVersion: quell/v1\nkind: CorrelationRules\nrules: []\n', 'kind: unknown kind "CorrelationRules"'],
  ])('a mistake is reported at file:line:column (%#)', (text, message) => {
    expect(compile(text).errors.map(formatProblem).join('\n')).toContain(message);
  });

  test('are not rule files: the engine\'s loader skips them', async () => {
    expect(['a.yaml', 'b.yml', '10-x.yaml'].every(isRuleFileName)).toBe(true);
    expect(['a.test.yaml', 'a.test.yml', 'README.md', 'a.yaml.bak'].some(isRuleFileName)).toBe(false);
    const dir = mkdtempSync(join(tmpdir(), 'quell-rules-'));
    writeFileSync(join(dir, 'a.yaml'), 'apiVersion: quell/v1\nkind: CorrelationRules\nrules: []\n');
    writeFileSync(join(dir, 'a.test.yaml'), `${HEADER}tests: []\n`);
    expect((await readRuleSources(dir)).map((s) => s.file)).toEqual([join(dir, 'a.yaml')]);
  });
});

describe('test input as webhook payloads', () => {
  const testCase = (inputs: RuleTestCase['inputs']): RuleTestCase => ({
    file: 'f', line: 1, name: 't', ruleFiles: [], startMs: Date.parse('2026-01-05T09:00:00Z'), inputs, expected: [],
  });
  const alert = (atMs: number, status: 'firing' | 'resolved', more: object = {}) => ({
    line: 1, atMs, labels: { alertname: 'A' }, annotations: {}, status, ...more,
  });

  test('one Alertmanager payload per instant; times filled as Alertmanager would', () => {
    const payloads = payloadsOf(testCase([
      alert(60_000, 'firing', { startsAtMs: 30_000 }),
      alert(0, 'firing'),
      alert(300_000, 'resolved'),
      alert(300_000, 'firing', { labels: { alertname: 'B' } }),
    ]));
    expect(payloads.map((p) => p.offsetMs)).toEqual([0, 60_000, 300_000]);
    const alerts = payloads.map((p) => (p.payload as { alerts: Record<string, unknown>[] }).alerts);
    expect(alerts[0]).toEqual([expect.objectContaining({
      status: 'firing', startsAt: '2026-01-05T09:00:00.000Z', endsAt: '0001-01-01T00:00:00Z',
    })]);
    expect(alerts[1]?.[0]).toMatchObject({ startsAt: '2026-01-05T09:00:30.000Z' });
    // The resolve keeps the start of the latest firing of the same labels, and ends at its `at`.
    expect(alerts[2]?.[0]).toMatchObject({
      status: 'resolved', startsAt: '2026-01-05T09:00:30.000Z', endsAt: '2026-01-05T09:05:00.000Z',
    });
    expect(payloads[2]?.payload).toMatchObject({ version: '4', status: 'firing' });
  });
});
