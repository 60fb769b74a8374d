/**
 * The incident lifecycle, in one place: its states, which change each allows, and which states
 * pause the service-level clocks. The database's CHECK constraint (migration 0010) lists the
 * same states; the pipeline, the store's SQL, the API and the SLA helper ask here.
 *
 *   open --acknowledge--> acknowledged
 *   open | acknowledged --hold(state, reason)--> on_hold | awaiting_change
 *   on_hold <--hold--> awaiting_change           (what it waits for changed)
 *   on_hold | awaiting_change --resume--> acknowledged if it had been acknowledged, else open
 *   any but resolved --resolve--> resolved       (by hand, or when its last alert resolves:
 *                                                 a held incident resolves too, its symptoms are gone)
 *   resolved --reopen--> open                    (Quell, when its group fires again within the
 *                                                 rule's `reopen_within` of an automatic resolve)
 *
 * A held incident still takes its group's alerts (it is not resolved), and its clocks stand
 * still: `paused_at` is set while it is held, `paused_ms` adds up the time it was held before.
 */
export const INCIDENT_STATUSES = ['open', 'acknowledged', 'on_hold', 'awaiting_change', 'resolved'] as const;

export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** The status an incident opens in, and the one it ends in. */
export const OPENED: IncidentStatus = 'open';
export const RESOLVED: IncidentStatus = 'resolved';

/** The states an incident is put in to wait (for a customer or vendor; for a change's approval). */
export const HOLD_STATES = ['on_hold', 'awaiting_change'] as const satisfies readonly IncidentStatus[];
export type HoldState = (typeof HOLD_STATES)[number];

/** The states in which service-level clocks (time to acknowledge, time to resolve) stand still. */
export const CLOCK_PAUSING_STATUSES: readonly IncidentStatus[] = HOLD_STATES;

/** A change asked of an incident. */
export type IncidentAction = 'acknowledge' | 'resolve' | 'reopen' | 'hold' | 'resume';

/** A change with what it needs: `hold` names the state it holds in. */
export type LifecycleStep =
  | { readonly action: 'acknowledge' | 'resolve' | 'reopen' | 'resume' }
  | { readonly action: 'hold'; readonly state: HoldState };

/** What the lifecycle reads of an incident: its status, and whether it was ever acknowledged (resume's target). */
export interface LifecycleState {
  readonly status: IncidentStatus;
  readonly acknowledged: boolean;
}

const isHeld = (s: IncidentStatus): s is HoldState => (HOLD_STATES as readonly IncidentStatus[]).includes(s);

/** The status `step` leads to from `current`, or undefined when the lifecycle does not allow it. */
export function transition(current: LifecycleState, step: LifecycleStep): IncidentStatus | undefined {
  const { status } = current;
  switch (step.action) {
    case 'acknowledge':
      return status === 'open' ? 'acknowledged' : undefined;
    case 'resolve':
      return status !== 'resolved' ? 'resolved' : undefined;
    case 'reopen':
      return status === 'resolved' ? 'open' : undefined;
    case 'hold':
      return status !== 'resolved' && status !== step.state ? step.state : undefined;
    case 'resume':
      if (!isHeld(status)) return undefined;
      return current.acknowledged ? 'acknowledged' : 'open';
  }
}

/** The statuses from which `step` is allowed (for SQL that changes many incidents at once). */
export function statusesAllowing(step: LifecycleStep): IncidentStatus[] {
  // Both answers of resume (acknowledged or not) are allowed from the same statuses.
  return INCIDENT_STATUSES.filter((status) => transition({ status, acknowledged: false }, step) !== undefined);
}

/** The status one of the changes that need nothing more leads to from `status`, or undefined. */
export function nextStatus(
  status: IncidentStatus, action: 'acknowledge' | 'resolve' | 'reopen',
): IncidentStatus | undefined {
  return transition({ status, acknowledged: false }, { action });
}

/** Whether an incident in `status` still counts as open work (not resolved): it takes its group's alerts. */
export const isActive = (status: IncidentStatus): boolean => status !== 'resolved';

/** The statuses of open work: such an incident takes its group's alerts, held or not. */
export const ACTIVE_STATUSES: readonly IncidentStatus[] = INCIDENT_STATUSES.filter(isActive);

/** Whether service-level clocks stand still in `status`. */
export const pausesClocks = (status: IncidentStatus): boolean => CLOCK_PAUSING_STATUSES.includes(status);

/** An incident's paused time: `pausedAt` while paused (else null), `pausedMs` paused before it. */
export interface PauseClock {
  readonly pausedAt: Date | null;
  readonly pausedMs: number;
}

/** The pause clock after a change from `from` to `to` at `at`: entering a pause starts one, leaving it adds it up. */
export function pauseAfter(clock: PauseClock, from: IncidentStatus, to: IncidentStatus, at: Date): PauseClock {
  const was = pausesClocks(from) && clock.pausedAt !== null;
  const is = pausesClocks(to);
  if (was && !is) {
    return { pausedAt: null, pausedMs: clock.pausedMs + Math.max(0, at.getTime() - clock.pausedAt.getTime()) };
  }
  if (!was && is) return { pausedAt: at, pausedMs: clock.pausedMs };
  return clock; // on_hold <-> awaiting_change: one pause goes on
}

/** The time an incident's clocks stood still up to `now` (what an SLA clock subtracts from elapsed time). */
export function pausedMsAt(clock: PauseClock, now: Date): number {
  return clock.pausedMs + (clock.pausedAt === null ? 0 : Math.max(0, now.getTime() - clock.pausedAt.getTime()));
}
