import type { FlappingPolicy } from './grouping-policy';

/** What is known of a tracked alert's flapping before a change. */
export interface FlappingState {
  readonly flapping: boolean;
  /** Its latest state change (epoch ms, Quell's clock), if any. */
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

/** A flapping alert settles once it has not changed for the policy's window. */
export function hasSettled(state: FlappingState, policy: FlappingPolicy, now: number): boolean {
  return state.flapping && state.lastChangeAt !== undefined && now - state.lastChangeAt >= policy.windowMs;
}

/**
 * One state change (a firing or a resolve) of a tracked alert at `at`. `earlier` are the times
 * of its earlier changes, from its history (any order; those outside the window do not count).
 * It becomes flapping when this change makes `changes` within the window, and stays flapping,
 * whatever the count, until it settles: a rate that dips below the threshold for a moment
 * does not end it, only a whole window without a change does.
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

/** The longest flapping window a rule may set: the state history is kept for a day. */
export const MAX_FLAPPING_WINDOW_MS = 24 * 3_600_000;
