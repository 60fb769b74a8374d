/**
 * The queue contract every queue of Quell keeps (ingest, runbook...), on BullMQ or the embedded
 * queue: a job is durably stored once `add` resolves, a job id already queued or applied is a
 * no-op, and what the handler throws decides retry, parking or waiting.
 */

/** What travels through a queue: its own data, and an id unique in its queue. */
export interface QueuedJob {
  /** Unique per job in its queue: adding the same id again (a resend, a second relay) changes nothing. */
  readonly id: string;
}

export interface QueueDepth {
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly failed: number;
  /** How long the oldest job waiting has waited, in seconds; 0 when none waits. */
  readonly oldestWaitingSeconds?: number;
}

/** The producer side. */
export interface JobQueue<T extends QueuedJob> {
  readonly kind: 'bullmq' | 'embedded';
  /**
   * Resolves once the job is durably stored. Rejects with {@link QueueUnavailableError} when it
   * was not stored, or {@link QueueOutcomeUnknownError} when it may have been. Adding a job whose
   * id is already queued or applied changes nothing (a resend after an unknown outcome).
   */
  add(job: T): Promise<void>;
  depth(): Promise<QueueDepth>;
  /** Throws with the reason when the queue cannot be trusted to keep jobs. */
  checkReady(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Applies one job. Throwing makes the queue retry it later, unless the error is a
 * {@link PermanentJobError}: then the job is kept as failed, not retried; or a
 * {@link DependencyUnavailableError}: then it waits, its attempts untouched.
 */
export type QueueHandler<T extends QueuedJob> = (job: T) => Promise<void>;

/** The consumer side: worker processes hold one per queue. */
export interface JobConsumer<T extends QueuedJob> {
  start(handler: QueueHandler<T>): void;
  close(): Promise<void>;
}

/** A job that cannot succeed however often it is retried (its data is wrong). */
export class PermanentJobError extends Error {
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentJobError';
  }
}

/**
 * The job cannot be applied now because a server it needs is unreachable (the database is
 * restarting): not the job's fault. The queue puts it back without spending an attempt and
 * pauses before taking jobs again.
 */
export class DependencyUnavailableError extends Error {
  readonly retryable = true;
  constructor(readonly dependency: 'database', reason: string, options?: { cause?: unknown }) {
    super(`${dependency} unavailable: ${reason}`, options);
    this.name = 'DependencyUnavailableError';
  }
}

/**
 * The queue did not take the job, and certainly did not store it: it was never sent (no
 * connection). The sender should retry (HTTP 503).
 */
export class QueueUnavailableError extends Error {
  readonly retryable = true;
  constructor(reason: string, options?: { cause?: unknown }, queue = 'ingest') {
    super(`${queue} queue unavailable: ${reason}`, options);
    this.name = 'QueueUnavailableError';
  }
}

/**
 * The job was sent but the queue did not confirm it in time (Redis paused, connection lost
 * mid-command): it may or may not be stored. No client can know better, so the answer must
 * name `jobId`, and a resend must carry the same id, which makes it a no-op if the first landed.
 */
export class QueueOutcomeUnknownError extends QueueUnavailableError {
  constructor(readonly jobId: string, reason: string, options?: { cause?: unknown }, queue = 'ingest') {
    super(reason, options, queue);
    this.name = 'QueueOutcomeUnknownError';
  }
}
