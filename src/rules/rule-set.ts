import type { Labels } from '../domain/alert';
import type { GroupingPolicy } from '../domain/grouping-policy';
import { groupKey, incidentTitle } from '../domain/group-key';
import { MatcherIndex } from '../domain/matcher-index';
import type { Matcher } from '../domain/matchers';
import {
  DEFAULT_PRIORITY_POLICY, priorityOf, urgencyOf, type Level, type Priority, type PriorityPolicy,
} from '../domain/priority';
import type { TextTemplate } from '../domain/text-template';
import type { Topology } from '../domain/topology';
import type { TopologyScope } from '../domain/topology-grouping';

/** A rule ready to evaluate: matchers parsed, its grouping fields as a policy. */
export interface CorrelationRule {
  readonly name: string;
  readonly matchers: readonly Matcher[];
  readonly groupBy: readonly string[];
  /** Window, `min_alerts`, reopening and flapping: how its groups become incidents. */
  readonly policy: GroupingPolicy;
  readonly impact: Level;
  readonly title?: string;
  /** A logic-less template (`{{ label }}`) the title is made from; see text-template.ts. */
  readonly titleTemplate?: TextTemplate;
  /**
   * Set on a topology rule: it takes only alerts bound to a CI, and alerts whose CIs are related
   * within this scope share an incident (see assignTopologyGroups).
   */
  readonly topology?: TopologyScope;
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
  /** The CI the alert is bound to in the topology in force, if any. */
  readonly ci?: string;
  /**
   * A topology rule's scope: `groupKey` is then only the rule's key before topology, which the
   * topology stage replaces with the key of the incident of related CIs.
   */
  readonly topology?: TopologyScope;
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

  /** Whether any rule is a topology rule (then correlation binds alerts to CIs). */
  get usesTopology(): boolean {
    return this.rules.some((r) => r.topology !== undefined);
  }

  /**
   * The first rule that takes an alert with these labels: its matchers hold and, for a topology
   * rule, `topology` binds the alert to a CI (an alert bound to none falls through to later
   * rules: label grouping). The alert's CI is named in the answer whatever the rule. Priority
   * follows `priority` (the rules' PriorityMatrix, or ITIL's default).
   */
  correlate(
    labels: Labels, topology?: Topology, priority: PriorityPolicy = DEFAULT_PRIORITY_POLICY,
  ): Correlation | undefined {
    const ci = topology !== undefined && topology.ciCount > 0 ? topology.bind(labels)?.ci.id : undefined;
    const rule = this.index.first(labels, (r) => r.topology === undefined || ci !== undefined);
    if (rule === undefined) return undefined;
    return {
      rule: rule.name,
      groupKey: groupKey(rule.name, rule.groupBy, labels),
      policy: rule.policy,
      title: incidentTitle(labels, rule.groupBy, rule.title, rule.titleTemplate),
      priority: priorityOf(rule.impact, urgencyOf(labels, priority), priority),
      ...(ci !== undefined ? { ci } : {}),
      ...(rule.topology !== undefined ? { topology: rule.topology } : {}),
    };
  }
}
