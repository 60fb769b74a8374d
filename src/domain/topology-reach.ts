import type { RelationType } from './cmdb';
import { bfs, forEachNeighbour, typeMask, type Graph } from './topology-graph';

/**
 * When two CIs count as related.
 *
 * @example
 * // A service and its database's host, two hosts behind one switch:
 * { maxHops: 2, relationTypes: ['depends_on', 'runs_on', 'connected_to'] }
 */
export interface RelatedOptions {
  /** Most relations between the two CIs; 0 relates a CI only to itself. */
  readonly maxHops: number;
  /** The relation types followed. @defaultValue every type */
  readonly relationTypes?: readonly RelationType[];
  /**
   * `any`: along relations either way, so CIs that share an upstream CI are related (two
   * services on one failing database). `directed`: only when one is upstream of the other
   * (a cascade), so siblings are related only through an upstream CI in the same set.
   * Symmetric relations go both ways in either mode.
   * @defaultValue 'any'
   */
  readonly paths?: 'any' | 'directed';
}

/** The hops between CIs `a` and `b` under `opts`, or undefined when they are not related. */
export function hopsBetween(graph: Graph, a: number, b: number, opts: RelatedOptions): number | undefined {
  const mask = typeMask(opts.relationTypes);
  if (opts.paths === 'directed') {
    const up = bfs(graph, a, 'upstream', mask, opts.maxHops, (n) => n === b).hops.get(b);
    const down = bfs(graph, b, 'upstream', mask, opts.maxHops, (n) => n === a).hops.get(a);
    return up === undefined ? down : down === undefined ? up : Math.min(up, down);
  }
  return bfs(graph, a, 'any', mask, opts.maxHops, (n) => n === b).hops.get(b);
}

/**
 * Partitions `nodes` into groups of related CIs: the connected components of "related within
 * maxHops", so a chain of related alerts is one group even when its ends are further apart.
 * Groups come in the order of their first member in `nodes`, members in input order.
 *
 * Cost: with `any`, one multi-source breadth-first search, O(CIs and relations within
 * maxHops / 2 of the set) however many CIs are in it (a switch with 10,000 hosts is crossed
 * once, not once per host). With `directed`, one search upstream per CI.
 */
export function relatedGroups(graph: Graph, nodes: readonly number[], opts: RelatedOptions): number[][] {
  const distinct = [...new Set(nodes)];
  const uf = new UnionFind(distinct);
  const mask = typeMask(opts.relationTypes);
  if (opts.paths === 'directed') {
    const members = new Set(distinct);
    for (const n of distinct) {
      bfs(graph, n, 'upstream', mask, opts.maxHops, (m) => { if (members.has(m)) uf.union(n, m); return false; });
    }
  } else {
    nearestSourceSearch(graph, distinct, mask, opts.maxHops, uf);
  }
  const groups = new Map<number, number[]>();
  for (const n of distinct) {
    const root = uf.find(n);
    const group = groups.get(root);
    if (group) group.push(n); else groups.set(root, [n]);
  }
  return [...groups.values()];
}

/**
 * Breadth-first from every source at once, each CI labelled with its nearest source. Two
 * sources are within maxHops exactly when some relation joins CIs labelled by sources x and y
 * with hops(x) + 1 + hops(y) <= maxHops, along a chain of such pairs (on the shortest path
 * between them, the label changes only across such relations). So CIs further than
 * maxHops - 1 from every source are never labelled.
 */
function nearestSourceSearch(
  graph: Graph, sources: readonly number[], mask: number, maxHops: number, uf: UnionFind,
): void {
  const owner = new Map<number, number>();
  const hops = new Map<number, number>();
  for (const s of sources) { owner.set(s, s); hops.set(s, 0); }
  let frontier = [...sources];
  while (frontier.length > 0) {
    const next: number[] = [];
    for (const node of frontier) {
      const d = hops.get(node) as number;
      const mine = owner.get(node) as number;
      forEachNeighbour(graph, node, 'any', mask, (n) => {
        const theirs = owner.get(n);
        if (theirs === undefined) {
          if (d + 1 > maxHops - 1) return;
          owner.set(n, mine);
          hops.set(n, d + 1);
          next.push(n);
        } else if (theirs !== mine && d + 1 + (hops.get(n) as number) <= maxHops) {
          uf.union(mine, theirs);
        }
      });
    }
    frontier = next;
  }
}

class UnionFind {
  private readonly parent = new Map<number, number>();

  constructor(nodes: readonly number[]) {
    for (const n of nodes) this.parent.set(n, n);
  }

  find(n: number): number {
    let root = n;
    while (this.parent.get(root) !== root) root = this.parent.get(root) as number;
    let cur = n;
    while (cur !== root) { const next = this.parent.get(cur) as number; this.parent.set(cur, root); cur = next; }
    return root;
  }

  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(rb, ra);
  }
}
