import { z } from 'zod';
import { parseDuration } from '../domain/duration';

/**
 * The rule file format, versioned by `apiVersion` so that the language can grow: a new
 * version is a new schema in {@link ruleFileSchema}'s union, and old files keep loading.
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
const duration = z.string().refine((s) => parseDuration(s) !== undefined, {
  message: 'expected a duration such as 30s, 5m, 1h30m',
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
  /** ITIL impact of what the rule covers; urgency comes from the alert's severity. @defaultValue medium */
  impact: z.enum(['high', 'medium', 'low']).default('medium'),
  /** A fixed incident title; by default the alert name and group labels. Never a template. */
  title: z.string().max(200).optional(),
});

export const ruleFileV1 = z.strictObject({
  apiVersion: z.literal('quell/v1'),
  kind: z.literal('CorrelationRules'),
  rules: z.array(correlationRuleV1),
});

export const ruleFileSchema = z.discriminatedUnion('apiVersion', [ruleFileV1]);

