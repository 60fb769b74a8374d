import { topologyGroupKey } from './group-key';
import type { Topology } from './topology';
import type { RelatedOptions } from './topology-reach';

/** How a topology rule relates alerts' CIs (rule field `topology`). */
export type TopologyScope = Required<Pick<RelatedOptions, 'maxHops' | 'paths'>> & Pick<RelatedOptions, 'relationTypes'>;

/** An incident of a topology rule that is still grouping, and the CIs of its alerts. */
export interface OpenTopologyIncident {
  readonly id: number;
  readonly groupKey: string;
  readonly cis: readonly string[];
  /** Its root-cause candidate: what a new alert's CI must be related to, when known. */
  readonly root?: string;
  /** Until when (ms since the epoch) an alert on one of its CIs may join it: its latest alert plus the window. */
  readonly joinableUntil: number;
  /**
   * Until when an alert on a CI new to it may join: its first alert plus the window. A cascade
   * unfolds from its origin within minutes; a related CI failing later is another fault.
   */
  readonly freshUntil: number;
}

/** A new alert of a topology rule: its CI, and its rule's key before topology (`group_by` values). */
export interface TopologyMember {
  readonly ci: string;
  readonly base: string;
  /** When its episode started (ms since the epoch). */
  readonly at: number;
}

/**
 * The incident key of each new alert of one topology rule (parallel to `members`). Alerts whose
 * CIs are related under `scope`, among themselves or to a CI of an open incident, share a key,
 * transitively within the batch; only alerts of the same `base` (the rule's `group_by` values)
 * ever do. An alert joins an open incident when its CI is one of the incident's (a re-fire,
 * within the window of its latest alert), or when its CI is related to the incident's root
 * cause (the fault's origin: what is downstream of it, or what it is downstream of) and it
 * starts within the window of the incident's first alert. Not related to any CI the incident
 * has gathered: a chain of neighbours would grow without end. A set of
 * related alerts that touches an open incident takes its key (the oldest, should it touch
 * several: incidents are not merged); otherwise a
 * new key, from its smallest CI id, which no open incident can hold (that incident's own CI
 * would have been related to it at 0 hops).
 *
 * Pure: the caller serialises decisions on related CIs (the topology stage's per-rule lock), so
 * that two workers never decide on the same incidents at once. `open` may hold only the incidents
 * that touch {@link nearCis} of the members' CIs: no other can change a key.
 */
export function assignTopologyGroups(
  topology: Topology, scope: TopologyScope, members: readonly TopologyMember[], open: readonly OpenTopologyIncident[],
): string[] {
  const keys: string[] = new Array<string>(members.length);
  const byBase = new Map<string, number[]>();
  members.forEach((m, i) => {
    const list = byBase.get(m.base);
    if (list) list.push(i); else byBase.set(m.base, [i]);
  });
  for (const [base, indexes] of byBase) {
    const prefix = `${base}:ci=`;
    const incidents = open.filter((o) => o.groupKey.startsWith(prefix));
    const cis = [...new Set(indexes.map((i) => (members[i] as TopologyMember).ci))];
    // Union-find over the new CIs (0..n-1) and the open incidents (n..n+k-1).
    const parent = Array.from({ length: cis.length + incidents.length }, (_, i) => i);
    const find = (x: number): number => {
      while (parent[x] !== x) { parent[x] = parent[parent[x] as number] as number; x = parent[x] as number; }
      return x;
    };
    const union = (a: number, b: number): void => { parent[find(a)] = find(b); };
    const ciIndex = new Map(cis.map((ci, i) => [ci, i]));
    const earliest = new Map<string, number>();
    for (const i of indexes) {
      const m = members[i] as TopologyMember;
      earliest.set(m.ci, Math.min(earliest.get(m.ci) ?? Infinity, m.at));
    }

    for (const group of topology.relatedGroups(cis, scope)) {
      for (const ci of group.slice(1)) union(ciIndex.get(ci) as number, ciIndex.get(group[0] as string) as number);
    }
    if (incidents.length > 0) {
      const known = new Map<string, number[]>();
      const anchors = new Map<string, number[]>();
      const file = (map: Map<string, number[]>, ci: string, node: number): void => {
        const list = map.get(ci);
        if (list) list.push(node); else map.set(ci, [node]);
      };
      incidents.forEach((inc, k) => {
        for (const ci of inc.cis) file(known, ci, cis.length + k);
        for (const ci of inc.root !== undefined ? [inc.root] : inc.cis) file(anchors, ci, cis.length + k);
      });
      const incidentAt = (node: number): OpenTopologyIncident => incidents[node - cis.length] as OpenTopologyIncident;
      cis.forEach((ci, i) => {
        const at = earliest.get(ci) as number;
        for (const node of known.get(ci) ?? []) if (at <= incidentAt(node).joinableUntil) union(i, node);
        for (const near of reach(topology, ci, scope)) {
          for (const node of anchors.get(near) ?? []) if (at <= incidentAt(node).freshUntil) union(i, node);
        }
      });
    }

    const chosen = new Map<number, string>();
    incidents.map((inc, k) => ({ inc, node: cis.length + k }))
      .sort((a, b) => b.inc.id - a.inc.id) // the oldest last, so that it wins
      .forEach(({ inc, node }) => chosen.set(find(node), inc.groupKey));
    const smallest = new Map<number, string>();
    cis.forEach((ci, i) => {
      const root = find(i);
      const s = smallest.get(root);
      if (s === undefined || ci < s) smallest.set(root, ci);
    });
    for (const i of indexes) {
      const root = find(ciIndex.get((members[i] as TopologyMember).ci) as number);
      keys[i] = chosen.get(root) ?? topologyGroupKey(base, smallest.get(root) as string);
    }
  }
  return keys;
}

/**
 * The CIs an open incident must hold (among its CIs, or as its root cause) for
 * assignTopologyGroups to join an alert on one of `cis` to it: each CI and what it reaches
 * under `scope`. An incident holding none of them is never unioned with a member.
 */
export function nearCis(topology: Topology, scope: TopologyScope, cis: Iterable<string>): Set<string> {
  const near = new Set<string>();
  for (const ci of new Set(cis)) {
    near.add(ci);
    for (const n of reach(topology, ci, scope)) near.add(n);
  }
  return near;
}

/** The CIs related to `ci` under `scope` (itself included): either way, or up and down a chain. */
function reach(topology: Topology, ci: string, scope: TopologyScope): Iterable<string> {
  const opts = { maxHops: scope.maxHops, ...(scope.relationTypes ? { relationTypes: scope.relationTypes } : {}) };
  if (scope.paths === 'any') return topology.within(ci, { ...opts, direction: 'any' }).keys();
  const up = topology.within(ci, { ...opts, direction: 'upstream' });
  const down = topology.within(ci, { ...opts, direction: 'downstream' });
  return new Set([...up.keys(), ...down.keys()]);
}
