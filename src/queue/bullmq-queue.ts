import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { Queue, UnrecoverableError, Worker, type JobsOptions } from 'bullmq';
import IORedis, { type RedisOptions } from 'ioredis';
import type { IngestJob } from './ingest-queue';
import type { JobConsumer, JobQueue, QueueDepth, QueueHandler, QueuedJob } from './job-queue';
import {
  DependencyUnavailableError, PermanentJobError, QueueOutcomeUnknownError, QueueUnavailableError,
} from './job-queue';
import { NotReadyError } from '../readiness';
import { OutageReporter } from './outage-reporter';
import { itemAt } from '../domain/invariant';

export interface BullmqOptions {
  readonly redisUrl: string;
  /** The BullMQ queue (Redis keys `bull:<name>:*`). @defaultValue quell-ingest */
  readonly queueName?: string;
  /** The kind of job, in BullMQ's job name and in errors. @defaultValue ingest */
  readonly jobName?: string;
}

export interface BullmqWorkerOptions extends BullmqOptions {
  /** Jobs applied at once by this process. @defaultValue 8 */
  readonly concurrency?: number;
  /** How long a job stays locked to a worker that stops answering (ms). @defaultValue 30000 */
  readonly lockDurationMs?: number;
  readonly onError?: (err: Error) => void;
  /** A job attempt failed; `final` when it will not be retried (it stays in the failed set). */
  readonly onFailed?: (jobId: string, err: Error, final: boolean) => void;
  /** The worker takes no jobs for `ms` because a dependency is unreachable; once per pause. */
  readonly onPause?: (err: DependencyUnavailableError, ms: number) => void;
  /** A job was applied again after one or more pauses. */
  readonly onResume?: (dependency: DependencyUnavailableError['dependency']) => void;
  /** Redis cannot be reached: the 1st, 2nd, 4th... failed attempt, with the count (see OutageReporter). */
  readonly onConnectionError?: (err: Error, failures: number) => void;
  /** Redis answers again after `failures` failed attempts. */
  readonly onReconnected?: (failures: number) => void;
}

/**
 * Jobs added together may travel as one BullMQ job (an envelope, {@link Envelope}): one Redis
 * entry to store, fetch, lock and complete instead of one each, and one transaction on the
 * worker's side. Only for jobs whose handler is idempotent per job (the ingest queue: each job's
 * id is recorded as it is applied), since a retried envelope hands every job to it again.
 */
export interface CoalesceOptions<T> {
  /** A job's size (the ingest queue: its alerts). */
  readonly weight: (job: T) => number;
  /** Most total weight in one envelope; a job heavier than this travels alone. */
  readonly maxWeight: number;
}

/** Several jobs stored as one BullMQ job; its consumer hands each to the handler. */
export interface Envelope<T> {
  readonly envelope: readonly T[];
}

/** `envelope-` and a digest of its jobs' ids: the same jobs sent again are the same envelope (a no-op). */
function envelopeId(jobs: readonly QueuedJob[]): string {
  const hash = createHash('sha256');
  for (const id of jobs.map((j) => j.id).sort()) hash.update(id).update('\0');
  return `envelope-${hash.digest('hex').slice(0, 32)}`;
}

/** The jobs a stored BullMQ job's data carries: itself, or its envelope's. */
export function jobsOf<T>(data: T | Envelope<T>): readonly T[] {
  return isEnvelope(data) ? data.envelope : [data];
}

function isEnvelope<T>(data: T | Envelope<T>): data is Envelope<T> {
  return typeof data === 'object' && data !== null && Array.isArray((data as Partial<Envelope<T>>).envelope);
}

/** Longest a consumer's close waits for its jobs in hand when Redis is unreachable (they cannot be acknowledged). */
const CLOSE_WITHOUT_REDIS_MS = 2000;

const JOB_OPTIONS: JobsOptions = {
  // A job fails only on operational errors (database down): retry for about an hour, then
  // keep it in the failed set, never drop it.
  attempts: 12,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { count: 1000 },
  removeOnFail: false,
};

export const DEFAULT_QUEUE_NAME = 'quell-ingest';

/** The runbook queue's name beside an ingest queue named `ingestName` (quell-ingest -> quell-runbook). */
export function runbookQueueName(ingestName: string = DEFAULT_QUEUE_NAME): string {
  return siblingQueueName(ingestName, 'runbook');
}

/** The notification queue's BullMQ name beside the ingest queue's (`quell-ingest` -> `quell-notify`). */
export function notifyQueueName(ingestName: string = DEFAULT_QUEUE_NAME): string {
  return siblingQueueName(ingestName, 'notify');
}

