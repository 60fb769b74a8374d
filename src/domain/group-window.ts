import type { GroupingPolicy, WindowKind } from './grouping-policy';

/** An alert episode in a group's window: its fingerprint and start (epoch ms). */
export interface WindowMember {
  readonly fingerprint: string;
  readonly startsAt: number;
}

/** A firing alert (a new episode) the group decision places. */
export interface Arrival extends WindowMember {
  /**
   * An incident this alert may reopen whatever `reopen_within` says: its own previous
   * episode's, which Quell resolved moments ago (a flapping rule's bounce, see flapping.ts).
   */
  readonly rebound?: number;
}

/** The group's incident that still takes alerts (`grouping_open`), as stored. */
export interface GroupingIncident {
  readonly id: number;
  /** Alerts that start up to this time (epoch ms) join it. */
  readonly groupingUntil: number;
  /** Its own window, kept from when it opened (a reload does not change it). */
  readonly window: WindowKind;
  readonly windowMs: number;
}

/** The group's latest incident, when none takes alerts: what a new firing may reopen. */
export interface LatestIncident {
  readonly id: number;
  /** When Quell resolved it (epoch ms); undefined while it is not resolved, or when a person resolved it. */
  readonly autoResolvedAt?: number;
}

/** What is stored about a group when a batch brings it alerts. */
export interface GroupState<P extends WindowMember> {
  readonly open?: GroupingIncident;
  /** Alerts waiting for `min_alerts` in the group's current window (none while an incident takes alerts). */
  readonly pending: readonly P[];
  readonly latest?: LatestIncident;
}

export type IncidentTarget =
  | { readonly kind: 'existing'; readonly id: number }
  | { readonly kind: 'reopen'; readonly id: number }
  | { readonly kind: 'new' };

/** An incident the batch changes, with the arrivals (and the formerly pending alerts) it takes. */
export interface IncidentWindow<A, P> {
  readonly target: IncidentTarget;
  readonly arrivals: readonly A[];
  /** Pending alerts that join it as it opens. */
  readonly pending: readonly P[];
  readonly window: WindowKind;
  readonly windowMs: number;
  /** Alerts that start up to this time (epoch ms) join it. */
  readonly groupingUntil: number;
  /** Its window passed within this batch: it takes no more alerts (`grouping_closed`). */
  readonly closed: boolean;
}

/** The decision for one group and one batch. */
export interface GroupPlan<A, P> {
  /** In window order: at most the last one still takes alerts. */
  readonly incidents: readonly IncidentWindow<A, P>[];
  /** Arrivals left waiting for `min_alerts`. */
  readonly pending: readonly A[];
  /** Pending alerts (stored earlier, or arrived in this batch) whose window passed short of `min_alerts`. */
  readonly expired: readonly (A | P)[];
}

interface Current<A, P> {
  target: IncidentTarget | undefined;
  readonly arrivals: A[];
  readonly pending: P[];
  readonly window: WindowKind;
  readonly windowMs: number;
  until: number;
}

/**
 * Places a batch's firing alerts of one group, in order of their start: each joins the current
 * window (the open incident's, or the pending alerts') if it starts by the window's end, which
 * a sliding window moves to its start plus the window; otherwise the window closes (an incident
 * stops grouping, pending alerts expire) and the alert starts a new one. A new window reopens
 * the group's latest incident if Quell resolved it within `reopen_within` of `now` (or the
 * alert rebounds into it); else it is a new incident, or, with `min_alerts` above 1, a pending
 * window that becomes an incident once it holds that many distinct alerts. Resolves never get
 * here: an incident opens only on firing alerts.
 */
export function decideGroup<A extends Arrival, P extends WindowMember>(
  policy: GroupingPolicy, state: GroupState<P>, arrivals: readonly A[], now: number,
): GroupPlan<A, P> {
  const incidents: IncidentWindow<A, P>[] = [];
  const expired: (A | P)[] = [];
  let reopenable = state.open === undefined ? state.latest : undefined;
  let cur: Current<A, P> | undefined;
  if (state.open !== undefined) {
    const { id, window, windowMs, groupingUntil } = state.open;
    cur = { target: { kind: 'existing', id }, arrivals: [], pending: [], window, windowMs, until: groupingUntil };
  } else if (state.pending.length > 0) {
    cur = {
      target: undefined, arrivals: [], pending: [...state.pending], window: policy.window, windowMs: policy.windowMs,
      until: windowEnd(policy.window, policy.windowMs, state.pending),
    };
  }

  const finish = (c: Current<A, P>, closed: boolean): void => {
    if (c.target !== undefined) {
      const { target, arrivals: a, pending, window, windowMs, until } = c;
      incidents.push({ target, arrivals: a, pending, window, windowMs, groupingUntil: until, closed });
    } else if (closed) {
      expired.push(...c.pending, ...c.arrivals);
    }
  };

  for (const a of [...arrivals].sort((x, y) => x.startsAt - y.startsAt)) {
    if (cur !== undefined && a.startsAt <= cur.until) {
      cur.arrivals.push(a);
      if (cur.window === 'sliding') cur.until = Math.max(cur.until, a.startsAt + cur.windowMs);
    } else {
      if (cur !== undefined) finish(cur, true);
      const reopen = reopenable !== undefined && mayReopen(policy, reopenable, a, now) ? reopenable.id : undefined;
      reopenable = undefined;
      const target: IncidentTarget | undefined = reopen !== undefined ? { kind: 'reopen', id: reopen }
        : policy.minAlerts <= 1 ? { kind: 'new' } : undefined;
      const { window, windowMs } = policy;
      cur = { target, arrivals: [a], pending: [], window, windowMs, until: a.startsAt + windowMs };
    }
    if (cur.target === undefined && distinctAlerts(cur) >= policy.minAlerts) {
      cur.target = { kind: 'new' };
      reopenable = undefined;
    }
  }
  let pending: readonly A[] = [];
  if (cur !== undefined) {
    if (cur.target !== undefined) finish(cur, false);
    else pending = cur.arrivals;
  }
  return { incidents, pending, expired };
}

/** Whether a new window of the group reopens its latest incident rather than starting anew. */
function mayReopen(policy: GroupingPolicy, latest: LatestIncident, a: Arrival, now: number): boolean {
  if (latest.autoResolvedAt === undefined) return false;
  if (a.rebound === latest.id) return true;
  return policy.reopenWithinMs !== undefined && now - latest.autoResolvedAt <= policy.reopenWithinMs;
}

/** Where a window of these members ends: the latest start plus the window if sliding, the first if fixed. */
export function windowEnd(kind: WindowKind, windowMs: number, members: readonly WindowMember[]): number {
  const starts = members.map((m) => m.startsAt);
  return (kind === 'sliding' ? Math.max(...starts) : Math.min(...starts)) + windowMs;
}

function distinctAlerts(c: Current<WindowMember, WindowMember>): number {
  return new Set([...c.pending, ...c.arrivals].map((m) => m.fingerprint)).size;
}
