import { priorityMatrixKind } from '../../src/rules/kinds/priority-matrix-kind';
import { correlationRulesKind } from '../../src/rules/kinds/correlation-rules-kind';
import { compileRuleSources, compileRuleText, formatProblem } from '../../src/rules/rule-loader';
import { parseTemplate, renderTemplate } from '../../src/domain/text-template';

const RULES = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: hosts
    matchers: ['alertname="NodeDown"']
    impact: medium
    title_template: '{{ alertname }} on {{instance}} ({{missing}})'
`;

describe('logic-less title templates', () => {
  test('placeholders take label values as data, never as templates or code', () => {
    const t = parseTemplate('{{alertname}}: {{ note }}');
    const hostile = { alertname: '{{note}}', note: "{{constructor.constructor('return process')()}} $(id) `id`" };
    expect(renderTemplate(t, hostile)).toBe("{{note}}: {{constructor.constructor('return process')()}} $(id) `id`");
  });

  test('anything but one label name in braces is a rule-file error at its line', () => {
    for (const bad of ['{{ a.b }}', '{{#each x}}', '{{ a', '{{}}']) {
      const text = RULES.replace("'{{ alertname }} on {{instance}} ({{missing}})'", JSON.stringify(bad));
      const report = compileRuleSources([{ file: 'r.yaml', text }]);
      expect(report.errors.map(formatProblem).join('\n')).toMatch(/^r\.yaml:7:21: .*(placeholder|unclosed)/);
    }
  });

  test('a rule titles its incidents from the template', () => {
    const set = compileRuleText('r.yaml', RULES).get(correlationRulesKind);
    expect(set.correlate({ alertname: 'NodeDown', instance: 'web-1:9100' })?.title).toBe('NodeDown on web-1:9100 ()');
  });
});

describe('PriorityMatrix', () => {
  test('without one, ITIL impact x urgency from severity', () => {
    const set = compileRuleText('r.yaml', RULES).get(correlationRulesKind);
    expect(set.correlate({ alertname: 'NodeDown', severity: 'critical' })?.priority).toBe(2);
    expect(set.correlate({ alertname: 'NodeDown' })?.priority).toBe(4);
  });

  test('a rules file replaces the urgency label and values and the matrix', () => {
    const bundle = compileRuleText('r.yaml', `${RULES}---
apiVersion: quell/v1
kind: PriorityMatrix
urgency: { label: urgency, high: [P0, Now], medium: [soon] }
matrix:
  high: { high: 1, medium: 1, low: 2 }
  medium: { high: 1, medium: 3, low: 5 }
  low: { high: 3, medium: 4, low: 5 }
`);
    const set = bundle.get(correlationRulesKind);
    const policy = bundle.get(priorityMatrixKind);
    expect(set.correlate({ alertname: 'NodeDown', urgency: 'now' }, undefined, policy)?.priority).toBe(1);
    expect(set.correlate({ alertname: 'NodeDown', severity: 'critical' }, undefined, policy)?.priority).toBe(5);
  });

  test('a second matrix, or a value both high and medium, is an error', () => {
    const doc = 'apiVersion: quell/v1\nkind: PriorityMatrix\nurgency: { high: [x], medium: [X] }\n';
    expect(compileRuleSources([{ file: 'p.yaml', text: doc }]).errors.map(formatProblem)[0]).toMatch(/both high and medium/);
    const two = 'apiVersion: quell/v1\nkind: PriorityMatrix\n---\napiVersion: quell/v1\nkind: PriorityMatrix\n';
    expect(compileRuleSources([{ file: 'p.yaml', text: two }]).errors.map(formatProblem)[0]).toMatch(/a second PriorityMatrix/);
  });
});
