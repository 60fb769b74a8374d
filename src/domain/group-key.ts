import { createHash } from 'node:crypto';
import { labelValue, type Labels } from './alert';
import { renderTemplate, type TextTemplate } from './text-template';

/**
 * Longest readable group key, in UTF-8 bytes: PostgreSQL's btree index takes entries up to
 * about 2.7 kB, counted in bytes (320 CJK characters are 960 bytes), so characters will not do.
 */
export const MAX_GROUP_KEY_BYTES = 1024;

/**
 * The key under which alerts join one incident: the rule's name and the values of its
 * `group_by` labels, e.g. `node-down:{cluster="eu1",service="api"}`. Values are JSON-quoted,
 * so a hostile label value cannot forge another group's key. A key over
 * {@link MAX_GROUP_KEY_BYTES} becomes `rule:{sha256="…"}` of the same text, still unique.
 */
export function groupKey(ruleName: string, groupBy: readonly string[], labels: Labels): string {
  // Rules list their group_by in any order; most already sort, and are not copied to sort again.
  const names = isSorted(groupBy) ? groupBy : [...groupBy].sort();
  const parts = names.map((name) => `${name}=${JSON.stringify(labelValue(labels, name))}`);
  const key = `${ruleName}:{${parts.join(',')}}`;
  if (Buffer.byteLength(key, 'utf8') <= MAX_GROUP_KEY_BYTES) return key;
  return `${ruleName}:{sha256="${createHash('sha256').update(key).digest('hex')}"}`;
}

/** In the order `sort()` gives (UTF-16 code units). */
function isSorted(names: readonly string[]): boolean {
  for (let i = 1; i < names.length; i++) if ((names[i - 1] as string) > (names[i] as string)) return false;
  return true;
}

/**
 * A plain-text title: the rule's logic-less `title_template` filled with the alert's labels, or
 * the alert name (or the rule's fixed `title`) and group labels. Nothing is evaluated.
 */
export function incidentTitle(
  labels: Labels, groupBy: readonly string[], fixed?: string, template?: TextTemplate,
): string {
  if (template !== undefined) return bounded(renderTemplate(template, labels));
  const base = fixed ?? (labelValue(labels, 'alertname') || 'alert');
  const scope = groupBy.filter((n) => n !== 'alertname' && labelValue(labels, n))
    .map((n) => `${n}=${labelValue(labels, n)}`);
  return bounded(scope.length > 0 ? `${base} (${scope.join(', ')})` : base);
}

const bounded = (title: string): string => (title.length > 300 ? `${title.slice(0, 299)}…` : title);

/**
 * The key of a topology incident: its rule's key (`base`, with any `group_by` values) and the
 * CI it opened on, e.g. `topology:{}:ci="sw-1"`. A long CI id is hashed, keeping the `base`
 * prefix (at most {@link MAX_GROUP_KEY_BYTES} itself), so the key stays within the index.
 */
export function topologyGroupKey(base: string, ci: string): string {
  const key = `${base}:ci=${JSON.stringify(ci)}`;
  if (Buffer.byteLength(key) <= MAX_GROUP_KEY_BYTES) return key;
  return `${base}:ci=sha256:${createHash('sha256').update(ci).digest('hex')}`;
}
