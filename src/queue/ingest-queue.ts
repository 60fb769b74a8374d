import type { CanonicalAlert } from '../domain/alert';
import type { JobConsumer, JobQueue, QueueHandler } from './job-queue';

export {
  DependencyUnavailableError, PermanentJobError, QueueOutcomeUnknownError, QueueUnavailableError,
  type QueueDepth,
} from './job-queue';

/**
 * One accepted webhook request: all its alerts travel as one job (never one job per alert).
 * On BullMQ, jobs added in the same turn share one stored entry (an envelope, bullmq-queue.ts);
 * each keeps its id, which the worker records as it applies it.
 */
export interface IngestJob {
  /** Unique per request; a job applied twice (redelivery after a crash) is applied once. */
  readonly id: string;
  readonly connector: string;
  /** When Quell accepted the request (ISO 8601): the start of the receipt -> incident latency. */
  readonly receivedAt: string;
  readonly alerts: readonly CanonicalAlert[];
  /**
   * Alerts the source says were acknowledged (a connector's `acknowledge` hook): the worker
   * acknowledges the open incident of each, after the job's alerts. @defaultValue none
   */
  readonly acknowledgements?: readonly SourceAcknowledgedAlert[];
}

/** A source's word that the alert with this fingerprint was acknowledged, by whom. */
export interface SourceAcknowledgedAlert {
  readonly fingerprint: string;
  readonly by: string;
  readonly comment?: string;
}

/** The ingest queue's producer side: API processes hold one. */
export type IngestQueue = JobQueue<IngestJob>;
/** The ingest queue's consumer side: worker processes hold one. */
export type IngestConsumer = JobConsumer<IngestJob>;
/** Applies one ingest job (see {@link QueueHandler}). */
export type JobHandler = QueueHandler<IngestJob>;
