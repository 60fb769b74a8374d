import type { z } from 'zod';

/** A path into a YAML document, as zod reports it: `['rules', 0, 'matchers', 1]`. */
export type DocumentPath = readonly (string | number)[];

/** Where something is written: a file and a 1-based line and column. */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** What the loader offers a kind while it compiles one document. */
export interface DocumentContext {
  readonly file: string;
  /** Where the node at `path` starts (or its nearest parent that exists). */
  position(path: DocumentPath): SourcePosition;
  /** A problem at `path`: the load fails. Compiling goes on, so that one pass reports every problem. */
  error(path: DocumentPath, reason: string): void;
  /** Something suspect at `path` that does not fail the load; `quell rules lint` and reloads show it. */
  warn(path: DocumentPath, reason: string): void;
}

/** What the loader offers a kind while it combines the items of every document. */
export interface CombineContext {
  error(at: SourcePosition, reason: string): void;
  warn(at: SourcePosition, reason: string): void;
}

/**
 * One kind of rule document, selected by the document's `kind:` and `apiVersion:`, e.g.
 *
 * ```yaml
 * apiVersion: quell/v1
 * kind: CorrelationRules
 * rules: [...]
 * ```
 *
 * A kind turns documents into the runtime form its consumer evaluates, in two steps: `compile`
 * each document (after its schema accepted it) to items, then `combine` the items of every
 * document, in load order, into one value (an indexed rule set, a schedule, ...). Adding a kind
 * is one file in `src/rules/kinds/` and one line in `RULE_KINDS`; its consumer reads it from the
 * bundle in force with `bundle.get(theKind)`.
 *
 * @typeParam Spec - a document's body as its schema gives it
 * @typeParam Item - what one document compiles to (e.g. one rule with its position)
 * @typeParam Compiled - the runtime form of all the kind's documents together
 */
export interface RuleKind<Spec, Item, Compiled> {
  /** The `kind:` of its documents, e.g. `CorrelationRules`. */
  readonly kind: string;
  /**
   * The schema of a document's body (every field but `apiVersion` and `kind`), for each
   * `apiVersion` the kind reads. Every version gives the same `Spec`: a new version may add
   * to the language (transforming to `Spec`), and files of the old one keep loading.
   */
  readonly versions: Readonly<Record<string, z.ZodType<Spec>>>;
  /** One document's items. Reports problems through `doc` and returns the items that are sound. */
  compile(spec: Spec, doc: DocumentContext): readonly Item[];
  /**
   * The items of every document of this kind, in load order (file name, then position in the
   * file), to the runtime form; checks that span files (unique names) belong here. Called with
   * no items when no file holds this kind, so every registered kind is in every bundle.
   */
  combine(items: readonly Item[], ctx: CombineContext): Compiled;
  /** How many rules the runtime form holds (`quell_rules_loaded{kind}`, summaries). */
  count(compiled: Compiled): number;
}

/** A kind of any types, as the registry and the loader hold them. */
export type AnyRuleKind = RuleKind<unknown, unknown, unknown>;

/** Declares a kind with its types inferred from the definition. */
export function defineRuleKind<Spec, Item, Compiled>(
  kind: RuleKind<Spec, Item, Compiled>,
): RuleKind<Spec, Item, Compiled> {
  return Object.freeze(kind);
}
