import { z } from 'zod';
import { parseDuration } from '../../domain/duration';
import { MAX_PROBLEM_WINDOW_MS, SIGNATURE_KINDS } from '../../domain/problem-recurrence';
import { defineRuleKind, type SourcePosition } from '../rule-kind';
import { compileMatchers, durationField, ruleNameField } from '../rule-fields';
import { ProblemRuleSet, type ProblemRule } from '../problem-rule-set';

export const problemRuleV1 = z.strictObject({
  /** Unique across all rule files; the problems it opens name it. */
  name: ruleNameField,
  /** Alertmanager matchers one of the incident's alerts must all match. @defaultValue [] (every incident) */
  matchers: z.array(z.string()).default([]),
  /**
   * What makes incidents the same problem: `group_key` (the same correlation group), `ci` (the
   * incident's root-cause CI, else its first alert's CI), `alertname_service` (the first alert's
   * `alertname` and `service` labels). Incidents without one (no CI, no `service`) count for none.
   */
  signature: z.enum(SIGNATURE_KINDS),
  /** Incidents of one signature within `window` that open a problem. @defaultValue 3 */
  min_incidents: z.number().int().min(1).max(10_000).default(3),
  /** How far back incidents of the signature count. @defaultValue 24h */
  window: durationField.refine((s) => (parseDuration(s) ?? 0) <= MAX_PROBLEM_WINDOW_MS, { error: 'at most 90d' })
    .default('24h'),
  /** A fixed title for its problems; by default `Recurring: <the incident's title>`. Never a template. */
  title: z.string().min(1).max(200).optional(),
});

/**
 * `kind: ProblemRules`: recurrence that opens ITIL problems. When an incident opens or reopens,
 * the first rule whose matchers hold gives its signature; at least `min_incidents` incidents of
 * that signature within `window` open a problem linking them, and while the problem is open (or
 * a known error) every new incident of the signature joins it. Runtime form: one {@link ProblemRuleSet}.
 *
 * @example
 * apiVersion: quell/v1
 * kind: ProblemRules
 * rules:
 *   - name: recurring-service-errors
 *     matchers: ['severity=~"critical|warning"']
 *     signature: alertname_service
 *     min_incidents: 3
 *     window: 24h
 */
export const problemRulesKind = defineRuleKind({
  kind: 'ProblemRules',
  versions: {
    'quell/v1': z.strictObject({ rules: z.array(problemRuleV1) }),
  },

  compile(spec, doc) {
    const out: { rule: ProblemRule; at: SourcePosition }[] = [];
    spec.rules.forEach((r, i) => {
      const matchers = compileMatchers(r.matchers, doc, ['rules', i, 'matchers']);
      if (matchers === undefined) return;
      if (r.min_incidents === 1) {
        doc.warn(['rules', i, 'min_incidents'], 'min_incidents 1 opens a problem for every incident');
      }
      out.push({
        at: doc.position(['rules', i, 'name']),
        rule: {
          name: r.name, matchers, signature: r.signature, minIncidents: r.min_incidents,
          windowMs: parseDuration(r.window) as number,
          ...(r.title !== undefined ? { title: r.title } : {}),
          origin: `${doc.file}:${doc.position(['rules', i]).line}`,
        },
      });
    });
    return out;
  },

  combine(items, ctx) {
    const seen = new Map<string, string>();
    for (const { rule, at } of items) {
      const other = seen.get(rule.name);
      if (other !== undefined) {
        ctx.error(at, `problem rule name ${JSON.stringify(rule.name)} is already used at ${other}`);
      } else seen.set(rule.name, rule.origin);
    }
    return new ProblemRuleSet(items.map((i) => i.rule));
  },

  count: (set) => set.rules.length,
});
