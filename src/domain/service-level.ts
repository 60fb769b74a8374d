import { CLOCK_PAUSING_STATUSES } from './incident-lifecycle';

/**
 * Service-level clocks of an incident, pure (no I/O): the API's detail, the sweep and the
 * escalation all compute them here, at a `now` they pass in.
 *
 * A clock runs from the incident's opening to its stop (time to acknowledge: the acknowledgement,
 * or the resolve of an incident never acknowledged; time to resolve: the resolve), less the time
 * spent in the states the policy pauses in (`pause_in`: on hold, awaiting change). It is
 * `breached` once its elapsed time reaches the target, and `near` from `warn_at` of the target
 * until then. A reopened incident's clocks run on from where they stood.
 */

export type SlaClockName = 'tta' | 'ttr';

export const SLA_CLOCKS: readonly SlaClockName[] = ['tta', 'ttr'];

/** A clock's target per priority (1 to 5); a priority without one has no such clock. */
export interface ServiceLevelTargets {
  readonly tta?: number;
  readonly ttr?: number;
}

export interface ServiceLevelPolicy {
  /** Targets in ms, by priority 1..5. */
  readonly targets: Readonly<Partial<Record<number, ServiceLevelTargets>>>;
  /** Statuses in which clocks stand still (`on_hold`, `awaiting_change`). */
  readonly pauseIn: readonly string[];
  /** The share of a target (0 < x < 1) from which a clock is near its breach. */
  readonly warnAt: number;
  /** Notification targets told of warnings and breaches. */
  readonly notify: readonly string[];
}

/** No service levels: no clock has a target (escalation still pauses in the lifecycle's pausing states). */
export const NO_SERVICE_LEVELS: ServiceLevelPolicy = Object.freeze({
  targets: {}, pauseIn: CLOCK_PAUSING_STATUSES, warnAt: 0.8, notify: [],
});

/** A time the incident spent in a pausing status (`to` absent: it still is). */
export interface PauseInterval {
  readonly state: string;
  readonly from: Date;
  readonly to?: Date;
}

/** What the clocks of one incident are computed from. */
export interface ClockFacts {
  readonly priority: number;
  readonly openedAt: Date;
  readonly acknowledgedAt: Date | null;
  readonly resolvedAt: Date | null;
  readonly pauses: readonly PauseInterval[];
}

export interface SlaClock {
  readonly clock: SlaClockName;
  readonly targetMs: number;
  /** Time counted so far (pauses left out). */
  readonly elapsedMs: number;
  /** Until the breach; negative once breached. */
  readonly remainingMs: number;
  readonly breached: boolean;
  /** Past `warn_at` of the target, not yet breached. */
  readonly near: boolean;
  /** The clock stopped (acknowledged, resolved): its elapsed time is final. */
  readonly stopped: boolean;
  /** It stands still now (the incident is in a pausing status). */
  readonly paused: boolean;
}

/** When `clock` stopped, or null while it runs. */
export function clockStop(clock: SlaClockName, facts: ClockFacts): Date | null {
  return clock === 'tta' ? facts.acknowledgedAt ?? facts.resolvedAt : facts.resolvedAt;
}

/** Time from `from` to `end`, less the overlap with the pauses in `pauseIn`. */
export function businessElapsedMs(
  from: Date, end: Date, pauses: readonly PauseInterval[], pauseIn: readonly string[],
): number {
  let paused = 0;
  for (const p of pauses) {
    if (!pauseIn.includes(p.state)) continue;
    const a = Math.max(p.from.getTime(), from.getTime());
    const b = Math.min((p.to ?? end).getTime(), end.getTime());
    if (b > a) paused += b - a;
  }
  return Math.max(0, end.getTime() - from.getTime() - paused);
}

/** The incident's clocks that have a target at its priority, as of `now`. */
export function slaClocks(policy: ServiceLevelPolicy, facts: ClockFacts, now: Date): SlaClock[] {
  const targets = policy.targets[facts.priority];
  if (targets === undefined) return [];
  const out: SlaClock[] = [];
  for (const clock of SLA_CLOCKS) {
    const targetMs = targets[clock];
    if (targetMs === undefined) continue;
    const stop = clockStop(clock, facts);
    // A stop after `now` (a sweep of a past minute) has not happened yet.
    const stopped = stop !== null && stop <= now;
    const end = stopped ? stop : now;
    const elapsedMs = businessElapsedMs(facts.openedAt, end, facts.pauses, policy.pauseIn);
    const breached = elapsedMs >= targetMs;
    const paused = !stopped && facts.pauses.some((p) => p.from <= now && (p.to === undefined || p.to > now)
      && policy.pauseIn.includes(p.state));
    out.push({
      clock, targetMs, elapsedMs, remainingMs: targetMs - elapsedMs, breached,
      near: !breached && elapsedMs >= policy.warnAt * targetMs, stopped, paused,
    });
  }
  return out;
}

/** The timeline kinds a pause is read from: `held` starts one (or changes its state), the others end it. */
export const PAUSE_KINDS = ['held', 'resumed', 'resolved'] as const;

/**
 * The pause intervals of a timeline's `held` (with its state), `resumed` and `resolved` entries,
 * in order: a held incident resolved is no longer held (reopened, it runs again).
 */
export function pausesOf(
  entries: readonly { readonly kind: string; readonly at: Date; readonly state?: string | null }[],
): PauseInterval[] {
  const out: PauseInterval[] = [];
  let open: { state: string; from: Date } | undefined;
  for (const e of entries) {
    if (e.kind === 'held') {
      if (open !== undefined) out.push({ ...open, to: e.at });
      open = { state: e.state ?? 'on_hold', from: e.at };
    } else if ((e.kind === 'resumed' || e.kind === 'resolved') && open !== undefined) {
      out.push({ ...open, to: e.at });
      open = undefined;
    }
  }
  if (open !== undefined) out.push(open);
  return out;
}
