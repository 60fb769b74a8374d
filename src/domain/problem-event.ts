import { QUELL_ACTOR } from './incident-event';
import type { ProblemStatus } from './problem-lifecycle';

/**
 * What happened to a problem, as a typed value: written once by the stage or API call that made
 * it happen, in its transaction; {@link problemTimelineEntryOf} gives the `problem_events` row
 * (its `kind` and `detail` are the API's contract). `by` is who did it: `quell` for detection,
 * else the API token's name.
 */
export type ProblemEvent =
  | {
    /** Quell found the recurrence (`by` quell), or someone opened it by hand. */
    readonly kind: 'opened'; readonly problemId: number; readonly by: string; readonly signature: string | null;
    readonly rule: string | null; readonly incidentIds: readonly number[];
  }
  | {
    readonly kind: 'incidents_linked'; readonly problemId: number; readonly by: string;
    readonly incidentIds: readonly number[];
  }
  | { readonly kind: 'incident_unlinked'; readonly problemId: number; readonly by: string; readonly incidentId: number }
  | { readonly kind: 'change_linked'; readonly problemId: number; readonly by: string; readonly changeId: number }
  /** Root cause, workaround or title changed (only the fields that changed). */
  | {
    readonly kind: 'updated'; readonly problemId: number; readonly by: string;
    readonly fields: Readonly<Record<string, string | null>>;
  }
  | {
    readonly kind: 'known_error'; readonly problemId: number; readonly by: string;
    readonly workaround: string; readonly runbook: string | null;
  }
  /** Its status changed by a lifecycle action (resolve, reopen, close). */
  | {
    readonly kind: 'status_changed'; readonly problemId: number; readonly by: string;
    readonly status: ProblemStatus; readonly previous: ProblemStatus; readonly comment?: string;
  }
  /** A new incident got its workaround (the problem is a known error). */
  | { readonly kind: 'workaround_applied'; readonly problemId: number; readonly incidentIds: readonly number[] };

export type ProblemEventKind = ProblemEvent['kind'];

/** One row of a problem's timeline. */
export interface ProblemTimelineEntry {
  readonly problemId: number;
  readonly kind: ProblemEventKind;
  readonly actor: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

export function problemTimelineEntryOf(event: ProblemEvent): ProblemTimelineEntry {
  const { problemId, kind } = event;
  switch (event.kind) {
    case 'opened':
      return {
        problemId, kind, actor: event.by,
        detail: { signature: event.signature, rule: event.rule, incident_ids: event.incidentIds },
      };
    case 'incidents_linked':
      return { problemId, kind, actor: event.by, detail: { incident_ids: event.incidentIds } };
    case 'incident_unlinked':
      return { problemId, kind, actor: event.by, detail: { incident_id: event.incidentId } };
    case 'change_linked':
      return { problemId, kind, actor: event.by, detail: { change_id: event.changeId } };
    case 'updated':
      return { problemId, kind, actor: event.by, detail: { ...event.fields } };
    case 'known_error':
      return { problemId, kind, actor: event.by, detail: { workaround: event.workaround, runbook: event.runbook } };
    case 'status_changed': {
      const detail: Record<string, unknown> = { status: event.status, previous: event.previous };
      if (event.comment !== undefined) detail['comment'] = event.comment;
      return { problemId, kind, actor: event.by, detail };
    }
    case 'workaround_applied':
      return { problemId, kind, actor: QUELL_ACTOR, detail: { incident_ids: event.incidentIds } };
  }
}
