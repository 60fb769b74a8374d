import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { AlertStatus, Labels } from '../domain/alert';
import { DURATION_PATTERN, parseDuration } from '../domain/duration';
import { INCIDENT_STATUSES, type IncidentStatus } from '../domain/incident-lifecycle';
import { defineRuleKind } from '../rules/rule-kind';
import { formatSeries, parseSeries } from './series-notation';

const offset = z.string()
  .regex(DURATION_PATTERN, 'expected a duration from the test\'s start such as 0s, 90s, 5m, 1h30m');
const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'expected a label name');
const labels = z.record(labelName, z.string());
const series = z.string().refine((s) => parseSeries(s) !== undefined, {
  error: 'expected a label set such as NodeDown{instance="a:9100"}',
});

const inputAlert = z.strictObject({
  at: offset.describe('When the alert reaches Quell, after the test\'s start; one webhook payload per distinct at'),
  labels: labels.refine((l) => Object.keys(l).length > 0, 'an alert needs at least one label')
    .describe('The alert\'s labels'),
  annotations: labels.optional().describe('The alert\'s annotations (default: none)'),
  status: z.enum(['firing', 'resolved']).default('firing').describe('firing (default) or resolved'),
  starts_at: offset.optional().describe('When the alert started, after the test\'s start (default: firing: at; '
    + 'resolved: the starts_at of the same labels\' latest firing input, else at)'),
  ends_at: offset.optional().describe('A resolved alert\'s end, after the test\'s start (default: at)'),
});

const expectedIncident = z.strictObject({
  title: z.string().optional().describe('The incident\'s title, exactly'),
  rule: z.string().optional().describe('The name of the rule that opened it'),
  group_key: z.string().optional().describe('Its group key, e.g. node-down:{cluster="eu1"}'),
  status: z.enum(INCIDENT_STATUSES).optional().describe('Its status once all input is applied'),
  priority: z.union([z.number().int().min(1).max(5), z.enum(['P1', 'P2', 'P3', 'P4', 'P5'])]).optional()
    .describe('Its priority, 1 to 5 or P1 to P5'),
  alerts: z.array(z.union([series, labels])).optional().describe('Every member, each matched by one alert of the '
    + 'incident: labels the alert has (and maybe others), as a map or as NodeDown{instance="a:9100"}'),
  root_cause: z.string().optional().describe('The id of its root-cause CI (topology correlation; needs cmdb)'),
});

const ruleTest = z.strictObject({
  name: z.string().optional().describe('What the test shows (default: test <n>)'),
  cmdb: z.string().optional().describe('The topology for this test, instead of the file\'s cmdb'),
  start: z.iso.datetime({ offset: true }).optional().describe('The time 0s stands for, instead of the file\'s start'),
  input_alerts: z.array(inputAlert).describe('The alerts Quell receives, as Alertmanager would send them'),
  expected_incidents: z.array(expectedIncident)
    .describe('Every incident there is once all the input is applied: a missing or an extra one fails the test'),
});

export const ruleTestsV1 = z.strictObject({
  rule_files: z.array(z.string()).min(1).describe('Rule files, or directories read as QUELL_RULES_DIR is, '
    + 'relative to this file'),
  cmdb: z.string().optional().describe('A CMDB document (JSON or YAML), relative to this file: the topology '
    + 'every test runs with'),
  start: z.iso.datetime({ offset: true }).default('2026-01-05T09:00:00Z')
    .describe('The time at: 0s stands for (default: 2026-01-05T09:00:00Z, a Monday morning)'),
  tests: z.array(ruleTest).min(1),
});

/** One input alert, times in ms from the test's start. */
export interface InputAlert {
  readonly line: number;
  readonly atMs: number;
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly status: AlertStatus;
  readonly startsAtMs?: number;
  readonly endsAtMs?: number;
}

/** An expected member: labels the alert must have; `text` is how the test wrote it. */
export interface ExpectedMember {
  readonly labels: Labels;
  readonly text: string;
}

