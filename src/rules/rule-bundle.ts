import type { AnyRuleKind, RuleKind } from './rule-kind';

/**
 * Everything loaded from one read of the rules directory, compiled: each kind's runtime form,
 * and the version (a hash of the files' names and contents). Immutable: a reload builds a new
 * bundle and swaps it in whole, so a job sees one version from start to end.
 */
export class RuleBundle {
  /** Rules per kind, e.g. `{ CorrelationRules: 12 }`. */
  readonly counts: Readonly<Record<string, number>>;

  constructor(
    /** A hash of the files (names and contents): the same files give the same version anywhere. */
    readonly version: string,
    /** The files read, in load order. */
    readonly files: readonly string[],
    private readonly compiled: ReadonlyMap<AnyRuleKind, unknown>,
  ) {
    const counts = [...compiled].map(([kind, value]) => [kind.kind, kind.count(value)] as const);
    this.counts = Object.freeze(Object.fromEntries(counts));
    Object.freeze(this.files);
    Object.freeze(this);
  }

  /**
   * The runtime form of one kind, e.g. `bundle.get(correlationRulesKind)` is the RuleSet.
   * Every registered kind is present (empty when no file has it).
   */
  get<Compiled>(kind: RuleKind<unknown, unknown, Compiled>): Compiled {
    if (!this.compiled.has(kind)) throw new Error(`rule kind ${kind.kind} is not registered in RULE_KINDS`);
    return this.compiled.get(kind) as Compiled;
  }
}
