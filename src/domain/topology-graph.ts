import { RELATION_TYPES, RELATION_TYPE_NAMES, type Relation, type RelationType } from './cmdb';
import { itemAt } from './invariant';

/** Which way a traversal goes along relations. */
export type Direction = 'upstream' | 'downstream' | 'any';

/**
 * The relations as compressed adjacency lists (CSR) over CI indexes, built once per topology:
 * `up` lists for each CI what is upstream of it, `down` what is downstream. A symmetric
 * relation is in both lists of both ends. Typed arrays keep 100,000 CIs cheap to build and
 * to hold.
 */
export interface Graph {
  readonly size: number;
  readonly up: Adjacency;
  readonly down: Adjacency;
  /** The relation type of each relation, as an index into RELATION_TYPE_NAMES. */
  readonly relationType: Uint8Array;
}

interface Adjacency {
  /** Edges of CI i are at start[i] … start[i + 1] - 1. */
  readonly start: Int32Array;
  readonly target: Int32Array;
  /** The relation (index in the document) each edge comes from. */
  readonly relation: Int32Array;
}

const TYPE_INDEX = new Map<string, number>(RELATION_TYPE_NAMES.map((t, i) => [t, i]));

/** A bit mask of relation types, for filtering edges in the hot loop. */
export function typeMask(types?: readonly RelationType[]): number {
  if (types === undefined) return (1 << RELATION_TYPE_NAMES.length) - 1;
  let mask = 0;
  for (const t of types) mask |= 1 << (TYPE_INDEX.get(t) as number);
  return mask;
}

/** `indexOf` resolves CI ids; every relation end must resolve (the document was validated). */
export function buildGraph(
  size: number, relations: readonly Relation[], indexOf: (id: string) => number | undefined,
): Graph {
  const from = new Int32Array(relations.length);
  const to = new Int32Array(relations.length);
  const relationType = new Uint8Array(relations.length);
  const symmetric = new Uint8Array(relations.length);
  const upDegree = new Int32Array(size + 1);
  const downDegree = new Int32Array(size + 1);
  relations.forEach((r, i) => {
    const f = indexOf(r.from);
    const t = indexOf(r.to);
    const type = TYPE_INDEX.get(r.type);
    if (f === undefined || t === undefined || type === undefined) {
      throw new Error(`relations[${i}]: ${JSON.stringify(r)} names no CI or no relation type (validate first)`);
    }
    from[i] = f; to[i] = t; relationType[i] = type;
    bump(upDegree, f); bump(downDegree, t);
    if (RELATION_TYPES[r.type] === 'symmetric') { symmetric[i] = 1; bump(upDegree, t); bump(downDegree, f); }
  });
  const up = allocate(upDegree, size);
  const down = allocate(downDegree, size);
  const upFill = up.start.slice(0, size);
  const downFill = down.start.slice(0, size);
  const put = (adj: Adjacency, fill: Int32Array, node: number, target: number, rel: number): void => {
    const at = bump(fill, node);
    adj.target[at] = target;
    adj.relation[at] = rel;
  };
  for (let i = 0; i < relations.length; i++) {
    const f = itemAt(from, i, 'relation start');
    const t = itemAt(to, i, 'relation end');
    put(up, upFill, f, t, i);
    put(down, downFill, t, f, i);
    if (symmetric[i]) { put(up, upFill, t, f, i); put(down, downFill, f, t, i); }
  }
  return { size, up, down, relationType };
}

/** counts[i]++ (the value before), for an index within the array. */
function bump(counts: Int32Array, i: number): number {
  const n = itemAt(counts, i, 'CI count');
  counts[i] = n + 1;
  return n;
}

function allocate(degree: Int32Array, size: number): Adjacency {
  const start = new Int32Array(size + 1);
  for (let i = 0; i < size; i++) start[i + 1] = itemAt(start, i, 'edge start') + itemAt(degree, i, 'CI degree');
  const edges = itemAt(start, size, 'edge start');
  return { start, target: new Int32Array(edges), relation: new Int32Array(edges) };
}

/**
 * Calls `visit(neighbour, relation)` for each relation of `node` going `direction` whose type
 * is in `mask`. `any` visits a symmetric relation twice (it is in both lists): callers keep a
 * visited set.
 */
export function forEachNeighbour(
  graph: Graph, node: number, direction: Direction, mask: number, visit: (neighbour: number, relation: number) => void,
): void {
  if (direction !== 'downstream') scan(graph.up, graph.relationType, node, mask, visit);
  if (direction !== 'upstream') scan(graph.down, graph.relationType, node, mask, visit);
}

function scan(
  adj: Adjacency, types: Uint8Array, node: number, mask: number, visit: (n: number, r: number) => void,
): void {
  const end = itemAt(adj.start, node + 1, 'CI edges');
  for (let e = itemAt(adj.start, node, 'CI edges'); e < end; e++) {
    const rel = itemAt(adj.relation, e, 'edge relation');
    if (mask & (1 << itemAt(types, rel, 'relation type'))) visit(itemAt(adj.target, e, 'edge target'), rel);
  }
}

/** The number of relations of `node` of the types in `mask`, either way (a symmetric one counts once). */
export function degreeOf(graph: Graph, node: number, mask: number): number {
  const seen = new Set<number>();
  forEachNeighbour(graph, node, 'any', mask, (_n, rel) => seen.add(rel));
  return seen.size;
}

/** The result of a bounded breadth-first search: hops and the edge it arrived by, per CI reached. */
export interface Search {
  readonly hops: Map<number, number>;
  /** For each CI reached but the start: [previous CI, relation index]. */
  readonly via: Map<number, readonly [number, number]>;
}

/**
 * Breadth-first from `start` up to `maxHops` relations, going `direction`. Stops early once
 * `stopAt` returns true for a CI reached; skips (neither records nor crosses) a CI for which
 * `admit(node, hops)` is false. Touches only what it reaches: no per-call arrays of the
 * topology's size.
 */
export function bfs(
  graph: Graph, start: number, direction: Direction, mask: number, maxHops: number,
  stopAt?: (node: number) => boolean, admit?: (node: number, hops: number) => boolean,
): Search {
  const hops = new Map<number, number>([[start, 0]]);
  const via = new Map<number, readonly [number, number]>();
  let frontier = [start];
  for (let depth = 1; depth <= maxHops && frontier.length > 0; depth++) {
    const next: number[] = [];
    let stopped = false as boolean; // set in the callback, which narrowing does not see
    for (const node of frontier) {
      forEachNeighbour(graph, node, direction, mask, (n, rel) => {
        if (stopped || hops.has(n) || (admit !== undefined && !admit(n, depth))) return;
        hops.set(n, depth);
        via.set(n, [node, rel]);
        next.push(n);
        if (stopAt?.(n)) stopped = true;
      });
      if (stopped) return { hops, via };
    }
    frontier = next;
  }
  return { hops, via };
}
