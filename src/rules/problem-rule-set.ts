import type { Labels } from '../domain/alert';
import { matchesAll, type Matcher } from '../domain/matchers';
import type { RecurrencePolicy, SignatureKind } from '../domain/problem-recurrence';

/** A `ProblemRules` rule ready to evaluate. */
export interface ProblemRule extends RecurrencePolicy {
  readonly name: string;
  /** On the incident's alerts' labels: the rule is for an incident when one of its alerts matches all. */
  readonly matchers: readonly Matcher[];
  readonly signature: SignatureKind;
  /** A fixed title for the problems it opens; by default `Recurring: <first incident's title>`. */
  readonly title?: string;
  /** `file:line` it was defined at. */
  readonly origin: string;
}

/**
 * The problem rules in force, in file-name order then file order: the first rule whose matchers
 * hold for an incident, and that gives it a signature, decides its signature and recurrence (an
 * incident without the rule's signature, e.g. no CI for `ci`, falls through to later rules).
 * Empty: problem detection does nothing (and reads nothing).
 */
export class ProblemRuleSet {
  constructor(readonly rules: readonly ProblemRule[]) {}

  /** The rules for an incident whose alerts (in the deciding batch) have these labels, in order. */
  rulesFor(labels: readonly Labels[]): ProblemRule[] {
    return this.rules.filter((r) => r.matchers.length === 0 || labels.some((l) => matchesAll(r.matchers, l)));
  }
}
