import { z } from 'zod';
import { RELATION_TYPE_NAMES, type RelationType } from '../../domain/cmdb';
import { DURATION_PATTERN, parseDuration } from '../../domain/duration';
import { MatcherSyntaxError, parseMatcher, type Matcher } from '../../domain/matchers';
import { parseTemplate, TemplateSyntaxError, type TextTemplate } from '../../domain/text-template';
import { defineRuleKind, type SourcePosition } from '../rule-kind';
import { RuleSet, type CorrelationRule } from '../rule-set';

const duration = z.string().regex(DURATION_PATTERN, 'expected a duration such as 30s, 5m, 1h30m');

const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'expected a label name');

export const correlationRuleV1 = z.strictObject({
  /** Unique across all rule files; part of every group key this rule makes. */
  name: z.string().regex(/^[a-zA-Z0-9_.-]+$/, 'expected letters, digits, _ . or -').max(100),
  /** Alertmanager matchers, all of which must hold. @defaultValue [] (every alert) */
  matchers: z.array(z.string()).default([]),
  /** Labels whose values split alerts into incidents. @defaultValue [] (one incident per rule) */
  group_by: z.array(labelName).default([]),
  /** An alert joins the open incident if it starts within this of the incident's latest alert. @defaultValue 1h */
  group_window: duration.default('1h'),
  /** ITIL impact of what the rule covers; urgency comes from the alert's severity. @defaultValue medium */
  impact: z.enum(['high', 'medium', 'low']).default('medium'),
  /** A fixed incident title; by default the alert name and group labels. Never a template. */
  title: z.string().max(200).optional(),
  /**
   * The title from a logic-less template, `{{ label }}` placeholders filled with the first
   * alert's labels, e.g. `'{{alertname}} on {{instance}}'`. Nothing in it is evaluated.
   */
  title_template: z.string().max(300).optional(),
  /**
   * Topology correlation: the rule takes only alerts bound to a CI of the CMDB, and alerts whose
   * CIs are related (within `max_hops` along `relations`) share an incident. Alerts bound to no
   * CI fall through to later rules.
   */
  topology: z.strictObject({
    /** Most relations between two related CIs. @defaultValue 2 */
    max_hops: z.number().int().min(0).max(6).default(2),
    /** The relation types followed. @defaultValue every type */
    relations: z.array(z.enum(RELATION_TYPE_NAMES as [RelationType, ...RelationType[]])).min(1).optional(),
    /**
     * `directed`: related only when one CI is upstream of the other (a cascade; siblings join
     * through an upstream CI with an alert); `any`: along relations either way. @defaultValue directed
     */
    paths: z.enum(['directed', 'any']).default('directed'),
  }).optional(),
});

/**
 * `kind: CorrelationRules`: the rules that give each firing alert its incident group. Their
 * runtime form is one {@link RuleSet} of every file's rules, in file-name order then file order.
 *
 * @example
 * apiVersion: quell/v1
 * kind: CorrelationRules
 * rules:
 *   - name: node-down
 *     matchers: ['alertname="NodeDown"', 'severity=~"critical|warning"']
 *     group_by: [cluster]
 *     group_window: 30m
 *     impact: high
 */
export const correlationRulesKind = defineRuleKind({
  kind: 'CorrelationRules',
  versions: {
    'quell/v1': z.strictObject({ rules: z.array(correlationRuleV1) }),
  },

  compile(spec, doc) {
    const out: { rule: CorrelationRule; at: SourcePosition }[] = [];
    spec.rules.forEach((r, i) => {
      const matchers: Matcher[] = [];
      r.matchers.forEach((text, j) => {
        try {
          matchers.push(parseMatcher(text));
        } catch (err) {
          if (!(err instanceof MatcherSyntaxError)) throw err;
          doc.error(['rules', i, 'matchers', j], err.message);
        }
      });
      if (matchers.length < r.matchers.length) return;
      let titleTemplate: TextTemplate | undefined;
      if (r.title_template !== undefined) {
        if (r.title !== undefined) { doc.error(['rules', i, 'title_template'], 'give title or title_template, not both'); return; }
        try {
          titleTemplate = parseTemplate(r.title_template);
        } catch (err) {
          if (!(err instanceof TemplateSyntaxError)) throw err;
          doc.error(['rules', i, 'title_template'], err.message);
          return;
        }
      }
      const line = doc.position(['rules', i]).line;
      out.push({
        at: doc.position(['rules', i, 'name']),
        rule: {
          name: r.name,
          matchers,
          groupBy: r.group_by,
          groupWindowMs: parseDuration(r.group_window) as number,
          impact: r.impact,
          ...(r.title !== undefined ? { title: r.title } : {}),
          ...(titleTemplate !== undefined ? { titleTemplate } : {}),
          ...(r.topology !== undefined ? {
            topology: {
              maxHops: r.topology.max_hops, paths: r.topology.paths,
              ...(r.topology.relations !== undefined ? { relationTypes: r.topology.relations } : {}),
            },
          } : {}),
          origin: `${doc.file}:${line}`,
        },
      });
    });
    return out;
  },

  combine(items, ctx) {
    const seen = new Map<string, string>();
    let catchAll: CorrelationRule | undefined;
    for (const { rule, at } of items) {
      const other = seen.get(rule.name);
      if (other !== undefined) ctx.error(at, `rule name ${JSON.stringify(rule.name)} is already used at ${other}`);
      else seen.set(rule.name, rule.origin);
      // The first rule that matches wins: after a rule without matchers, nothing is reached.
      if (catchAll !== undefined) {
        ctx.warn(at, `rule ${JSON.stringify(rule.name)} never takes an alert: rule ${JSON.stringify(catchAll.name)} `
          + `(${catchAll.origin}) has no matchers and takes every alert first`);
      } else if (rule.matchers.length === 0 && rule.topology === undefined) {
        catchAll = rule;
      }
    }
    return new RuleSet(items.map((i) => i.rule));
  },

  count: (set) => set.rules.length,
});
