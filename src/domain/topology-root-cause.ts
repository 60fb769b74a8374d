import type { RelationType } from './cmdb';
import { expectDefined, itemAt } from './invariant';
import { bfs, degreeOf, forEachNeighbour, typeMask, type Graph, type Search } from './topology-graph';

export interface RootCauseOptions {
  /** Most relations followed from an alert's CI. @defaultValue 6 */
  readonly maxHops?: number;
  /** The relation types followed. @defaultValue every type */
  readonly relationTypes?: readonly RelationType[];
}

/** A way from a member to the root: CI indexes from the member to the root, and the relations between them. */
export interface IndexedPath {
  readonly nodes: readonly number[];
  readonly relations: readonly number[];
}

/** A root cause in CI indexes; `paths` has each member's way to the root, or null. */
export interface IndexedRootCause {
  readonly root: number;
  readonly paths: ReadonlyMap<number, IndexedPath | null>;
}

export const DEFAULT_ROOT_CAUSE_HOPS = 6;

/**
 * The most upstream of `members` (the CIs with an alert), and the path from each member to it.
 *
 * Each member is searched upstream (directed relations towards their upstream end, symmetric
 * ones both ways) for other members. Candidates are the members nothing in the set is
 * strictly upstream of (a cycle of members is one level). Among them the root is the one the
 * most members reach; then the one they reach in the fewest hops in all (a switch, one hop
 * from each of its hosts, rather than one of the hosts); then the one with the most relations;
 * then the smallest id. A member's path goes upstream to the root when it can, else along
 * relations either way (siblings of an upstream CI without an alert); null when the root is
 * not within maxHops of it at all: relate the members first and ask per group.
 */
export function rootCauseOf(
  graph: Graph, members: readonly number[], idOf: (n: number) => string, opts: RootCauseOptions = {},
): IndexedRootCause | undefined {
  const distinct = [...new Set(members)];
  if (distinct.length === 0) return undefined;
  const mask = typeMask(opts.relationTypes);
  const maxHops = opts.maxHops ?? DEFAULT_ROOT_CAUSE_HOPS;
  const isMember = new Set(distinct);
  const upstreamOf = new Map<number, Map<number, number>>();
  const reachedBy = new Map<number, number>();
  const hopsTo = new Map<number, number>();
  // Searches from each member go only where another member can still be within maxHops (a
  // member downstream of the others would otherwise send every search to its full depth),
  // and stop once every other member is found.
  const nearest = distanceToNearest(graph, distinct, mask, maxHops - 1);
  const admit = (n: number, hops: number): boolean => hops + (nearest.get(n) ?? maxHops) <= maxHops;
  for (const x of distinct) {
    const found = new Map<number, number>();
    let left = distinct.length - 1;
    const allFound = (n: number): boolean => isMember.has(n) && --left === 0;
    const hops = left === 0 ? [] : bfs(graph, x, 'upstream', mask, maxHops, allFound, admit).hops;
    for (const [y, h] of hops) {
      if (y === x || !isMember.has(y)) continue;
      found.set(y, h);
      reachedBy.set(y, (reachedBy.get(y) ?? 0) + 1);
      hopsTo.set(y, (hopsTo.get(y) ?? 0) + h);
    }
    upstreamOf.set(x, found);
  }
  const upstreamOfMember = (y: number): Map<number, number> => expectDefined(upstreamOf.get(y), 'upstream of a member');
  const isTop = (y: number): boolean => [...upstreamOfMember(y).keys()].every((z) => upstreamOfMember(z).has(y));
  const score = (n: number) => [-(reachedBy.get(n) ?? 0), hopsTo.get(n) ?? 0, -degreeOf(graph, n, mask)] as const;
  let root: number | undefined;
  let best: readonly number[] = [];
  for (const n of distinct.filter(isTop)) {
    const s = score(n);
    if (root === undefined || better(s, best) || (equal(s, best) && idOf(n) < idOf(root))) { root = n; best = s; }
  }
  const top = root as number;
  const downstream = bfs(graph, top, 'downstream', mask, maxHops);
  let anyway: Search | undefined;
  const paths = new Map<number, IndexedPath | null>();
  for (const m of distinct) {
    if (downstream.hops.has(m)) { paths.set(m, walk(downstream, m, top)); continue; }
    anyway ??= bfs(graph, top, 'any', mask, maxHops);
    paths.set(m, anyway.hops.has(m) ? walk(anyway, m, top) : null);
  }
  return { root: top, paths };
}

/** Hops from each CI within `radius` of a member (either way) to the nearest member. */
function distanceToNearest(
  graph: Graph, members: readonly number[], mask: number, radius: number,
): Map<number, number> {
  const dist = new Map<number, number>(members.map((m) => [m, 0]));
  let frontier = [...members];
  for (let d = 1; d <= radius && frontier.length > 0; d++) {
    const next: number[] = [];
    for (const node of frontier) {
      forEachNeighbour(graph, node, 'any', mask, (n) => {
        if (!dist.has(n)) { dist.set(n, d); next.push(n); }
      });
    }
    frontier = next;
  }
  return dist;
}

/** From `from` back along the search's arrivals to its start. */
function walk(search: Search, from: number, start: number): IndexedPath {
  const nodes = [from];
  const relations: number[] = [];
  let cur = from;
  while (cur !== start) {
    const [prev, rel] = expectDefined(search.via.get(cur), 'arrival of a CI the search reached');
    relations.push(rel);
    nodes.push(prev);
    cur = prev;
  }
  return { nodes, relations };
}

function better(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return itemAt(a, i, 'score') < itemAt(b, i, 'score');
  return false;
}

function equal(a: readonly number[], b: readonly number[]): boolean {
  return a.every((v, i) => v === b[i]);
}
