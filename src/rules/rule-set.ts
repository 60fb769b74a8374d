import type { Labels } from '../domain/alert';
import type { GroupingPolicy } from '../domain/grouping-policy';
import { groupKey, incidentTitle } from '../domain/group-key';
import { MatcherIndex } from '../domain/matcher-index';
import type { Matcher } from '../domain/matchers';
import { priorityOf, urgencyOf, type Level, type Priority } from '../domain/priority';

/** A rule ready to evaluate: matchers parsed, its grouping fields as a policy. */
export interface CorrelationRule {
  readonly name: string;
  readonly matchers: readonly Matcher[];
  readonly groupBy: readonly string[];
  /** Window, `min_alerts`, reopening and flapping: how its groups become incidents. */
  readonly policy: GroupingPolicy;
  readonly impact: Level;
  readonly title?: string;
  /** `file:line` it was defined at, for messages. */
  readonly origin: string;
}

/** What correlation decided for one alert. */
export interface Correlation {
  readonly rule: string;
  readonly groupKey: string;
  /** The rule's policy (one object per rule, shared by its correlations). */
  readonly policy: GroupingPolicy;
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
  /** Whether any rule detects flapping (else the flapping stage has nothing to track). */
  readonly tracksFlapping: boolean;

  constructor(readonly rules: readonly CorrelationRule[]) {
    this.index = new MatcherIndex(rules);
    this.tracksFlapping = rules.some((r) => r.policy.flapping !== undefined);
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
      policy: rule.policy,
      title: incidentTitle(labels, rule.groupBy, rule.title),
      priority: priorityOf(rule.impact, urgencyOf(labels)),
    };
  }
}
