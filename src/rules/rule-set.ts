import type { Labels } from '../domain/alert';
import { groupKey, incidentTitle } from '../domain/group-key';
import { MatcherIndex } from '../domain/matcher-index';
import type { Matcher } from '../domain/matchers';
import { priorityOf, urgencyOf, type Level, type Priority } from '../domain/priority';

/** A rule ready to evaluate: matchers parsed, window in milliseconds. */
export interface CorrelationRule {
  readonly name: string;
  readonly matchers: readonly Matcher[];
  readonly groupBy: readonly string[];
  readonly groupWindowMs: number;
  readonly impact: Level;
  readonly title?: string;
  /** `file:line` it was defined at, for messages. */
  readonly origin: string;
}

/** What correlation decided for one alert. */
export interface Correlation {
  readonly rule: string;
  readonly groupKey: string;
  readonly groupWindowMs: number;
  readonly title: string;
  readonly priority: Priority;
}

/**
 * The correlation rules in force: in file-name order, then file order; the first rule whose
 * matchers hold wins. Compiled once per load, indexed by label equality (see
 * {@link MatcherIndex}), so an alert tries only the rules that can take it.
 */
export class RuleSet {
  private readonly index: MatcherIndex<CorrelationRule>;

  constructor(readonly rules: readonly CorrelationRule[]) {
    this.index = new MatcherIndex(rules);
  }

  /** The rule that takes an alert with these labels, if any. */
  match(labels: Labels): CorrelationRule | undefined {
    return this.index.first(labels);
  }

  correlate(labels: Labels): Correlation | undefined {
    const rule = this.match(labels);
    if (rule === undefined) return undefined;
    return {
      rule: rule.name,
      groupKey: groupKey(rule.name, rule.groupBy, labels),
      groupWindowMs: rule.groupWindowMs,
      title: incidentTitle(labels, rule.groupBy, rule.title),
      priority: priorityOf(rule.impact, urgencyOf(labels)),
    };
  }
}