export interface ExpectedIncident {
  readonly line: number;
  readonly title?: string;
  readonly rule?: string;
  readonly groupKey?: string;
  readonly status?: IncidentStatus;
  readonly priority?: number;
  readonly alerts?: readonly ExpectedMember[];
  readonly rootCause?: string;
}

/** One test, paths resolved against its file's directory. */
export interface RuleTestCase {
  readonly file: string;
  readonly line: number;
  readonly name: string;
  readonly ruleFiles: readonly string[];
  readonly cmdb?: string;
  /** ms since the epoch that `at: 0s` stands for. */
  readonly startMs: number;
  readonly inputs: readonly InputAlert[];
  readonly expected: readonly ExpectedIncident[];
}

/**
 * `kind: RuleTests`: unit tests of rule files, read by `quell rules test` and never by the
 * engine (not in RULE_KINDS, and the rule loader skips `*.test.yaml`). Compiled by the rule
 * loader all the same, so a mistake in a test file is reported at `file:line:column` too.
 *
 * @example
 * apiVersion: quell/v1
 * kind: RuleTests
 * rule_files: [../hosts.yaml]
 * tests:
 *   - name: two hosts of one cluster down are one incident
 *     input_alerts:
 *       - { at: 0s, labels: { alertname: NodeDown, cluster: eu1, instance: "a:9100" } }
 *       - { at: 1m, labels: { alertname: NodeDown, cluster: eu1, instance: "b:9100" } }
 *     expected_incidents:
 *       - rule: node-down
 *         alerts: ['NodeDown{instance="a:9100"}', 'NodeDown{instance="b:9100"}']
 */
export const ruleTestsKind = defineRuleKind({
  kind: 'RuleTests',
  versions: { 'quell/v1': ruleTestsV1 },

  compile(spec, doc) {
    const dir = dirname(doc.file);
    const ms = (d: string): number => parseDuration(d) as number;
    return spec.tests.map((t, i): RuleTestCase => {
      const cmdb = t.cmdb ?? spec.cmdb;
      return {
        file: doc.file,
        line: doc.position(['tests', i]).line,
        name: t.name ?? `test ${i + 1}`,
        ruleFiles: spec.rule_files.map((f) => join(dir, f)),
        ...(cmdb !== undefined ? { cmdb: join(dir, cmdb) } : {}),
        startMs: Date.parse(t.start ?? spec.start),
        inputs: t.input_alerts.map((a, j) => ({
          line: doc.position(['tests', i, 'input_alerts', j]).line,
          atMs: ms(a.at),
          labels: a.labels,
          annotations: a.annotations ?? {},
          status: a.status,
          ...(a.starts_at !== undefined ? { startsAtMs: ms(a.starts_at) } : {}),
          ...(a.ends_at !== undefined ? { endsAtMs: ms(a.ends_at) } : {}),
        })),
        expected: t.expected_incidents.map((e, j) => ({
          line: doc.position(['tests', i, 'expected_incidents', j]).line,
          ...(e.title !== undefined ? { title: e.title } : {}),
          ...(e.rule !== undefined ? { rule: e.rule } : {}),
          ...(e.group_key !== undefined ? { groupKey: e.group_key } : {}),
          ...(e.status !== undefined ? { status: e.status } : {}),
          ...(e.priority !== undefined ? { priority: priorityNumber(e.priority) } : {}),
          ...(e.alerts !== undefined ? { alerts: e.alerts.map(expectedMember) } : {}),
          ...(e.root_cause !== undefined ? { rootCause: e.root_cause } : {}),
        })),
      };
    });
  },

  combine: (items) => items,
  count: (tests) => tests.length,
});

const priorityNumber = (p: number | string): number => (typeof p === 'number' ? p : Number(p.slice(1)));

function expectedMember(given: string | Readonly<Record<string, string>>): ExpectedMember {
  if (typeof given === 'string') return { labels: parseSeries(given) as Labels, text: given };
  return { labels: given, text: formatSeries(given) };
}
