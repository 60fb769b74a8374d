import type { AlertStatus } from './alert';
import type { FlappingPolicy } from './grouping-policy';

/**
 * Flapping is judged on the alerts' own clock: a change happens at its event time (see
 * {@link changeTime}), so that the same alerts are flapping or not whether they arrive live,
 * late, or replayed faster than they happened.
 */

/** What is known of a tracked alert's flapping before a change. */
export interface FlappingState {
  readonly flapping: boolean;
  /** Its latest state change (epoch ms, event time), if any. */
  readonly lastChangeAt?: number;
}

/** What one state change did. */
export interface FlapStep {
  /** Flapping after the change. */
  readonly flapping: boolean;
  /** The change made it flapping. */
  readonly started: boolean;
  /** It was flapping and had settled before the change (no change for a whole window). */
  readonly settled: boolean;
}

/**
 * How far after its receipt an event time may lie and still be believed (the source's clock
 * running ahead of Quell's); later ones are implausible and the receipt time stands in.
 */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** The times a change carries: a firing's start, a resolve's end (absent: the source gave none). */
export interface ChangeTimes {
  readonly status: AlertStatus;
  readonly startsAt: string;
  readonly endsAt: string | null;
}

/**
 * When a change happened, on the alert's own clock: a firing at its `startsAt`, a resolve at
 * its `endsAt`. The receipt time (epoch ms, Quell's clock) stands in when the source gives no
 * such time, or one that cannot be (unparsable, before 1970, or later than its own receipt by
 * more than {@link MAX_CLOCK_SKEW_MS}). `notBefore` (the alert's previous change, if known)
 * keeps an alert's changes in order when the two clocks mix.
 */
export function changeTime(change: ChangeTimes, receivedAt: number, notBefore?: number): number {
  const raw = change.status === 'firing' ? change.startsAt : change.endsAt;
  const t = raw === null ? Number.NaN : Date.parse(raw);
  const plausible = Number.isFinite(t) && t >= 0 && t <= receivedAt + MAX_CLOCK_SKEW_MS;
  const at = plausible ? t : receivedAt;
  return notBefore !== undefined && at < notBefore ? notBefore : at;
}

/**
 * A flapping alert settles once it has not changed for the policy's window. `now` and the
 * state's `lastChangeAt` must be on the same clock: the event time of the alert's next change
 * (flapStep), or, where no change comes (the pipeline's tick), Quell's clock against the time
 * Quell applied the latest change.
 */
export function hasSettled(state: FlappingState, policy: FlappingPolicy, now: number): boolean {
  return state.flapping && state.lastChangeAt !== undefined && now - state.lastChangeAt >= policy.windowMs;
}

/**
 * One state change (a firing or a resolve) of a tracked alert at `at` (event time). `earlier`
 * are the event times of its earlier changes, from its history (any order; those outside the
 * window do not count). It becomes flapping when this change makes `changes` within the
 * window, and stays flapping, whatever the count, until it settles: a rate that dips below the
 * threshold for a moment does not end it, only a whole window without a change does.
 */
export function flapStep(
  state: FlappingState, earlier: readonly number[], policy: FlappingPolicy, at: number,
): FlapStep {
  const settled = hasSettled(state, policy, at);
  const still = state.flapping && !settled;
  const within = earlier.filter((t) => t > at - policy.windowMs && t <= at).length + 1;
  const flapping = still || within >= policy.changes;
  return { flapping, started: flapping && !still, settled };
}

/**
 * Whether a firing at `at` comes back within the flapping window of the alert's previous
 * change (both event times): then it reopens the incident Quell resolved for it (a bounce).
 */
export function isBounce(lastChangeAt: number | undefined, policy: FlappingPolicy, at: number): boolean {
  return lastChangeAt !== undefined && at - lastChangeAt < policy.windowMs;
}

/** The longest flapping window a rule may set: the state history is kept for a day. */
export const MAX_FLAPPING_WINDOW_MS = 24 * 3_600_000;
