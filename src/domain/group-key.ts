import type { Labels } from './alert';

/**
 * The key under which alerts join one incident: the rule's name and the values of its
 * `group_by` labels, e.g. `node-down:{cluster="eu1",service="api"}`. Values are JSON-quoted,
 * so a hostile label value cannot forge another group's key.
 */
export function groupKey(ruleName: string, groupBy: readonly string[], labels: Labels): string {
  const parts = [...groupBy].sort().map((name) => `${name}=${JSON.stringify(labels[name] ?? '')}`);
  return `${ruleName}:{${parts.join(',')}}`;
}

/** A plain-text title from the alert name and group labels. Nothing is evaluated as a template. */
export function incidentTitle(labels: Labels, groupBy: readonly string[], fixed?: string): string {
  const base = fixed ?? labels['alertname'] ?? 'alert';
  const scope = groupBy.filter((n) => n !== 'alertname' && labels[n]).map((n) => `${n}=${labels[n]}`);
  const title = scope.length > 0 ? `${base} (${scope.join(', ')})` : base;
  return title.length > 300 ? `${title.slice(0, 299)}…` : title;
}
