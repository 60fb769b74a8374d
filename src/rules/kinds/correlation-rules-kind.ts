import { z } from 'zod';
import { RELATION_TYPE_NAMES, type RelationType } from '../../domain/cmdb';
import { DURATION_PATTERN, parseDuration } from '../../domain/duration';
import { MatcherSyntaxError, parseMatcher, type Matcher } from '../../domain/matchers';
import { parseTemplate, TemplateSyntaxError, type TextTemplate } from '../../domain/text-template';
import { MAX_FLAPPING_WINDOW_MS } from '../../domain/flapping';
import type { FlappingPolicy, GroupingPolicy } from '../../domain/grouping-policy';
import { defineRuleKind, type SourcePosition } from '../rule-kind';
import { RuleSet, type CorrelationRule } from '../rule-set';

const duration = z.string().regex(DURATION_PATTERN, 'expected a duration such as 30s, 5m, 1h30m');

/** Flapping detection thresholds; each field has a default, so `flapping: {}` turns it on. */
const flappingV1 = z.strictObject({
  /** State changes (firings and resolves) within `window` that make an alert flapping. @defaultValue 4 */
  changes: z.number().int().min(2).max(1000).default(4),
  /**
   * The window changes are counted in, and how long a flapping alert must stay unchanged to
   * settle. @defaultValue 10m
   */
  window: duration.refine((s) => (parseDuration(s) ?? 0) <= MAX_FLAPPING_WINDOW_MS, {
    error: 'at most 24h (the state history is kept a day)',
  }).default('10m'),
});

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
  /**
   * `sliding`: the window runs from the incident's latest alert (each alert extends it);
   * `fixed`: from its first alert. @defaultValue sliding
   */
  window: z.enum(['sliding', 'fixed']).default('sliding'),
  /** Distinct alerts of one window before the incident opens; until then they wait (pending). @defaultValue 1 */
  min_alerts: z.number().int().min(1).max(10_000).default(1),
  /** A group whose incident Quell resolved less than this ago reopens it when it fires again. @defaultValue none */
  reopen_within: duration.optional(),
  /** Flapping detection for the rule's alerts. @defaultValue off */
  flapping: flappingV1.optional(),
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
 *     window: fixed
 *     min_alerts: 2
 *     reopen_within: 15m
 *     flapping: {changes: 4, window: 10m}
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
        if (r.title !== undefined) {
          doc.error(['rules', i, 'title_template'], 'give title or title_template, not both');
          return;
        }
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
          policy: policyOf(r),
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

function flappingOf(f: z.output<typeof flappingV1>): FlappingPolicy {
  return Object.freeze({ changes: f.changes, windowMs: parseDuration(f.window) as number });
}

/** A rule's grouping fields as the policy the incident stage applies. */
function policyOf(r: z.output<typeof correlationRuleV1>): GroupingPolicy {
  return Object.freeze({
    window: r.window,
    windowMs: parseDuration(r.group_window) as number,
    minAlerts: r.min_alerts,
    ...(r.reopen_within !== undefined ? { reopenWithinMs: parseDuration(r.reopen_within) } : {}),
    ...(r.flapping !== undefined ? { flapping: flappingOf(r.flapping) } : {}),
  });
}
