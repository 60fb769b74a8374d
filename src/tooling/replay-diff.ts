import { itemAt } from '../domain/invariant';
import type { DryRunIncident, DryRunMember } from './dry-run-engine';

/**
 * How the incidents of one rule set became those of another, on the same alerts:
 * - `merged`: several incidents became one; `split`: one became several;
 * - `regrouped`: several became several, their alerts shuffled between them;
 * - `changed`: one stayed one, but its rule, title or priority differ, or alerts joined or left
 *   it (taken by no rule on one side);
 * - `appeared`: alerts that formed no incident now form one; `disappeared`: the reverse.
 */
export type ChangeKind = 'merged' | 'split' | 'regrouped' | 'changed' | 'appeared' | 'disappeared';

export interface IncidentChange {
  readonly kind: ChangeKind;
  readonly before: readonly DryRunIncident[];
  readonly after: readonly DryRunIncident[];
  /** For `changed`: what differs, e.g. `rule default -> node-down`, `+2 alerts`. */
  readonly details: readonly string[];
}

export interface RuleSetDiff {
  readonly changes: readonly IncidentChange[];
  /** Incidents with the same alerts, rule, title and priority on both sides. */
  readonly unchanged: number;
}

/** An alert episode's identity: the fingerprint and its start. */
const episode = (m: DryRunMember): string => `${m.fingerprint}@${m.startsAt}`;

/**
 * Compares the incidents two rule sets formed from the same input, matching incidents by their
 * members (alert episodes), not by id or group key: incidents linked by a shared alert fall in
 * one connected group, whose shape on each side says what changed. Pure.
 */
export function diffRuleSets(before: readonly DryRunIncident[], after: readonly DryRunIncident[]): RuleSetDiff {
  // Union-find over incidents: before i is node i, after j is node before.length + j.
  const parent = Array.from({ length: before.length + after.length }, (_, i) => i);
  const find = (i: number): number => {
    let node = i;
    for (let up = itemAt(parent, node, 'node'); up !== node; up = itemAt(parent, node, 'node')) {
      const grand = itemAt(parent, up, 'node');
      parent[node] = grand; // path halving
      node = grand;
    }
    return node;
  };
  const ownerBefore = new Map<string, number>();
  before.forEach((inc, i) => { for (const m of inc.members) ownerBefore.set(episode(m), i); });
  after.forEach((inc, j) => {
    for (const m of inc.members) {
      const i = ownerBefore.get(episode(m));
      if (i !== undefined) parent[find(i)] = find(before.length + j);
    }
  });
  const groups = new Map<number, { before: DryRunIncident[]; after: DryRunIncident[] }>();
  const groupOf = (node: number) => {
    const root = find(node);
    let g = groups.get(root);
    if (g === undefined) groups.set(root, g = { before: [], after: [] });
    return g;
  };
  before.forEach((inc, i) => groupOf(i).before.push(inc));
  after.forEach((inc, j) => groupOf(before.length + j).after.push(inc));

  const changes: IncidentChange[] = [];
  let unchanged = 0;
  for (const g of groups.values()) {
    const kind = kindOf(g.before.length, g.after.length);
    if (kind !== 'changed') {
      changes.push({ kind, before: g.before, after: g.after, details: [] });
      continue;
    }
    const details = differences(g.before[0] as DryRunIncident, g.after[0] as DryRunIncident);
    if (details.length === 0) unchanged++;
    else changes.push({ kind, before: g.before, after: g.after, details });
  }
  const firstAt = (c: IncidentChange): string => [...c.before, ...c.after].map((i) => i.firstAlertAt).sort()[0] ?? '';
  changes.sort((a, b) => (firstAt(a) < firstAt(b) ? -1 : firstAt(a) > firstAt(b) ? 1 : 0));
  return { changes, unchanged };
}

function kindOf(before: number, after: number): ChangeKind {
  if (before === 0) return 'appeared';
  if (after === 0) return 'disappeared';
  if (before === 1 && after === 1) return 'changed';
  if (before === 1) return 'split';
  if (after === 1) return 'merged';
  return 'regrouped';
}

function differences(a: DryRunIncident, b: DryRunIncident): string[] {
  const out: string[] = [];
  if (a.rule !== b.rule) out.push(`rule ${a.rule} -> ${b.rule}`);
  if (a.title !== b.title) out.push(`title ${JSON.stringify(a.title)} -> ${JSON.stringify(b.title)}`);
  if (a.priority !== b.priority) out.push(`priority P${a.priority} -> P${b.priority}`);
  if (a.status !== b.status) out.push(`status ${a.status} -> ${b.status}`);
  const inA = new Set(a.members.map(episode));
  const inB = new Set(b.members.map(episode));
  const joined = b.members.filter((m) => !inA.has(episode(m))).length;
  const left = a.members.filter((m) => !inB.has(episode(m))).length;
  if (joined > 0) out.push(`+${joined} alert${joined === 1 ? '' : 's'}`);
  if (left > 0) out.push(`-${left} alert${left === 1 ? '' : 's'}`);
  return out;
}
