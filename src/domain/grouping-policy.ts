/**
 * How a rule's alerts become incidents, as data: the rule's `group_window`, `window`,
 * `min_alerts`, `reopen_within` and `flapping` fields, compiled once per load. The incident and
 * flapping stages decide with it in pure code (`group-window.ts`, `flapping.ts`); SQL only
 * applies their decisions.
 *
 * Windows are measured on the alerts' own start times (the source's clock), so that delivery
 * delays never change which alerts share an incident; so are flapping's state changes (a
 * firing's start, a resolve's end: flapping.ts). Reopening is about what Quell did and when,
 * so it is measured on Quell's clock (the stage context's `now`).
 */
export interface GroupingPolicy {
  /**
   * `sliding`: an alert joins if it starts within `windowMs` of the incident's latest alert (each
   * alert extends the window); `fixed`: within `windowMs` of the incident's first alert.
   */
  readonly window: WindowKind;
  readonly windowMs: number;
  /**
   * Distinct alerts (fingerprints) of one window before an incident opens; until then they
   * wait, stored and linked to nothing (pending), and all join the incident when it opens.
   */
  readonly minAlerts: number;
  /**
   * A group whose latest incident Quell resolved less than this ago reopens that incident
   * when it fires again, instead of opening a new one. Undefined: never (a new incident).
   */
  readonly reopenWithinMs?: number;
  /** Flapping detection for the rule's alerts; undefined: off. */
  readonly flapping?: FlappingPolicy;
}

export type WindowKind = 'sliding' | 'fixed';

export const WINDOW_KINDS: readonly WindowKind[] = ['sliding', 'fixed'];

/**
 * An alert that changes state (fires or resolves) `changes` times within `windowMs` is
 * flapping until it has not changed for `windowMs` (it settles).
 */
export interface FlappingPolicy {
  readonly changes: number;
  readonly windowMs: number;
}
