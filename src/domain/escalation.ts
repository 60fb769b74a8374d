import { matchesAll, type Matcher } from './matchers';
import type { Labels } from './alert';

/**
 * Escalation policies, pure: which steps are due for an incident not acknowledged for
 * `elapsedMs` (its time since opening, pauses left out, as the service-level clocks count it).
 *
 * A policy's levels are due in order, each `after` its duration; with `repeat`, the whole
 * ladder runs again `times` times, each round `interval` after the previous one's start (as
 * PagerDuty loops a policy nobody acknowledges). Acknowledging or resolving the incident stops
 * it: the sweep asks only about incidents never acknowledged and not resolved.
 */

export interface EscalationLevel {
  readonly afterMs: number;
  /** Notification target names. */
  readonly notify: readonly string[];
}

export interface EscalationPolicy {
  readonly name: string;
  /** Alertmanager matchers: one of the incident's alerts matches them all. Empty: any. */
  readonly matchers: readonly Matcher[];
  /** The priorities it covers; empty: all. */
  readonly priorities: readonly number[];
  readonly levels: readonly EscalationLevel[];
  readonly repeat?: { readonly times: number; readonly intervalMs: number };
}

/** One notification of a policy: level (1-based) of round (0: the first run of the ladder). */
export interface EscalationStep {
  readonly policy: string;
  readonly level: number;
  readonly round: number;
  /** When it is due, in unacknowledged time. */
  readonly dueMs: number;
  readonly notify: readonly string[];
}

/** The step's key in `sla_flags` (level column): once per incident. */
export const stepKey = (s: Pick<EscalationStep, 'level' | 'round'>): string => `L${s.level}R${s.round}`;

/** Every step of `policy` due at `elapsedMs`, in order. */
export function dueSteps(policy: EscalationPolicy, elapsedMs: number): EscalationStep[] {
  const rounds = 1 + (policy.repeat?.times ?? 0);
  const out: EscalationStep[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = round * (policy.repeat?.intervalMs ?? 0);
    policy.levels.forEach((l, i) => {
      const dueMs = start + l.afterMs;
      if (dueMs <= elapsedMs) out.push({ policy: policy.name, level: i + 1, round, dueMs, notify: l.notify });
    });
  }
  return out;
}

/** The first policy (in load order) covering an incident of `priority` with these alert labels. */
export function policyFor(
  policies: readonly EscalationPolicy[], priority: number, alertLabels: readonly Labels[],
): EscalationPolicy | undefined {
  return policies.find((p) => (p.priorities.length === 0 || p.priorities.includes(priority))
    && (p.matchers.length === 0 || alertLabels.some((l) => matchesAll(p.matchers, l))));
}
