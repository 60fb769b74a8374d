import { itemAt } from '../domain/invariant';
import type { DryRunCounts, DryRunIncident } from './dry-run-engine';
import type { ChangeKind, RuleSetDiff } from './replay-diff';
import { describeIncident } from './rule-test-report';

/** The incidents as a table, oldest first. Pure. */
export function incidentTable(incidents: readonly DryRunIncident[]): string[] {
  const header = ['#', 'first alert', 'P', 'status', 'alerts', 'rule', 'title'];
  const rows = [header];
  for (const i of incidents) {
    rows.push([String(i.id), i.firstAlertAt, `P${i.priority}`, i.status, String(i.members.length), i.rule, i.title]);
  }
  const widths = header.map((_, c) => Math.max(...rows.map((r) => itemAt(r, c, 'cell').length)));
  const numeric = new Set([0, 4]);
  return rows.map((r) => r.map((cell, c) => {
    if (c === r.length - 1) return cell;
    const width = itemAt(widths, c, 'column');
    return numeric.has(c) ? cell.padStart(width) : cell.padEnd(width);
  }).join('  ').trimEnd());
}

/** `17 incidents (12 open, 5 resolved); 300 alerts taken by no rule, 50 re-sends, 2 stale, 4 suppressed`. Pure. */
export function incidentSummary(incidents: readonly DryRunIncident[], counts: DryRunCounts): string {
  const by = new Map<string, number>();
  for (const i of incidents) by.set(i.status, (by.get(i.status) ?? 0) + 1);
  const states = [...by].map(([s, n]) => `${n} ${s}`).join(', ');
  return `${incidents.length} incident${incidents.length === 1 ? '' : 's'}${states ? ` (${states})` : ''}; `
    + `${counts.uncorrelated} alerts taken by no rule, ${counts.deduplicated} re-sends, ${counts.stale} stale, `
    + `${counts.suppressed} suppressed`;
}

const ORDER: readonly ChangeKind[] = ['merged', 'split', 'regrouped', 'changed', 'appeared', 'disappeared'];

/**
 * What changes between two rule sets, change by change (each side's incidents listed up to
 * `listed`, then counted), then a count of each kind. Pure.
 */
export function diffReport(diff: RuleSetDiff, listed = 10): string[] {
  const out: string[] = [];
  const list = (sign: string, incidents: readonly DryRunIncident[]): void => {
    for (const i of incidents.slice(0, listed)) out.push(`  ${sign} ${describeIncident(i)}`);
    if (incidents.length > listed) out.push(`  ${sign} … ${incidents.length - listed} more`);
  };
  for (const c of diff.changes) {
    const counts = `${c.before.length} -> ${c.after.length}`;
    out.push(c.kind === 'changed' ? `changed: ${c.details.join(', ')}` : `${c.kind}: ${counts}`);
    list('-', c.before);
    list('+', c.after);
  }
  const tally = ORDER.map((k) => `${diff.changes.filter((c) => c.kind === k).length} ${k}`);
  out.push(`changes: ${tally.join(', ')}; ${diff.unchanged} unchanged`);
  return out;
}

/** An incident as JSON, in the API's words (`GET /api/v1/incidents/{id}`): snake_case, its alerts. Pure. */
export function incidentJson(i: DryRunIncident): Record<string, unknown> {
  return {
    id: i.id, title: i.title, rule: i.rule, group_key: i.groupKey, status: i.status, priority: i.priority,
    first_alert_at: i.firstAlertAt, alert_count: i.members.length,
    ...(i.rootCause !== undefined ? { root_cause: i.rootCause } : {}),
    alerts: i.members.map((m) => ({
      fingerprint: m.fingerprint, labels: m.labels, status: m.status, starts_at: m.startsAt,
    })),
  };
}

/** A rule-set diff as JSON: each change with the ids of its incidents on each side. Pure. */
export function diffJson(diff: RuleSetDiff): Record<string, unknown> {
  return {
    changes: diff.changes.map((c) => ({
      kind: c.kind, before: c.before.map((i) => i.id), after: c.after.map((i) => i.id), details: c.details,
    })),
    unchanged: diff.unchanged,
  };
}
