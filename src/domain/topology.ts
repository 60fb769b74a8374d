import { labelValue, type Labels } from './alert';
import { DEFAULT_ALIAS_LABELS, DEFAULT_BIND_LABELS, hostOf, type BindingOptions } from './ci-binding';
import type { Ci, CmdbDocument, Relation, RelationType } from './cmdb';
import { expectDefined, itemAt } from './invariant';
import { bfs, buildGraph, forEachNeighbour, typeMask, type Direction, type Graph } from './topology-graph';
import { hopsBetween, relatedGroups, type RelatedOptions } from './topology-reach';
import { rootCauseOf, type RootCauseOptions } from './topology-root-cause';

/** Where a topology came from: the stored version it was built from. */
export interface TopologyInfo {
  /** 0: no topology was ever loaded. */
  readonly version: number;
  /** sha256 of the document. */
  readonly hash: string;
  /** `file:<path>`, `api` or `none`. */
  readonly source: string;
  readonly loadedAt: string | null;
}

/** The CI an alert belongs to, and the label that named it (for "bound via instance=web-1:9100"). */
export interface CiBinding {
  readonly ci: Ci;
  readonly label: string;
  readonly value: string;
}

/** Each alert CI's way to the root: CI ids from it to the root, and the relations between them. */
export interface RootCausePath {
  readonly ci: string;
  /** `[ci, …, root]`; null when the root is not within reach of this CI. */
  readonly path: readonly string[] | null;
  /** The relations along `path`, as the document states them. */
  readonly relations: readonly Relation[];
}

export interface RootCause {
  readonly root: Ci;
  readonly paths: readonly RootCausePath[];
}

/** A traversal from one CI: how far, along which types, which way. */
export interface WithinOptions {
  readonly maxHops: number;
  /** @defaultValue every type */
  readonly relationTypes?: readonly RelationType[];
  /** @defaultValue 'any' */
  readonly direction?: Direction;
}

const EMPTY_INFO: TopologyInfo = { version: 0, hash: '', source: 'none', loadedAt: null };
const AMBIGUOUS = -1;
/** Longer alert label values name no CI (ids are at most 255 bytes, names 1024): not worth parsing. */
const MAX_BIND_VALUE = 4096;

/**
 * An immutable snapshot of the CMDB, built once per stored version and shared by every
 * reader in a process (see TopologyHolder). Pure: no I/O. Queries take CI ids; traversals
 * are breadth-first and bounded by hops, and touch only what they reach.
 *
 * @example
 * const t = Topology.build(doc);
 * const a = t.bind({ instance: 'web-1:9100' })?.ci.id;        // 'web-1'
 * t.related('web-1', 'web-2', { maxHops: 2 });               // 2 (one switch between them)
 * t.rootCause(['web-1', 'web-2', 'sw-1']).root.id;           // 'sw-1'
 */
export class Topology {
  private readonly index = new Map<string, number>();
  private readonly aliases = new Map<string, number>();
  private readonly bindLabels: readonly string[];
  private readonly graph: Graph;

  private constructor(
    private readonly doc: CmdbDocument, readonly info: TopologyInfo, binding: BindingOptions,
  ) {
    doc.cis.forEach((ci, i) => {
      if (this.index.has(ci.id)) throw new Error(`cis[${i}].id: duplicate id ${JSON.stringify(ci.id)}`);
      this.index.set(ci.id, i);
    });
    for (const label of binding.aliasLabels ?? DEFAULT_ALIAS_LABELS) {
      doc.cis.forEach((ci, i) => {
        const name = ci.labels[label];
        if (name === undefined || name === '' || this.index.has(name)) return;
        const other = this.aliases.get(name);
        this.aliases.set(name, other === undefined || other === i ? i : AMBIGUOUS);
      });
    }
    this.bindLabels = binding.bindLabels ?? DEFAULT_BIND_LABELS;
    this.graph = buildGraph(doc.cis.length, doc.relations, (id) => this.index.get(id));
  }

  /** Builds the snapshot of a validated document (see cmdb-schema); throws if it names unknown CIs. */
  static build(doc: CmdbDocument, binding: BindingOptions = {}, info: TopologyInfo = EMPTY_INFO): Topology {
    return new Topology(doc, info, binding);
  }

  /** No CIs: what a process holds before any topology was loaded. */
  static empty(binding: BindingOptions = {}): Topology {
    return new Topology({ cis: [], relations: [] }, EMPTY_INFO, binding);
  }

  get document(): CmdbDocument {
    return this.doc;
  }

