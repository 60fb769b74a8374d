import type { Labels } from './alert';
import { MatcherIndex } from './matcher-index';
import type { Matcher } from './matchers';

/**
 * A silence, in Alertmanager's words: alerts whose labels match all its `matchers` open no
 * incident from `startsAt` until `endsAt`. They are still stored, shown as `silenced` with the
 * silence's id, and counted.
 */
export interface Silence {
  /** A UUID. */
  readonly id: string;
  readonly matchers: readonly Matcher[];
  /** ISO 8601. */
  readonly startsAt: string;
  readonly endsAt: string;
  readonly createdBy: string;
  readonly comment: string;
  readonly updatedAt: string;
}

/** As Alertmanager: `pending` before `startsAt`, `active` until `endsAt`, then `expired`. */
export type SilenceState = 'pending' | 'active' | 'expired';

export const SILENCE_STATES: readonly SilenceState[] = ['pending', 'active', 'expired'];

export function silenceState(s: Pick<Silence, 'startsAt' | 'endsAt'>, now: Date): SilenceState {
  const t = now.getTime();
  if (t < Date.parse(s.startsAt)) return 'pending';
  return t < Date.parse(s.endsAt) ? 'active' : 'expired';
}

/**
 * Silences indexed for matching (by label equality, see {@link MatcherIndex}): built once when
 * the set changes, then each alert tries only the silences that can match it.
 */
export class SilenceIndex {
  private readonly index: MatcherIndex<Silence>;

  constructor(readonly silences: readonly Silence[]) {
    this.index = new MatcherIndex(silences);
  }

  /** The silences active at `now` whose matchers all hold for `labels`. */
  silencing(labels: Labels, now: Date): Silence[] {
    const out: Silence[] = [];
    for (const s of this.index.matching(labels)) if (silenceState(s, now) === 'active') out.push(s);
    return out;
  }
}
