import { createRunbookSet } from './runbook-set';
import type { Labels } from '../domain/alert';
import type { IncidentEvent } from '../domain/incident-event';
import { itemAt } from '../domain/invariant';
import { matchesAll } from '../domain/matchers';
import type { Runbook, RunbookSet, RunbookTrigger, TriggerEvent } from './runbook';

/**
 * Which runbooks an incident event starts, and under which key: pure (no I/O), so that the
 * record stage, the API's acknowledge/resolve and the still-firing check decide the same way.
 *
 * The trigger key makes a run once: it is unique in `runbook_runs`, so evaluating the same
 * cause again (a second worker's still-firing check, the same opening applied twice) adds no
 * run. Causes that happen once per incident (opened, reaching a priority, still firing after T,
 * a known error's runbook) are keyed by the incident; causes that may repeat (reopened, alerts
 * linked, acknowledged, resolved) by the event's timeline row id as well.
 */

/** What the evaluation needs to know of an incident (read in the deciding transaction). */
export interface IncidentFacts {
  readonly id: number;
  readonly priority: number;
  readonly groupKey: string;
  /** Its bound CIs, and its root-cause candidate among them. */
  readonly cis: readonly string[];
  readonly rootCauseCi?: string;
  /** The labels of its alerts (every episode linked to it); read only when a candidate runbook has matchers. */
  readonly alertLabels: readonly Labels[];
  /** The labels of its bound CIs; read only when a candidate runbook has CI matchers. */
  readonly ciLabels: readonly Labels[];
}

/** A run to create. */
export interface TriggeredRun {
  readonly runbook: Runbook;
  readonly incidentId: number;
  /** The trigger as written (`opened`, `priority<=P2`, `still_firing:600000`). */
  readonly trigger: string;
  readonly triggerKey: string;
  /** What its rate limit counts it against (see {@link targetOf}). */
  readonly target: string;
}

/** The trigger events an incident event may fire (before each runbook's own conditions). */
export function triggerEventsOf(event: IncidentEvent): readonly TriggerEvent[] {
  switch (event.kind) {
    case 'opened': return ['opened', 'priority'];
    case 'priority_changed': return ['priority'];
    case 'reopened':
    case 'alerts_linked':
    case 'acknowledged':
    case 'resolved':
      return [event.kind];
    default: return [];
  }
}

/** The runbooks with a trigger an event of this kind may fire: what the caller reads facts for. */
export function candidatesOf(event: IncidentEvent, runbooks: RunbookSet): readonly Runbook[] {
  if (event.kind === 'known_error') {
    // A known error names its runbook: that one runs, whatever its own triggers (its matchers still scope it).
    const named = event.runbook !== undefined ? runbooks.byName(event.runbook) : undefined;
    return named !== undefined ? [named] : [];
  }
  const kinds = triggerEventsOf(event);
  if (kinds.length === 1) return runbooks.triggeredBy(itemAt(kinds, 0, 'trigger kinds'));
  return [...new Set(kinds.flatMap((k) => runbooks.triggeredBy(k)))];
}

/**
 * The first trigger of `runbook` the event fires, with its key; undefined when none does.
 * One run per runbook per event, even when two of its triggers fire (opened and priority).
 * `eventSeq`: the event's timeline row id (keys repeatable causes).
 */
export function firedTrigger(
  event: IncidentEvent, eventSeq: string, runbook: Runbook,
): { readonly trigger: string; readonly triggerKey: string } | undefined {
  if (event.kind === 'known_error') {
    // Once per incident, however often it is linked to the problem again.
    return event.runbook === runbook.name
      ? { trigger: 'known_error', triggerKey: `${runbook.name}|known_error|${event.incidentId}` } : undefined;
  }
  const kinds = triggerEventsOf(event);
  for (const t of runbook.triggers) {
    if (!kinds.includes(t.event)) continue;
    const inc = event.incidentId;
    if (t.event === 'priority') {
      const priority = event.kind === 'opened' || event.kind === 'priority_changed' ? event.priority : undefined;
      if (priority === undefined || t.atOrAbove === undefined || priority > t.atOrAbove) continue;
      const trigger = triggerText(t);
      return { trigger, triggerKey: `${runbook.name}|${trigger}|${inc}` };
    }
    if (t.event === 'opened') return { trigger: 'opened', triggerKey: `${runbook.name}|opened|${inc}` };
    return { trigger: t.event, triggerKey: `${runbook.name}|${t.event}|${inc}|${eventSeq}` };
  }
  return undefined;
}

/** The key of a still-firing trigger (once per incident); also what the check looks for. */
export function stillFiringKey(runbook: Runbook, afterMs: number, incidentId: number): string {
  return `${runbook.name}|${triggerText({ event: 'still_firing', afterMs })}|${incidentId}`;
}

export function triggerText(t: RunbookTrigger): string {
  if (t.event === 'priority') return `priority<=P${t.atOrAbove ?? '?'}`;
  if (t.event === 'still_firing') return `still_firing:${t.afterMs ?? 0}`;
  return t.event;
}

/**
 * Whether the runbook is for this incident: one of its alerts matches all matchers, and (when set) one of its CIs all
 * CI matchers.
 */
export function inScope(runbook: Runbook, facts: IncidentFacts): boolean {
  if (runbook.matchers.length > 0 && !facts.alertLabels.some((l) => matchesAll(runbook.matchers, l))) return false;
  if (runbook.ciMatchers.length > 0 && !facts.ciLabels.some((l) => matchesAll(runbook.ciMatchers, l))) return false;
  return true;
}

/**
 * What a run counts against for its runbook's rate limit (`by`): `ci:<id>` (the root-cause CI,
 * else the first bound CI; an incident with none counts as `incident:<id>`), `group:<key>`,
 * `runbook:<name>`, or `incident:<id>` (also when the runbook has no rate limit).
 */
export function targetOf(runbook: Runbook, facts: IncidentFacts): string {
  switch (runbook.rateLimit?.by) {
    case 'ci': {
      const ci = facts.rootCauseCi ?? facts.cis[0];
      return ci !== undefined ? `ci:${ci}` : `incident:${facts.id}`;
    }
    case 'group': return `group:${facts.groupKey}`;
    case 'runbook': return `runbook:${runbook.name}`;
    default: return `incident:${facts.id}`;
  }
}

/** The runs an event starts, given its incident's facts. */
export function runsFor(
  event: IncidentEvent, eventSeq: string, runbooks: readonly Runbook[], facts: IncidentFacts,
): TriggeredRun[] {
  const runs: TriggeredRun[] = [];
  for (const runbook of runbooks) {
    const fired = firedTrigger(event, eventSeq, runbook);
    if (fired === undefined || !inScope(runbook, facts)) continue;
    runs.push({ runbook, incidentId: facts.id, ...fired, target: targetOf(runbook, facts) });
  }
  return runs;
}

/** Whether any runbook needs the incident's alert labels, or its CIs' labels. */
export function needsLabels(runbooks: readonly Runbook[]): { readonly alerts: boolean; readonly cis: boolean } {
  return { alerts: runbooks.some((r) => r.matchers.length > 0), cis: runbooks.some((r) => r.ciMatchers.length > 0) };
}

/** No runbooks: the default until the rules hold some. */
export const NO_RUNBOOKS: RunbookSet = createRunbookSet([]);
