import { labelValue, type Labels } from './alert';
import { acceptedValues, matchesAll, type Matcher } from './matchers';

/** Anything selected by Alertmanager matchers: a correlation rule, a maintenance window, a silence. */
export interface Matchable {
  readonly matchers: readonly Matcher[];
}

/** The label most rules name by equality, and so the most selective one to index on. */
const PREFERRED_LABEL = 'alertname';

/**
 * Items in a fixed order, indexed so that finding the ones whose matchers hold does not try
 * them all. Each item is filed under one of its matchers that accepts only known values
 * (`alertname="NodeDown"`, `job=~"api|web"`, see {@link acceptedValues}), preferring
 * `alertname`; items with no such matcher are candidates for every alert. For an alert, only
 * the items filed under its own label values, and the unfiled ones, are tried, still in item
 * order, so "the first item that matches" means the same as in a scan of the whole list.
 *
 * Built once per rule load; lookups are pure and allocate little.
 *
 * @example
 * const index = new MatcherIndex(rules);
 * const rule = index.first(alert.labels); // the first rule, in file order, whose matchers hold
 */
export class MatcherIndex<T extends Matchable> {
  /** label name -> label value -> positions of the items filed there, ascending. */
  private readonly filed = new Map<string, Map<string, number[]>>();
  /** Positions of items with no indexable matcher, ascending. */
  private readonly unfiled: number[] = [];

  constructor(readonly items: readonly T[]) {
    items.forEach((item, position) => {
      const key = indexKey(item.matchers);
      if (key === undefined) { this.unfiled.push(position); return; }
      let byValue = this.filed.get(key.name);
      if (byValue === undefined) this.filed.set(key.name, (byValue = new Map<string, number[]>()));
      for (const value of key.values) {
        const positions = byValue.get(value);
        if (positions === undefined) byValue.set(value, [position]);
        else positions.push(position);
      }
    });
  }

  /**
   * The first item, in order, whose matchers all hold for `labels` and that `accept` takes
   * (the items after it are not tried).
   */
  first(labels: Labels, accept?: (item: T) => boolean): T | undefined {
    let found: T | undefined;
    this.visit(labels, (item) => {
      if (accept !== undefined && !accept(item)) return false;
      found = item;
      return true;
    });
    return found;
  }

  /** Every item whose matchers all hold for `labels`, in order. */
  matching(labels: Labels): readonly T[] {
    let out: T[] | undefined;
    this.visit(labels, (item) => { (out ??= []).push(item); return false; });
    return out ?? NONE;
  }

  /**
   * Calls `each` with each item whose matchers hold, in order, until it answers true. Lookups
   * run for every alert in several stages, so this allocates no iterator: the candidates are a
   * merge of ascending lists (the unfiled items and those filed under the alert's values; an
   * item is in at most one), usually one or two.
   */
  private visit(labels: Labels, each: (item: T) => boolean): void {
    let filed: readonly number[] = NONE;
    let more: (readonly number[])[] | undefined;
    for (const [name, byValue] of this.filed) {
      const positions = byValue.get(labelValue(labels, name));
      if (positions === undefined) continue;
      if (filed === NONE) filed = positions;
      else (more ??= []).push(positions);
    }
    const tries = (position: number): boolean => {
      const item = this.items[position] as T;
      return matchesAll(item.matchers, labels) && each(item);
    };
    if (more === undefined) {
      const a = this.unfiled;
      for (let i = 0, j = 0; i < a.length || j < filed.length;) {
        const pa = a[i] ?? Infinity;
        const pb = filed[j] ?? Infinity;
        if (tries(pa < pb ? (a[i++] as number) : (filed[j++] as number))) return;
      }
      return;
    }
    const lists = [this.unfiled, filed, ...more];
    const heads = lists.map(() => 0);
    for (;;) {
      let best = -1;
      let bestPosition = Infinity;
      for (let l = 0; l < lists.length; l++) {
        const position = (lists[l] as readonly number[])[heads[l] as number];
        if (position !== undefined && position < bestPosition) { best = l; bestPosition = position; }
      }
      if (best < 0) return;
      heads[best] = (heads[best] as number) + 1;
      if (tries(bestPosition)) return;
    }
  }
}

const NONE: readonly never[] = [];

function indexKey(matchers: readonly Matcher[]): { name: string; values: readonly string[] } | undefined {
  let chosen: { name: string; values: readonly string[] } | undefined;
  for (const matcher of matchers) {
    const values = acceptedValues(matcher);
    if (values === undefined) continue;
    if (matcher.name === PREFERRED_LABEL) return { name: matcher.name, values };
    chosen ??= { name: matcher.name, values };
  }
  return chosen;
}
