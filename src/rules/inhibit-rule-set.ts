import { createHash } from 'node:crypto';
import { labelValue, type Labels } from '../domain/alert';
import { MatcherIndex } from '../domain/matcher-index';
import { matchesAll, matcherText, type Matcher } from '../domain/matchers';

/** An inhibit rule ready to evaluate, in Alertmanager's words. */
export interface InhibitRule {
  /** As written, or `file:line` when the rule has no name. */
  readonly name: string;
  readonly sourceMatchers: readonly Matcher[];
  readonly targetMatchers: readonly Matcher[];
  /** Label names, sorted: a source inhibits a target only if both have the same value for each. */
  readonly equal: readonly string[];
  /**
   * The rule's identity in the index of source alerts (a hash of its matchers and `equal`): the
   * same rule in another file, or under another name, shares its index entries.
   */
  readonly key: string;
  readonly origin: string;
}

interface Side {
  readonly matchers: readonly Matcher[];
  readonly rule: InhibitRule;
}

const hash = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 32);

/** The identity of an inhibit rule's definition (see {@link InhibitRule.key}). */
export function inhibitRuleKey(
  source: readonly Matcher[], target: readonly Matcher[], equal: readonly string[],
): string {
  const texts = (ms: readonly Matcher[]) => ms.map(matcherText).sort();
  return hash(JSON.stringify({ source: texts(source), target: texts(target), equal: [...equal].sort() }));
}

/**
 * The inhibit rules in force, indexed by label equality on both sides. As in Alertmanager, a
 * firing alert matching a rule's `source_matchers` inhibits the alerts matching its
 * `target_matchers` that have the same values of the `equal` labels (a missing label is `""`);
 * an alert matching both sides is not inhibited by an alert that also matches both (so never by
 * itself). Which alerts are firing sources is the database's part (the suppress stage).
 */
export class InhibitRuleSet {
  private readonly sources: MatcherIndex<Side>;
  private readonly targets: MatcherIndex<Side>;

  constructor(readonly rules: readonly InhibitRule[]) {
    this.sources = new MatcherIndex(rules.map((rule) => ({ matchers: rule.sourceMatchers, rule })));
    this.targets = new MatcherIndex(rules.map((rule) => ({ matchers: rule.targetMatchers, rule })));
  }

  /** The rules an alert with these labels is a source of, in order. */
  sourceOf(labels: Labels): InhibitRule[] {
    return this.sources.matching(labels).map((s) => s.rule);
  }

  /** The rules an alert with these labels is a target of, in order. */
  targetOf(labels: Labels): InhibitRule[] {
    return this.targets.matching(labels).map((s) => s.rule);
  }

  /** The values of the rule's `equal` labels, as one key: sources and targets meet on it. */
  static equalKey(rule: InhibitRule, labels: Labels): string {
    return hash(JSON.stringify(rule.equal.map((name) => labelValue(labels, name))));
  }

  static isSource(rule: InhibitRule, labels: Labels): boolean {
    return matchesAll(rule.sourceMatchers, labels);
  }

  static isTarget(rule: InhibitRule, labels: Labels): boolean {
    return matchesAll(rule.targetMatchers, labels);
  }
}
