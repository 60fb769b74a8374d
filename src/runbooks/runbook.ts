import type { Matcher } from '../domain/matchers';
import type { Priority } from '../domain/priority';
import type { SourcePosition } from '../rules/rule-kind';

/**
 * A runbook as the `Runbooks` rule kind compiles it (rules/*.yaml, `kind: Runbooks`): what
 * triggers it, which incidents it is for, its guard rails and its steps. Pure data: the
 * trigger evaluation (src/runbooks/runbook-triggers.ts) and the executor read it; nothing
 * here runs anything.
 */
export interface Runbook {
  readonly name: string;
  readonly description?: string;
  readonly triggers: readonly RunbookTrigger[];
  /** On the incident's alerts' labels: the runbook is for an incident when one of its alerts matches all. */
  readonly matchers: readonly Matcher[];
  /** On the labels of the incident's bound CIs (one CI matching all), when set. */
  readonly ciMatchers: readonly Matcher[];
  /** `required`: each run waits for an approval through the API (an ITIL normal change). */
  readonly approval: 'none' | 'required';
  /** Steps are rendered and recorded, never run. */
  readonly dryRun: boolean;
  /** Runs of this runbook at once (across processes); the rest wait. */
  readonly concurrency: number;
  /** At most `max` runs per `perMs` per target; the rest wait for an approval. */
  readonly rateLimit?: { readonly max: number; readonly perMs: number; readonly by: RateLimitTarget };
  /** After this many failed or ineffective runs in a row, new runs wait for an approval. */
  readonly breakerFailures: number;
  /** After the steps: the incident's alerts must be resolved within this, or the run "did not fix". */
  readonly postCheck?: { readonly resolvedWithinMs: number };
  readonly steps: readonly RunbookStep[];
  readonly position: SourcePosition;
}

/** What a rate limit counts runs per. */
export type RateLimitTarget = 'ci' | 'incident' | 'group' | 'runbook';

/** The incident events a runbook can be triggered by. */
export type TriggerEvent =
  | 'opened' | 'reopened' | 'alerts_linked' | 'acknowledged' | 'resolved'
  /** The incident's priority is at or above `atOrAbove` (when opened, or when it changes to it). */
  | 'priority'
  /** The incident is still active (not resolved) `afterMs` after it opened. */
  | 'still_firing';

export interface RunbookTrigger {
  readonly event: TriggerEvent;
  /** For `priority`: 1 (P1) is the highest. */
  readonly atOrAbove?: Priority;
  /** For `still_firing`. */
  readonly afterMs?: number;
}

export interface RunbookStep {
  /** Unique in its runbook; later steps read its output as `{{ steps.<name>.<field> }}`. */
  readonly name: string;
  /** The action's name in the registry (src/runbooks/actions/action-registry.ts). */
  readonly action: string;
  /** The action's parameters as its `compile` returned them (templates parsed). JSON-serializable. */
  readonly params: unknown;
  readonly timeoutMs: number;
  /** Retries with backoff; only allowed on a step declared `idempotent`. */
  readonly retry: { readonly attempts: number; readonly backoffMs: number };
  /**
   * Safe to run again: a step cut off by a crash (`unknown`) is re-run only when idempotent; otherwise it needs an
   * approval.
   */
  readonly idempotent: boolean;
  readonly position: SourcePosition;
}

/** The compiled `Runbooks` documents: what the trigger evaluation and the executor look up. */
export interface RunbookSet {
  readonly all: readonly Runbook[];
  byName(name: string): Runbook | undefined;
  /** The runbooks with a trigger on this event. */
  triggeredBy(event: TriggerEvent): readonly Runbook[];
}
