import { z } from 'zod';
import { parseDuration } from '../../domain/duration';
import type { EscalationPolicy } from '../../domain/escalation';
import { defineRuleKind, type SourcePosition } from '../rule-kind';
import { compileMatchers, durationField, ruleNameField } from '../rule-fields';

const positiveDuration = durationField
  .refine((s) => (parseDuration(s) ?? 0) > 0, { error: 'expected a duration above 0' });

const priorityField = z.union([
  z.enum(['P1', 'P2', 'P3', 'P4', 'P5']).transform((p) => Number(p.slice(1))),
  z.number().int().min(1).max(5),
], { error: () => 'expected P1 to P5 (or 1 to 5)' });

const policyV1 = z.strictObject({
  /** Unique across all rule files; the timeline's `escalated` entries name it. */
  name: ruleNameField,
  /**
   * Alertmanager matchers: the policy covers an incident one of whose alerts matches them all.
   * @defaultValue [] (any)
   */
  matchers: z.array(z.string()).default([]),
  /** The priorities it covers. @defaultValue [] (all) */
  priorities: z.array(priorityField).default([]),
  /** In order: each `after` that long unacknowledged (pauses left out), notify its targets. */
  levels: z.array(z.strictObject({
    after: positiveDuration,
    /** Notification target names (kind NotificationTargets). */
    notify: z.array(ruleNameField).min(1),
  })).min(1).max(10),
  /** Runs the whole ladder again `times` more times, each round `interval` after the previous one began. */
  repeat: z.strictObject({ times: z.number().int().min(1).max(20), interval: positiveDuration }).optional(),
});

/**
 * `kind: EscalationPolicies`: whom to tell, and when, about an incident nobody acknowledges.
 * The first policy (in load order) that covers an incident applies; acknowledging or resolving
 * it stops the escalation. Runtime form: the policies, in load order.
 *
 * @example
 * apiVersion: quell/v1
 * kind: EscalationPolicies
 * policies:
 *   - name: database
 *     matchers: ['service="db"']
 *     priorities: [P1, P2]
 *     levels:
 *       - { after: 5m, notify: [db-oncall] }
 *       - { after: 20m, notify: [db-lead, it-manager] }
 *     repeat: { times: 2, interval: 1h }
 */
export const escalationPoliciesKind = defineRuleKind({
  kind: 'EscalationPolicies',
  versions: {
    'quell/v1': z.strictObject({ policies: z.array(policyV1) }),
  },

  compile(spec, doc) {
    const out: { policy: EscalationPolicy; at: SourcePosition }[] = [];
    spec.policies.forEach((p, i) => {
      const matchers = compileMatchers(p.matchers, doc, ['policies', i, 'matchers']);
      const levels = p.levels.map((l) => ({ afterMs: parseDuration(l.after) as number, notify: l.notify }));
      levels.forEach((l, j) => {
        const previous = levels[j - 1];
        if (previous !== undefined && l.afterMs <= previous.afterMs) {
          doc.error(
            ['policies', i, 'levels', j, 'after'], 'each level comes after the one before it (a longer `after`)',
          );
        }
      });
      const repeat = p.repeat !== undefined
        ? { times: p.repeat.times, intervalMs: parseDuration(p.repeat.interval) as number } : undefined;
      const longest = Math.max(...levels.map((l) => l.afterMs));
      if (repeat !== undefined && repeat.intervalMs <= longest) {
        doc.error(
          ['policies', i, 'repeat', 'interval'],
          'expected an interval longer than the last level\'s `after` (a round ends before the next begins)',
        );
      }
      if (matchers === undefined) return;
      out.push({
        at: doc.position(['policies', i, 'name']),
        policy: {
          name: p.name, matchers, priorities: p.priorities, levels, ...(repeat !== undefined ? { repeat } : {}),
        },
      });
    });
    return out;
  },

  combine(items, ctx) {
    const seen = new Map<string, SourcePosition>();
    for (const { policy, at } of items) {
      const other = seen.get(policy.name);
      if (other !== undefined) {
        ctx.error(at, `policy name ${JSON.stringify(policy.name)} is already used at ${other.file}:${other.line}`);
      } else seen.set(policy.name, at);
    }
    return items.map((i) => i.policy);
  },

  count: (policies) => policies.length,
});
