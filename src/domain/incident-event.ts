import type { HoldState, IncidentStatus } from './incident-lifecycle';

/**
 * What happened to an incident, as a typed value: written once (by the stage or API call that
 * made it happen, inside that transaction), then read by every consumer: the timeline writer,
 * and the stages that follow (problem detection, runbook triggers). The timeline's `kind` and
 * `detail` are derived from it by {@link timelineEntryOf}; that JSON is the API's contract.
 */
export type IncidentEvent =
  | {
    readonly kind: 'opened'; readonly incidentId: number; readonly rule: string; readonly groupKey: string;
    readonly title: string; readonly priority: number; readonly fingerprints: readonly string[];
  }
  | { readonly kind: 'alerts_linked'; readonly incidentId: number; readonly fingerprints: readonly string[] }
  | { readonly kind: 'alerts_resolved'; readonly incidentId: number; readonly fingerprints: readonly string[] }
  /**
   * Quell resolved these alerts of it on its own side, no resolve having come: its source no
   * longer fires them (`reconciliation`) or stopped re-sending them (`expiry`). The usual
   * `alerts_resolved` (and `resolved`, if none fires any more) follow.
   */
  | {
    readonly kind: 'alerts_lapsed'; readonly incidentId: number; readonly fingerprints: readonly string[];
    readonly by: 'reconciliation' | 'expiry'; readonly reason: string;
  }
  | { readonly kind: 'grouping_closed'; readonly incidentId: number; readonly reason: string }
  | {
    /** The root-cause candidate was found, or moved (an alert further upstream joined). */
    readonly kind: 'root_cause'; readonly incidentId: number; readonly ci: string; readonly type: string;
    readonly previous: string | null;
    /** Some alerts' CIs and their way to the root (the incident's `root_cause` has them all). */
    readonly paths: readonly { readonly ci: string; readonly path: readonly string[] | null }[];
  }
  | { readonly kind: 'acknowledged'; readonly incidentId: number; readonly by: string; readonly comment?: string }
  | {
    readonly kind: 'resolved'; readonly incidentId: number; readonly by: string;
    readonly reason?: string; readonly comment?: string;
  }
  /** Quell resolved it, and its group fired again within `reopen_within` (or a flapping alert came back). */
  | {
    readonly kind: 'reopened'; readonly incidentId: number; readonly reason: string;
    readonly fingerprints: readonly string[];
  }
  /** One of its alerts is flapping: its resolves no longer resolve the incident, its re-fires join it. */
  | {
    readonly kind: 'flapping'; readonly incidentId: number; readonly fingerprint: string;
    readonly changes: number; readonly windowMs: number;
  }
  /** A flapping alert of it has not changed for a whole window. */
  | { readonly kind: 'settled'; readonly incidentId: number; readonly fingerprint: string }
  | {
    readonly kind: 'priority_changed'; readonly incidentId: number; readonly by: string;
    readonly priority: number; readonly previous: number;
  }
  | { readonly kind: 'commented'; readonly incidentId: number; readonly by: string; readonly comment: string }
  /** Who works it changed: a field left out was not changed, null cleared it. */
  | {
    readonly kind: 'assigned'; readonly incidentId: number; readonly by: string;
    readonly assignee?: string | null; readonly assignmentGroup?: string | null;
  }
  /** Put on hold (or what it waits for changed): its service-level clocks stand still. */
  | {
    readonly kind: 'held'; readonly incidentId: number; readonly by: string;
    readonly state: HoldState; readonly reason?: string; readonly comment?: string;
  }
  /** Taken off hold, back to `status` (acknowledged if it had been, else open). */
  | {
    readonly kind: 'resumed'; readonly incidentId: number; readonly by: string;
    readonly status: IncidentStatus; readonly heldMs: number; readonly comment?: string;
  }
  /**
   * A person set impact and/or urgency (1 high, 2 medium, 3 low); a priority_changed follows if the matrix moved it.
   */
  | {
    readonly kind: 'impact_urgency_changed'; readonly incidentId: number; readonly by: string;
    readonly impact: number | null; readonly urgency: number | null;
    readonly previous: { readonly impact: number | null; readonly urgency: number | null };
  }
  /**
   * Someone (a runbook that did not fix it, an escalation policy) asked for the next level; an
   * escalation policy's step names itself (policy, level from 1, round from 0) and whom it notified (none for a step
   * passed over because a later one was due at the same sweep).
   */
  | {
    readonly kind: 'escalated'; readonly incidentId: number; readonly by: string; readonly reason: string;
    readonly step?: {
      readonly policy: string; readonly level: number; readonly round: number; readonly notify: readonly string[];
    };
  }
  /** A service-level clock passed its `warn_at` (`sla_warning`) or its target (`sla_breached`). */
  | {
    readonly kind: 'sla_warning' | 'sla_breached'; readonly incidentId: number; readonly clock: 'tta' | 'ttr';
    readonly priority: number; readonly targetMs: number; readonly elapsedMs: number;
  }
  /** A notification (service level, escalation) was delivered to its target, or failed after its retries. */
  | {
    readonly kind: 'notified'; readonly incidentId: number; readonly target: string; readonly about: string;
    readonly status: 'delivered' | 'failed'; readonly attempts: number; readonly error?: string;
  }
  /**
   * It matches a problem marked a known error: it got the problem's workaround (on its record
   * too), and the named runbook, if any, is triggered for it (once per incident).
   */
  | {
    readonly kind: 'known_error'; readonly incidentId: number; readonly problemId: number;
    readonly workaround: string; readonly runbook?: string;
  }
  /** Someone (a runbook that did not fix it, an escalation policy) asked for the next level. */
  /** A runbook run of the incident changed status (triggered, awaiting approval, running, finished...). */
  | {
    readonly kind: 'runbook'; readonly incidentId: number; readonly by: string; readonly runId: number;
    readonly runbook: string; readonly status: string; readonly reason?: string;
  }
  /** A step of a run started or ended (its output truncated, secrets masked). */
  | {
    readonly kind: 'runbook_step'; readonly incidentId: number; readonly runId: number; readonly runbook: string;
    readonly step: string; readonly action: string; readonly status: string;
    readonly durationMs?: number; readonly output?: Readonly<Record<string, unknown>>; readonly error?: string;
  };