  get ciCount(): number {
    return this.doc.cis.length;
  }

  get relationCount(): number {
    return this.doc.relations.length;
  }

  ci(id: string): Ci | undefined {
    const i = this.index.get(id);
    return i === undefined ? undefined : this.doc.cis[i];
  }

  /**
   * The CI `labels` belong to: the first of the bind labels whose value names a CI, by id or
   * by an alias label, as it is or with its port stripped (see BindingOptions).
   */
  bind(labels: Labels): CiBinding | undefined {
    for (const label of this.bindLabels) {
      const value = labelValue(labels, label);
      if (value === '' || value.length > MAX_BIND_VALUE) continue;
      let i = this.lookup(value);
      if (i === undefined) {
        const host = hostOf(value);
        if (host !== value) i = this.lookup(host);
      }
      if (i !== undefined) return { ci: this.ciAt(i), label, value };
    }
    return undefined;
  }

  private lookup(name: string): number | undefined {
    const i = this.index.get(name) ?? this.aliases.get(name);
    return i === AMBIGUOUS ? undefined : i;
  }

  /** The relations of CI `id` going `direction` (upstream: those whose other end is upstream of it). */
  relationsOf(id: string, opts: Omit<WithinOptions, 'maxHops'> = {}): Relation[] {
    const i = this.index.get(id);
    if (i === undefined) return [];
    const seen = new Set<number>();
    forEachNeighbour(this.graph, i, opts.direction ?? 'any', typeMask(opts.relationTypes), (_n, rel) => seen.add(rel));
    return [...seen].sort((a, b) => a - b).map((r) => this.relationAt(r));
  }

  /** Every CI within `maxHops` of `id` (itself at 0), with its hops. Empty for an unknown id. */
  within(id: string, opts: WithinOptions): Map<string, number> {
    const i = this.index.get(id);
    if (i === undefined) return new Map();
    const search = bfs(this.graph, i, opts.direction ?? 'any', typeMask(opts.relationTypes), opts.maxHops);
    return new Map([...search.hops].map(([n, h]) => [this.ciAt(n).id, h]));
  }

  /** The hops between two CIs if they are related under `opts`, else undefined (also for unknown ids). */
  related(a: string, b: string, opts: RelatedOptions): number | undefined {
    const ia = this.index.get(a);
    const ib = this.index.get(b);
    if (ia === undefined || ib === undefined) return undefined;
    return hopsBetween(this.graph, ia, ib, opts);
  }

  /**
   * Splits CI ids into groups of related CIs (connected within `maxHops`, transitively); an id
   * the topology does not know is a group of its own. Groups in order of their first id.
   */
  relatedGroups(ids: readonly string[], opts: RelatedOptions): string[][] {
    const known: number[] = [];
    const unknown: string[] = [];
    for (const id of ids) {
      const i = this.index.get(id);
      if (i === undefined) unknown.push(id); else known.push(i);
    }
    const groups = relatedGroups(this.graph, known, opts).map((g) => g.map((n) => this.ciAt(n).id));
    const firstSeen = new Map(ids.map((id, k) => [id, k]).reverse() as [string, number][]);
    const order = (group: readonly string[]): number =>
      expectDefined(firstSeen.get(itemAt(group, 0, 'group')), 'position of a grouped id');
    return [...groups, ...[...new Set(unknown)].map((id) => [id])].sort((x, y) => order(x) - order(y));
  }

  /**
   * The root-cause candidate among the CIs with an alert: the most upstream of them, and the
   * path from each to it (see rootCauseOf for the order of preference). Unknown ids are
   * ignored; undefined when none is known.
   */
  rootCause(ids: readonly string[], opts: RootCauseOptions = {}): RootCause | undefined {
    const known = ids.map((id) => this.index.get(id)).filter((i): i is number => i !== undefined);
    const found = rootCauseOf(this.graph, known, (n) => this.ciAt(n).id, opts);
    if (found === undefined) return undefined;
    const paths = [...found.paths].map(([n, p]): RootCausePath => ({
      ci: this.ciAt(n).id,
      path: p === null ? null : p.nodes.map((k) => this.ciAt(k).id),
      relations: p === null ? [] : p.relations.map((r) => this.relationAt(r)),
    }));
    return { root: this.ciAt(found.root), paths };
  }

  /** The CI at an index the graph or the id index gave. */
  private ciAt(n: number): Ci {
    return itemAt(this.doc.cis, n, 'CI index');
  }

  private relationAt(r: number): Relation {
    return itemAt(this.doc.relations, r, 'relation index');
  }
}

