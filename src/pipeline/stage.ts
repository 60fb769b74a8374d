import type { Transaction } from 'kysely';
import type { CanonicalAlert } from '../domain/alert';
import type { AlertState } from '../domain/alert-state';
import type { FlappingPolicy } from '../domain/grouping-policy';
import type { IncidentEvent } from '../domain/incident-event';
import type { Correlation } from '../rules/rule-set';
import type { Database } from '../store/database';
import { LaterWrites } from '../store/later-writes';
import type { SourceAcknowledgedAlert } from '../queue/ingest-queue';

/** An alert as a job brings it to the pipeline. */
export interface ReceivedAlert {
  readonly alert: CanonicalAlert;
  /** When Quell accepted the request that carried it (ISO 8601). */
  readonly receivedAt: string;
  readonly event?: undefined;
}

/** What dedup found an alert did: a new episode fires, or the current one ends. */
export interface AlertChange extends Omit<ReceivedAlert, 'event'> {
  readonly event: 'opened' | 'resolved';
  /** The episode (fingerprint + start) the change belongs to. */
  readonly episodeStartsAt: string;
  /**
   * Set by dedup when this transaction stored the alert's first row: nothing else of it is
   * stored (no flapping history, no incident link), so later stages need not look it up.
   */
  readonly firstSeen?: true;
  /** Set by correlate on opened alerts: the rule and group that take it. */
  readonly correlation?: Correlation;
  /** Set by flapping on the changes of alerts whose rule detects flapping. */
  readonly flap?: FlapNote;
  /** Set by incident: the incident the episode belongs to. */
  readonly incidentId?: number;
}

/** What the flapping stage found of one change of a tracked alert. */
export interface FlapNote {
  /** Flapping after this change. */
  readonly flapping: boolean;
  /** This change made it flapping. */
  readonly started: boolean;
  readonly policy: FlappingPolicy;
  /** The incident of its previous episode (of the ending one, for a resolve), while not resolved. */
  readonly incidentId?: number;
  /**
   * For a firing: the incident of its previous episode, which Quell resolved less than a
   * flapping window ago. The firing reopens it (a bounce), whatever `reopen_within` says.
   */
  readonly rebound?: number;
}

/** An opened alert that a rule took. */
export interface CorrelatedAlert extends AlertChange {
  readonly event: 'opened';
  readonly correlation: Correlation;
}

export const isCorrelated = (a: StagedAlert): a is CorrelatedAlert =>
  a.event === 'opened' && a.correlation !== undefined;

/**
 * An alert on its way through the stages: received, then (dedup) a change, then (correlate,
 * incident) a change with its decisions. Dedup drops duplicates and stale alerts, correlate
 * drops opened alerts that no rule takes.
 */
export type StagedAlert = ReceivedAlert | AlertChange;

export interface StageContext {
  /** One transaction for the jobs applied together: each is applied whole or not at all. */
  readonly trx: Transaction<Database>;
  /**
   * What happened to incidents in this transaction, in order: a stage that changes an incident
   * emits its event here, once; later stages read it (problems, runbook triggers) and the
   * `record` stage writes them all to the timelines.
   */
  readonly events: IncidentEventLog;
  /** The time, from one clock for the whole transaction (tests pass their own; never sleep). */
  readonly now: () => Date;
  /** Runs `fn` after the job's transaction commits (metrics, notifications): never for a rolled-back try. */
  readonly afterCommit: (fn: () => void) => void;
  /**
   * Writes no later stage reads, held to travel with the transaction's last statement (the
   * `record` stage's, or runPipeline's after the last stage) instead of a round trip of their
   * own. @defaultValue none: they are written at once
   */
  readonly later?: LaterWrites;
  /**
   * The silences' version (`silences_version`) as the transaction's first statement read it, so
   * that the suppress stage's cache costs no statement of its own (src/store/job-batch-store.ts).
   * Any read in the transaction sees every silence committed before it began. @defaultValue
   * unknown: the stage reads it
   */
  readonly silencesVersion?: string;
  /**
   * The stored states of the batch's alerts, locked by the transaction's first statement in
   * fingerprint order (src/store/job-batch-store.ts): dedup uses them when `fingerprints` holds
   * all of its alerts' (one not in `states` is not stored). `inserted`: the fingerprints that
   * statement stored first, with the rows dedup's firstRows gave them. @defaultValue none:
   * dedup locks them
   */
  readonly alertStates?: {
    readonly fingerprints: ReadonlySet<string>;
    readonly states: ReadonlyMap<string, AlertState>;
    readonly inserted?: ReadonlySet<string>;
  };
  /** What the jobs' sources said was acknowledged (IngestJob.acknowledgements), in job order. @defaultValue none */
  readonly acknowledgements?: readonly SourceAcknowledgedAlert[];
}

/** One step of the pipeline: takes alerts, returns the alerts that go on. */
export interface Stage {
  readonly name: string;
  run(alerts: readonly StagedAlert[], ctx: StageContext): Promise<readonly StagedAlert[]>;
}

/** The incident events of one transaction. */
export class IncidentEventLog {
  private readonly list: IncidentEvent[] = [];

  emit(...events: readonly IncidentEvent[]): void {
    this.list.push(...events);
  }

  /** Every event so far, in the order emitted. */
  all(): readonly IncidentEvent[] {
    return this.list;
  }
}

/**
 * A transaction's context as the worker's pipeline runs take it (batches, ticks, releases,
 * lapses): its own event log (or `events`, for a caller that emits first) and writes held for
 * its last statement.
 */
export function stageContext(
  trx: Transaction<Database>, now: () => Date, afterCommit: (fn: () => void) => void,
  events = new IncidentEventLog(),
): StageContext {
  return { trx, events, now, afterCommit, later: new LaterWrites() };
}
