import type { Kysely } from 'kysely';
import type { IncidentEvent } from '../domain/incident-event';
import { isActive } from '../domain/incident-lifecycle';
import { levelNumber, levelOfNumber, priorityOf, type Level, type PriorityPolicy } from '../domain/priority';
import type { Database } from './database';
import { TIMELINE_ONLY, workIncident, type IncidentEventsDeps, type WorkOutcome } from './incident-events-commit';

/** Who works an incident: a field left out stays, null clears it. */
export interface Assignment {
  readonly assignee?: string | null;
  readonly assignmentGroup?: string | null;
}

/** Assigns an open (not resolved) incident; an assignment that changes nothing writes nothing. */
export function assignIncident(
  db: Kysely<Database>, id: number, assignment: Assignment, actor: string, deps: IncidentEventsDeps = TIMELINE_ONLY,
): Promise<WorkOutcome> {
  return workIncident(db, id, (current) => {
    if (!isActive(current.status)) return { conflict: true };
    const changed: { assignee?: string | null; assignmentGroup?: string | null } = {};
    if (assignment.assignee !== undefined && assignment.assignee !== current.assignee) {
      changed.assignee = assignment.assignee;
    }
    if (assignment.assignmentGroup !== undefined && assignment.assignmentGroup !== current.assignment_group) {
      changed.assignmentGroup = assignment.assignmentGroup;
    }
    if (Object.keys(changed).length === 0) return { events: [] };
    return {
      set: {
        ...(changed.assignee !== undefined ? { assignee: changed.assignee } : {}),
        ...(changed.assignmentGroup !== undefined ? { assignment_group: changed.assignmentGroup } : {}),
      },
      events: [{ kind: 'assigned', incidentId: id, by: actor, ...changed }],
    };
  }, deps);
}

/** A comment on the timeline, whatever the status (a note after resolving is worth keeping). */
export function commentIncident(
  db: Kysely<Database>, id: number, comment: string, actor: string, deps: IncidentEventsDeps = TIMELINE_ONLY,
): Promise<WorkOutcome> {
  return workIncident(db, id, () => ({ events: [{ kind: 'commented', incidentId: id, by: actor, comment }] }), deps);
}

/** Impact and/or urgency as a person sets them; the one left out is the incident's own. */
export interface ImpactUrgency {
  readonly impact?: Level;
  readonly urgency?: Level;
}

export type ImpactUrgencyOutcome =
  | WorkOutcome | { readonly ok: false; readonly reason: 'missing'; readonly field: 'impact' | 'urgency' };

/**
 * Sets an open incident's impact and urgency and recomputes its priority through `policy`'s
 * matrix (the rules' PriorityMatrix): `impact_urgency_changed`, then `priority_changed` if the
 * priority moved (which may trigger runbooks). From then on its alerts no longer raise its
 * priority (group-store keeps a person's decision). The first time, both are needed: Quell
 * keeps no impact or urgency of its own.
 */
export async function setImpactUrgency(
  db: Kysely<Database>, id: number, given: ImpactUrgency, policy: PriorityPolicy, actor: string,
  deps: IncidentEventsDeps = TIMELINE_ONLY,
): Promise<ImpactUrgencyOutcome> {
  let missing: 'impact' | 'urgency' | undefined;
  const outcome = await workIncident(db, id, (current) => {
    if (!isActive(current.status)) return { conflict: true };
    const impact = given.impact ?? levelOfNumber(current.impact ?? 0);
    const urgency = given.urgency ?? levelOfNumber(current.urgency ?? 0);
    if (impact === undefined || urgency === undefined) {
      missing = impact === undefined ? 'impact' : 'urgency';
      return { events: [] };
    }
    const next = { impact: levelNumber(impact), urgency: levelNumber(urgency) };
    const priority = priorityOf(impact, urgency, policy);
    if (next.impact === current.impact && next.urgency === current.urgency && priority === current.priority) {
      return { events: [] };
    }
    const events: IncidentEvent[] = [{
      kind: 'impact_urgency_changed', incidentId: id, by: actor, ...next,
      previous: { impact: current.impact, urgency: current.urgency },
    }];
    if (priority !== current.priority) {
      events.push({ kind: 'priority_changed', incidentId: id, by: actor, priority, previous: current.priority });
    }
    return { set: { ...next, priority }, events };
  }, deps);
  return missing !== undefined ? { ok: false, reason: 'missing', field: missing } : outcome;
}
