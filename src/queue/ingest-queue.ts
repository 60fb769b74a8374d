import type { CanonicalAlert } from '../domain/alert';
import type { JobConsumer, JobQueue, QueueHandler } from './job-queue';

export {
  DependencyUnavailableError, PermanentJobError, QueueOutcomeUnknownError, QueueUnavailableError,
  type QueueDepth,
} from './job-queue';

/** One accepted webhook request: all its alerts travel as one job (never one job per alert). */
export interface IngestJob {
  /** Unique per request; a job applied twice (redelivery after a crash) is applied once. */
  readonly id: string;
  readonly connector: string;
  /** When Quell accepted the request (ISO 8601): the start of the receipt -> incident latency. */
  readonly receivedAt: string;
  readonly alerts: readonly CanonicalAlert[];
}

/** The ingest queue's producer side: API processes hold one. */
export type IngestQueue = JobQueue<IngestJob>;
/** The ingest queue's consumer side: worker processes hold one. */
export type IngestConsumer = JobConsumer<IngestJob>;
/** Applies one ingest job (see {@link QueueHandler}). */
export type JobHandler = QueueHandler<IngestJob>;
