import type { AlertStatus, CanonicalAlert } from './alert';

/** What is stored about a fingerprint: the state of its latest episode. */
export interface AlertState {
  readonly status: AlertStatus;
  /** Start of the current episode; an episode is one firing period of a fingerprint. */
  readonly startsAt: string;
  readonly endsAt: string | null;
  readonly occurrences: number;
}

/**
 * What an incoming alert did to the stored state.
 * - `opened`: a new episode fires (first sight, or firing again after it resolved);
 * - `resolved`: the current episode ended;
 * - `duplicate`: a re-send that changes nothing but the occurrence count;
 * - `stale`: older than what is known (a firing that arrives after its own resolve).
 */
export type TransitionKind = 'opened' | 'resolved' | 'duplicate' | 'stale';

export interface Transition {
  readonly kind: TransitionKind;
  readonly alert: CanonicalAlert;
  /** The episode the transition belongs to (its start). */
  readonly episodeStartsAt: string;
}

export interface Decision {
  readonly next: AlertState;
  readonly transition: Transition;
}

const ms = (iso: string): number => Date.parse(iso);

/**
 * Decides, from timestamps alone, what an incoming alert means for the stored state.
 * Delivery order does not matter: a firing whose start is not after the stored episode's
 * end is stale, a resolve whose end is before the current episode's start is stale.
 */
export function decide(prev: AlertState | undefined, alert: CanonicalAlert): Decision {
  const transition = (kind: TransitionKind, episodeStartsAt: string): Transition => ({ kind, alert, episodeStartsAt });
  const bump = (state: AlertState): AlertState => ({ ...state, occurrences: state.occurrences + 1 });

  if (alert.status === 'firing') {
    if (prev === undefined) {
      const next = { status: 'firing', startsAt: alert.startsAt, endsAt: null, occurrences: 1 } as const;
      return { next, transition: transition('opened', alert.startsAt) };
    }
    if (prev.status === 'firing') return { next: bump(prev), transition: transition('duplicate', prev.startsAt) };
    if (prev.endsAt !== null && ms(alert.startsAt) <= ms(prev.endsAt)) {
      return { next: prev, transition: transition('stale', prev.startsAt) };
    }
    const next = {
      status: 'firing', startsAt: alert.startsAt, endsAt: null, occurrences: prev.occurrences + 1,
    } as const;
    return { next, transition: transition('opened', alert.startsAt) };
  }

  // A resolve carries its end; a source that omits it resolved "now", which the connector fills in.
  const endsAt = alert.endsAt ?? alert.startsAt;
  if (prev === undefined) {
    // Remembered so that its own firing, arriving late, is recognised as stale.
    const next = { status: 'resolved', startsAt: alert.startsAt, endsAt, occurrences: 1 } as const;
    return { next, transition: transition('stale', alert.startsAt) };
  }
  if (prev.status === 'firing' && ms(endsAt) >= ms(prev.startsAt)) {
    return { next: { ...bump(prev), status: 'resolved', endsAt }, transition: transition('resolved', prev.startsAt) };
  }
  if (prev.status === 'resolved') {
    const later = prev.endsAt === null || ms(endsAt) > ms(prev.endsAt) ? endsAt : prev.endsAt;
    return { next: { ...bump(prev), endsAt: later }, transition: transition('duplicate', prev.startsAt) };
  }
  return { next: prev, transition: transition('stale', prev.startsAt) };
}

/** Folds a fingerprint's alerts of one batch, in order, over its stored state. */
export function decideAll(
  prev: AlertState | undefined, alerts: readonly CanonicalAlert[],
): { next: AlertState | undefined; transitions: Transition[] } {
  let state = prev;
  const transitions: Transition[] = [];
  for (const alert of alerts) {
    const decision = decide(state, alert);
    state = decision.next;
    transitions.push(decision.transition);
  }
  return { next: state, transitions };
}
