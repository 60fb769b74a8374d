import type { Labels } from '../domain/alert';
import { groupKey, incidentTitle } from '../domain/group-key';
import { matchesAll, type Matcher } from '../domain/matchers';
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

/** Rules in file-name order, then file order; the first rule whose matchers hold wins. */
export class RuleSet {
  constructor(readonly rules: readonly CorrelationRule[]) {}

  correlate(labels: Labels): Correlation | undefined {
    const rule = this.rules.find((r) => matchesAll(r.matchers, labels));
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
