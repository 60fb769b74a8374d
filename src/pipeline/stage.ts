import type { Transaction } from 'kysely';
import type { CanonicalAlert } from '../domain/alert';
import type { Correlation } from '../rules/rule-set';
import type { Database } from '../store/database';

/**
 * An alert on its way through the stages; each stage fills in what it decided.
 * - dedup sets `event` (and drops duplicates and stale alerts);
 * - correlate sets `correlation` on opened alerts (and drops those no rule takes);
 * - incident sets `incidentId`.
 */
export interface StagedAlert {
  readonly alert: CanonicalAlert;
  /** When Quell accepted the request that carried it (ISO 8601). */
  readonly receivedAt: string;
  readonly event?: 'opened' | 'resolved';
  /** The episode (fingerprint + start) the event belongs to. */
  readonly episodeStartsAt?: string;
  readonly correlation?: Correlation;
  readonly incidentId?: number;
}

export interface StageContext {
  /** One transaction for the jobs applied together: each is applied whole or not at all. */
  readonly trx: Transaction<Database>;
  /** Runs `fn` after the job's transaction commits (metrics, notifications): never for a rolled-back try. */
  readonly afterCommit: (fn: () => void) => void;
}

/** One step of the pipeline: takes alerts, returns the alerts that go on. */
export interface Stage {
  readonly name: string;
  run(alerts: readonly StagedAlert[], ctx: StageContext): Promise<readonly StagedAlert[]>;
}