function siblingQueueName(ingestName: string, kind: string): string {
  return ingestName.endsWith('-ingest') ? `${ingestName.slice(0, -'-ingest'.length)}-${kind}` : `${ingestName}-${kind}`;
}

/** Longest an ingest request waits on Redis before answering 503. */
const ADD_TIMEOUT_MS = 900;

/** Most jobs sent to Redis in one pipeline (one write, one round trip). */
const MAX_JOBS_PER_WRITE = 256;

interface Adding<T> {
  readonly job: T;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * BullMQ on Redis, any queue. The producer fails fast: no offline queue, 1 s per command.
 *
 * Jobs added in the same turn of the event loop (concurrent ingest requests) go to Redis
 * together, in one pipeline: one socket write and one round trip instead of one per job, each
 * job still its own BullMQ job with its own id. Each `add` resolves only when Redis has
 * answered for the pipeline that carried its job (stored); if the pipeline fails or times out,
 * every job of it is "outcome unknown" (QueueOutcomeUnknownError naming the job): some may be
 * stored, and a resend with the same id is a no-op.
 */
export class BullmqQueue<T extends QueuedJob> implements JobQueue<T> {
  readonly kind = 'bullmq';
  private readonly redis: IORedis;
  private readonly queue: Queue;
  private readonly jobName: string;
  private lastError?: Error;
  private adding: Adding<T>[] = [];
  private flushing = false;

  constructor(opts: BullmqOptions, private readonly coalesce?: CoalesceOptions<T>) {
    this.jobName = opts.jobName ?? 'ingest';
    const redisOpts: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 1000,
      connectTimeout: 1000,
      // ioredis waits this long for a dead socket to close on disconnect (default 2 s).
      disconnectTimeout: 200,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    };
    this.redis = new IORedis(opts.redisUrl, redisOpts);
    // Surfaced per command as QueueUnavailableError, and by checkReady with the last error.
    this.redis.on('error', (err: Error) => { this.lastError = err; });
    this.redis.on('ready', () => { this.lastError = undefined; });
    this.queue = new Queue(opts.queueName ?? DEFAULT_QUEUE_NAME, { connection: this.redis });
    this.queue.on('error', () => { /* same */ });
  }