export type IncidentEventKind = IncidentEvent['kind'];

/** The actor of what Quell itself decides (as opposed to an operator's name). */
export const QUELL_ACTOR = 'quell';

/** One row of an incident's timeline. */
export interface TimelineEntry {
  readonly incidentId: number;
  readonly kind: IncidentEventKind;
  readonly actor: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** The timeline row an event is written as. */
export function timelineEntryOf(event: IncidentEvent): TimelineEntry {
  const { incidentId, kind } = event;
  switch (event.kind) {
    case 'opened': {
      const { rule, groupKey, title, priority, fingerprints } = event;
      return {
        incidentId, kind, actor: QUELL_ACTOR, detail: { rule, group_key: groupKey, title, priority, fingerprints },
      };
    }
    case 'alerts_linked':
    case 'alerts_resolved':
      return { incidentId, kind, actor: QUELL_ACTOR, detail: { fingerprints: event.fingerprints } };
    case 'alerts_lapsed': {
      const { fingerprints, by, reason } = event;
      return { incidentId, kind, actor: QUELL_ACTOR, detail: { fingerprints, by, reason } };
    }
    case 'grouping_closed':
      return { incidentId, kind, actor: QUELL_ACTOR, detail: { reason: event.reason } };
    case 'root_cause': {
      const { ci, type, previous, paths } = event;
      return { incidentId, kind, actor: QUELL_ACTOR, detail: { ci, type, previous, paths } };
    }
    case 'acknowledged':
      return {
        incidentId, kind, actor: event.by, detail: event.comment !== undefined ? { comment: event.comment } : {},
      };
    case 'resolved': {
      const detail: Record<string, unknown> = {};
      if (event.reason !== undefined) detail['reason'] = event.reason;
      if (event.comment !== undefined) detail['comment'] = event.comment;
      return { incidentId, kind, actor: event.by, detail };
    }
    case 'reopened': {
      const { reason, fingerprints } = event;
      return { incidentId, kind, actor: QUELL_ACTOR, detail: { reason, fingerprints } };
    }
    case 'flapping': {
      const { fingerprint, changes, windowMs } = event;
      const detail = { fingerprint, changes, window_seconds: windowMs / 1000 };
      return { incidentId, kind, actor: QUELL_ACTOR, detail };
    }
    case 'settled':
      return { incidentId, kind, actor: QUELL_ACTOR, detail: { fingerprint: event.fingerprint } };
    case 'priority_changed':
      return { incidentId, kind, actor: event.by, detail: { priority: event.priority, previous: event.previous } };
    case 'commented':
      return { incidentId, kind, actor: event.by, detail: { comment: event.comment } };
    case 'assigned': {
      const detail: Record<string, unknown> = {};
      if (event.assignee !== undefined) detail['assignee'] = event.assignee;
      if (event.assignmentGroup !== undefined) detail['assignment_group'] = event.assignmentGroup;
      return { incidentId, kind, actor: event.by, detail };
    }
    case 'held':
      return {
        incidentId, kind, actor: event.by,
        detail: { state: event.state, ...said(event, 'reason'), ...said(event, 'comment') },
      };
    case 'resumed':
      return {
        incidentId, kind, actor: event.by,
        detail: { status: event.status, held_ms: event.heldMs, ...said(event, 'comment') },
      };
    case 'impact_urgency_changed': {
      const { impact, urgency, previous } = event;
      return { incidentId, kind, actor: event.by, detail: { impact, urgency, previous } };
    }
    case 'escalated': {
      const { step } = event;
      return {
        incidentId, kind, actor: event.by,
        detail: { reason: event.reason, ...(step !== undefined ? { ...step, notify: [...step.notify] } : {}) },
      };
    }
    case 'sla_warning':
    case 'sla_breached': {
      const { clock, priority, targetMs, elapsedMs } = event;
      return {
        incidentId, kind, actor: QUELL_ACTOR,
        detail: { clock, priority, target_seconds: targetMs / 1000, elapsed_seconds: Math.floor(elapsedMs / 1000) },
      };
    }
    case 'notified': {
      const { target, about, status, attempts, error } = event;
      return {
        incidentId, kind, actor: QUELL_ACTOR,
        detail: { target, about, status, attempts, ...(error !== undefined ? { error } : {}) },
      };
    }
    case 'known_error': {
      const { problemId, workaround, runbook } = event;
      return {
        incidentId, kind, actor: QUELL_ACTOR,
        detail: { problem_id: problemId, workaround, ...(runbook !== undefined ? { runbook } : {}) },
      };
    }
    case 'runbook': {
      const { runId, runbook, status, reason } = event;
      return {
        incidentId, kind, actor: event.by,
        detail: { run_id: runId, runbook, status, ...(reason !== undefined ? { reason } : {}) },
      };
    }
    case 'runbook_step': {
      const { runId, runbook, step, action, status, durationMs, output, error } = event;
      const detail: Record<string, unknown> = { run_id: runId, runbook, step, action, status };
      if (durationMs !== undefined) detail['duration_ms'] = durationMs;
      if (output !== undefined) detail['output'] = output;
      if (error !== undefined) detail['error'] = error;
      return { incidentId, kind, actor: QUELL_ACTOR, detail };
    }
  }
}

/** `{ [key]: value }` when the event has it, else `{}`. */
function said<E>(event: E, key: keyof E & string): Record<string, unknown> {
  return event[key] !== undefined ? { [key]: event[key] } : {};
}
