import type { Labels } from './alert';

/**
 * The relation types of the CMDB and which way each one points. "Upstream" is what the
 * other end needs: when an upstream CI fails, what is downstream of it fails too, so root
 * cause looks for the most upstream CI with an alert.
 *
 * - `A depends_on B`: A needs B to work (a service and its database). B is upstream of A.
 * - `A runs_on B`: A is hosted on B (a process on a host, a VM on a hypervisor, a pod on a
 *   node). B is upstream of A.
 * - `A part_of B`: A is inside B and goes down with it (a host in a rack, a node in a
 *   cluster). B is upstream of A.
 * - `A connected_to B`: a link (a host and its switch, two switches). Symmetric: the same
 *   as `B connected_to A`, and neither end is upstream of the other by this relation alone.
 *
 * The set is closed so that a typo (`depend_on`) is an error, not a relation nothing follows;
 * a new type is one line here, with its direction.
 */
export const RELATION_TYPES = {
  depends_on: 'directed',
  runs_on: 'directed',
  part_of: 'directed',
  connected_to: 'symmetric',
} as const satisfies Readonly<Record<string, 'directed' | 'symmetric'>>;

export type RelationType = keyof typeof RELATION_TYPES;

export const RELATION_TYPE_NAMES = Object.keys(RELATION_TYPES) as readonly RelationType[];

/** A configuration item: a host, a switch, a database, a service… */
export interface Ci {
  /** Unique in the document; what alerts bind to (see {@link Topology.bind}). */
  readonly id: string;
  /** Free-form kind, e.g. `host`, `switch`, `service`. */
  readonly type: string;
  /** Attributes: owner, environment, assignment group, hostname… Enrich the incidents of the CI. */
  readonly labels: Labels;
}

/** `from` `type` `to`, read as a sentence: `checkout depends_on orders-db`. */
export interface Relation {
  readonly from: string;
  readonly type: RelationType;
  readonly to: string;
}

/** The whole topology, as `PUT /api/v1/cmdb` and `QUELL_CMDB_FILE` take it (JSON or YAML). */
export interface CmdbDocument {
  readonly cis: readonly Ci[];
  readonly relations: readonly Relation[];
}