  async add(job: T): Promise<void> {
    // BullMQ waits for a connection before sending; answer at once instead, so the sender retries.
    if (this.redis.status !== 'ready') {
      throw new QueueUnavailableError(`redis connection is ${this.redis.status}`, undefined, this.jobName);
    }
    await new Promise<void>((resolve, reject) => {
      this.adding.push({ job, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        // After the I/O callbacks of this turn: the requests read in it add their jobs first.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushing = false;
    while (this.adding.length > 0) void this.addTogether(this.adding.splice(0, MAX_JOBS_PER_WRITE));
  }

  private async addTogether(batch: readonly Adding<T>[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from redis within ${ADD_TIMEOUT_MS} ms`)), ADD_TIMEOUT_MS);
    });
    try {
      // BullMQ's addJob ignores an id that is already in the queue: a resend is a no-op.
      await Promise.race([
        this.queue.addBulk(this.bulkOf(batch).map((jobs) => {
          const first = itemAt(jobs, 0, 'jobs of an envelope');
          // One job alone keeps its own shape and id. An envelope's id is its jobs': never one
          // job's, which BullMQ would take for that job already stored (a resend) and drop the rest.
          if (jobs.length === 1) return { name: this.jobName, data: first, opts: { ...JOB_OPTIONS, jobId: first.id } };
          const envelope: Envelope<T> = { envelope: jobs };
          return { name: this.jobName, data: envelope, opts: { ...JOB_OPTIONS, jobId: envelopeId(jobs) } };
        })),
        timeout,
      ]);
      for (const a of batch) a.resolve();
    } catch (err) {
      // The commands were written to Redis: whether they ran is unknown (they may land after we give up).
      for (const a of batch) a.reject(new QueueOutcomeUnknownError(a.job.id, (err as Error).message, { cause: err },
        this.jobName));
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The BullMQ jobs that carry `batch`: each job its own, or, when coalescing, consecutive jobs
   * in envelopes of at most `maxWeight`. A resend of a job already stored under another
   * envelope is stored again, and applied once (the handler's idempotency, see CoalesceOptions).
   */
  private bulkOf(batch: readonly Adding<T>[]): T[][] {
    if (this.coalesce === undefined) return batch.map((a) => [a.job]);
    const { weight, maxWeight } = this.coalesce;
    const out: T[][] = [];
    let current: T[] = [];
    let total = 0;
    for (const { job } of batch) {
      const w = weight(job);
      if (current.length > 0 && total + w > maxWeight) {
        out.push(current);
        current = [];
        total = 0;
      }
      current.push(job);
      total += w;
    }
    if (current.length > 0) out.push(current);
    return out;
  }

  async depth(): Promise<QueueDepth> {
    const [c, oldest] = await Promise.all([
      this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized'), this.oldestWaitingSince(),
    ]);
    return {
      waiting: (c['waiting'] ?? 0) + (c['prioritized'] ?? 0),
      active: c['active'] ?? 0,
      delayed: c['delayed'] ?? 0,
      failed: c['failed'] ?? 0,
      oldestWaitingSeconds: oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000),
    };
  }

  /**
   * When the oldest waiting job was added (ms): BullMQ pushes jobs on the wait list's left and takes them from
   * its right.
   */
  private async oldestWaitingSince(): Promise<number | undefined> {
    const id = await this.redis.lindex(this.queue.toKey('wait'), -1);
    if (id === null) return undefined;
    const timestamp = await this.redis.hget(this.queue.toKey(id), 'timestamp');
    return timestamp === null ? undefined : Number(timestamp);
  }

  async checkReady(): Promise<void> {
    await this.connected();
    const info = await this.redis.info('memory');
    const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
    if (policy !== 'noeviction') {
      throw new NotReadyError(
        `redis maxmemory-policy is ${policy ?? 'unknown'}, not noeviction: Redis may evict queued jobs`);
    }
  }

  /** Resolves once connected (waiting up to CONNECT_WAIT_MS for a connection under way); else why not. */
  private async connected(): Promise<void> {
    if (this.redis.status === 'ready') return;
    if (this.redis.status === 'connecting' || this.redis.status === 'connect') {
      const stop = new AbortController();
      const { signal } = stop;
      const ready = await Promise.race([
        once(this.redis, 'ready', { signal }).then(() => true, () => false),
        once(this.redis, 'error', { signal }).then(() => false, () => false),
        delay(CONNECT_WAIT_MS, undefined, { signal }).then(() => false, () => false),
      ]);
      stop.abort();
      if (ready) return;
    }
    throw new QueueUnavailableError(
      this.lastError?.message ?? `connection ${this.redis.status}`, undefined, this.jobName,
    );
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.redis.disconnect();
  }
}

/** How long checkReady waits for a connection being made. */
const CONNECT_WAIT_MS = 1000;

/** Pauses while a dependency stays unreachable: the first this long, each next one twice as long... */
const FIRST_PAUSE_MS = 1000;
/** ...up to this, so that the worker notices soon that the dependency is back. */
const LONGEST_PAUSE_MS = 10_000;

/** Most alerts in one envelope of the ingest queue. */
const MAX_ALERTS_PER_ENVELOPE = 1000;

/**
 * The ingest queue on BullMQ (quell-ingest unless `queueName` says otherwise). Requests answered
 * in the same turn travel in one envelope (up to MAX_ALERTS_PER_ENVELOPE alerts): under load,
 * many one-alert requests cost Redis and the worker one job, not one each.
 */
export class BullmqIngestQueue extends BullmqQueue<IngestJob> {
  constructor(opts: BullmqOptions) {
    super(opts, {
      weight: (job) => job.alerts.length + (job.acknowledgements?.length ?? 0),
      maxWeight: MAX_ALERTS_PER_ENVELOPE,
    });
  }
}

/**
 * A BullMQ worker. Jobs of a worker that dies are handed to another after `lockDurationMs`.
 * While the database is unreachable, a job that fails for it goes back to waiting without
 * spending an attempt (BullMQ's manual rate limit), and the worker takes no job for a pause
 * that doubles while the database stays down; a job applied ends the outage.
 */
export class BullmqConsumer<T extends QueuedJob> implements JobConsumer<T> {
  private worker?: Worker;
  private readonly redis: IORedis;
  private pausedUntil = 0;
  private nextPauseMs = FIRST_PAUSE_MS;
  private dependencyDown?: DependencyUnavailableError;

  private readonly outage: OutageReporter;

  constructor(private readonly opts: BullmqWorkerOptions) {
    this.redis = new IORedis(opts.redisUrl, { maxRetriesPerRequest: null });
    this.outage = new OutageReporter((err, n) => opts.onConnectionError?.(err, n), (n) => opts.onReconnected?.(n));
    this.redis.on('error', (err: Error) => this.outage.failed(err));
    this.redis.on('ready', () => this.outage.recovered());
  }

  start(handler: QueueHandler<T>): void {
    const lockDuration = this.opts.lockDurationMs ?? 30_000;
    this.worker = new Worker<T | Envelope<T>>(
      this.opts.queueName ?? DEFAULT_QUEUE_NAME,
      async (job) => {
        try {
          await handleEach(handler, job.data);
        } catch (err) {
          // BullMQ's way of saying "do not retry": the job goes straight to the failed set.
          if (err instanceof PermanentJobError) throw new UnrecoverableError(err.message);
          if (err instanceof DependencyUnavailableError) {
            await this.pause(err);
            // BullMQ's way of saying "not now": back to waiting, attempts untouched.
            throw Worker.RateLimitError();
          }
          throw err;
        }
        if (this.dependencyDown !== undefined) {
          this.opts.onResume?.(this.dependencyDown.dependency);
          this.dependencyDown = undefined;
          this.nextPauseMs = FIRST_PAUSE_MS;
        }
      },
      {
        connection: this.redis,
        concurrency: this.opts.concurrency ?? 8,
        lockDuration,
        stalledInterval: Math.max(1000, Math.floor(lockDuration / 2)),
        // A crash is not the job's fault: never fail a job for having stalled.
        maxStalledCount: 1000,
      },
    );
    // Connection errors (of the worker's own connections too) while Redis is down are counted, not each logged.
    this.worker.on('error', (err) => {
      if (this.redis.status === 'ready') this.opts.onError?.(err);
      else this.outage.failed(err);
    });
    this.worker.on('failed', (job, err) => {
      if (job === undefined) return;
      const final = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
      this.opts.onFailed?.(job.id ?? '?', err, final);
    });
  }

  /** One pause for all the jobs in hand that fail together; the next failure after it doubles it. */
  private async pause(err: DependencyUnavailableError): Promise<void> {
    const now = Date.now();
    if (now < this.pausedUntil) return;
    const ms = this.nextPauseMs;
    this.nextPauseMs = Math.min(ms * 2, LONGEST_PAUSE_MS);
    this.pausedUntil = now + ms;
    this.dependencyDown = err;
    this.opts.onPause?.(err, ms);
    // The limit lives in Redis; BullMQ reads its time left as it puts each job back. If Redis
    // is gone as well, the jobs' locks expire and BullMQ hands them out again.
    if (this.worker) await rateLimit(this.opts.queueName ?? DEFAULT_QUEUE_NAME, this.redis, ms).catch(() => undefined);
  }

  /**
   * Finishes the jobs in hand and stops. With Redis unreachable their results cannot be recorded:
   * it waits at most CLOSE_WITHOUT_REDIS_MS, then lets go; their locks expire and another worker
   * takes them (the pipeline applies a job twice harmlessly).
   */
  async close(): Promise<void> {
    const worker = this.worker;
    if (worker !== undefined) {
      if (this.redis.status === 'ready') await worker.close();
      else {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          worker.close(), new Promise<void>((r) => { timer = setTimeout(r, CLOSE_WITHOUT_REDIS_MS); }),
        ]);
        clearTimeout(timer);
        void worker.close(true).catch(() => undefined);
      }
    }
    this.redis.disconnect();
  }
}

/**
 * Hands a BullMQ job's data to the handler: a job, or each job of an envelope, all at once (so
 * that a handler that commits in groups applies them together). The envelope succeeds when
 * every job did; else it fails with the error that says most about a retry: a dependency
 * that is down (retry them all later), any other error (retry), and only when every failure is
 * permanent, permanent (the jobs applied before are not applied again: see CoalesceOptions).
 */
async function handleEach<T extends QueuedJob>(handler: QueueHandler<T>, data: T | Envelope<T>): Promise<void> {
  if (!isEnvelope(data)) {
    await handler(data);
    return;
  }
  const failures = (await Promise.allSettled(data.envelope.map((j) => handler(j))))
    .flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length === 0) return;
  throw failures.find((e) => e instanceof DependencyUnavailableError)
    ?? failures.find((e) => !(e instanceof PermanentJobError)) ?? failures[0];
}

/** The ingest queue's BullMQ worker. */
export class BullmqIngestConsumer extends BullmqConsumer<IngestJob> {}

/**
 * Takes no jobs of queue `name` for `ms`, across workers: BullMQ's Queue.rateLimit (its
 * Worker.rateLimit is deprecated; both set the queue's limiter key), on the worker's connection.
 */
async function rateLimit(name: string, connection: IORedis, ms: number): Promise<void> {
  const queue = new Queue(name, { connection });
  queue.on('error', () => { /* the limit is not set: the jobs' locks expire instead */ });
  try {
    await queue.rateLimit(ms);
  } finally {
    await queue.close();
  }
}
