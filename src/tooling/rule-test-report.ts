import type { DryRunIncident } from './dry-run-engine';
import { INCIDENT_FIELDS, type Mismatch } from './rule-test-compare';
import type { ExpectedIncident } from './rule-tests-kind';
import { formatSeries } from './series-notation';

/** `#2 "Nodes down (cluster=eu1)" (rule node-down, P2, open, 3 alerts)` */
export function describeIncident(i: DryRunIncident): string {
  const alerts = `${i.members.length} alert${i.members.length === 1 ? '' : 's'}`;
  return `#${i.id} ${JSON.stringify(i.title)} (rule ${i.rule}, P${i.priority}, ${i.status}, ${alerts})`;
}

const show = (v: string | number | undefined): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));
const showField = (field: string, v: string | number | undefined): string =>
  (field === 'priority' && typeof v === 'number' ? `P${v}` : show(v));

function expectationLines(e: ExpectedIncident): string[] {
  const values: Record<string, string | number | undefined> = {
    title: e.title, rule: e.rule, group_key: e.groupKey, status: e.status, priority: e.priority,
    root_cause: e.rootCause,
  };
  const lines = INCIDENT_FIELDS.filter((f) => values[f] !== undefined)
    .map((f) => `  ${f}: ${showField(f, values[f])}`);
  if (e.alerts !== undefined) lines.push('  alerts:', ...e.alerts.map((a) => `    ${a.text}`));
  return lines;
}

/**
 * A failed test's mismatches as a diff: `-` what the test expected, `+` what the engine gave,
 * each expectation named by `file:line` so an editor jumps to it.
 */
export function formatMismatches(file: string, mismatches: readonly Mismatch[]): string[] {
  const out: string[] = [];
  for (const m of mismatches) {
    if (m.expected !== undefined && m.got !== undefined) {
      out.push(`${file}:${m.expected.line}: expected incident differs from incident ${describeIncident(m.got)}:`);
      for (const d of m.fields) {
        out.push(`  - ${d.field}: ${showField(d.field, d.expected)}`, `  + ${d.field}: ${showField(d.field, d.got)}`);
      }
      if (m.members && (m.members.missing.length > 0 || m.members.unexpected.length > 0)) {
        out.push('    alerts:');
        for (const a of m.members.missing) out.push(`  -   ${a.text}`);
        for (const a of m.members.unexpected) out.push(`  +   ${formatSeries(a.labels)}`);
      }
    } else if (m.expected !== undefined) {
      out.push(`${file}:${m.expected.line}: expected incident did not form:`);
      out.push(...expectationLines(m.expected).map((l) => `  -${l}`));
    } else if (m.got !== undefined) {
      out.push(`unexpected incident ${describeIncident(m.got)}:`);
      out.push(...m.got.members.map((a) => `  +   ${formatSeries(a.labels)}`));
    }
  }
  return out;
}
