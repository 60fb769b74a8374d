import { z } from 'zod';
import { defineRuleKind, type SourcePosition } from '../rule-kind';
import { compileMatchers, labelNameField, ruleNameField } from '../rule-fields';
import { inhibitRuleKey, InhibitRuleSet, type InhibitRule } from '../inhibit-rule-set';

export const inhibitRuleV1 = z.strictObject({
  /** Optional; unique if given. Inhibited alerts name the rule (by default its `file:line`). */
  name: ruleNameField.optional(),
  /** Alertmanager matchers a firing alert must all match to inhibit others. @defaultValue [] (any alert) */
  source_matchers: z.array(z.string()).default([]),
  /** Alertmanager matchers an alert must all match to be inhibited. @defaultValue [] (any alert) */
  target_matchers: z.array(z.string()).default([]),
  /** Labels whose values source and target must share. @defaultValue [] */
  equal: z.array(labelNameField).default([]),
});

/**
 * `kind: InhibitRules`: Alertmanager's `inhibit_rules`, with its field names and semantics. A
 * firing alert matching `source_matchers` inhibits the alerts matching `target_matchers` that
 * have the same values of the `equal` labels: they open no incident, are stored as `inhibited`
 * naming the inhibiting alert, and open their incident if still firing once no source is.
 * Runtime form: one {@link InhibitRuleSet}.
 *
 * @example
 * apiVersion: quell/v1
 * kind: InhibitRules
 * rules:
 *   - name: node-down
 *     source_matchers: ['alertname="NodeDown"']
 *     target_matchers: ['alertname!="NodeDown"']
 *     equal: [cluster, instance]
 */
export const inhibitRulesKind = defineRuleKind({
  kind: 'InhibitRules',
  versions: {
    'quell/v1': z.strictObject({ rules: z.array(inhibitRuleV1) }),
  },

  compile(spec, doc) {
    const out: { rule: InhibitRule; at: SourcePosition; named: boolean }[] = [];
    spec.rules.forEach((r, i) => {
      const source = compileMatchers(r.source_matchers, doc, ['rules', i, 'source_matchers']);
      const target = compileMatchers(r.target_matchers, doc, ['rules', i, 'target_matchers']);
      if (source === undefined || target === undefined) return;
      const origin = `${doc.file}:${doc.position(['rules', i]).line}`;
      if (source.length === 0 && target.length === 0 && r.equal.length === 0) {
        doc.warn(['rules', i], 'a rule with no matchers and no equal lets any firing alert inhibit every other');
      }
      const equal = [...new Set(r.equal)].sort();
      out.push({
        at: doc.position(['rules', i, ...(r.name !== undefined ? ['name'] : [])]),
        named: r.name !== undefined,
        rule: {
          name: r.name ?? origin, sourceMatchers: source, targetMatchers: target, equal,
          key: inhibitRuleKey(source, target, equal), origin,
        },
      });
    });
    return out;
  },

  combine(items, ctx) {
    const seen = new Map<string, string>();
    for (const { rule, at, named } of items) {
      if (!named) continue;
      const other = seen.get(rule.name);
      if (other !== undefined) {
        ctx.error(at, `inhibit rule name ${JSON.stringify(rule.name)} is already used at ${other}`);
      } else {
        seen.set(rule.name, rule.origin);
      }
    }
    return new InhibitRuleSet(items.map((i) => i.rule));
  },

  count: (set) => set.rules.length,
});
