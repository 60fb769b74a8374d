import { EventEmitter } from 'node:events';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/database';
import type { IngestJob } from './ingest-queue';
import type { JobConsumer, JobQueue, QueueDepth, QueueHandler, QueuedJob } from './job-queue';
import { PermanentJobError, QueueUnavailableError } from './job-queue';

export interface EmbeddedQueueOptions<T extends QueuedJob = IngestJob> {
  /** Which queue of `queue_jobs` (its `queue` column). @defaultValue ingest */
  readonly queue?: string;
  /** How often to look for jobs when not woken by `add` (ms). @defaultValue 1000 */
  readonly pollMs?: number;
  readonly onError?: (err: Error, job: T) => void;
}

/**
 * The in-process queue of the embedded mode, behind the same interfaces as BullMQ. Jobs are
 * rows of `queue_jobs` (one table, a `queue` column per queue; ids unique per queue),
 * committed before `add` resolves, so an accepted job survives a crash; one consumer per
 * queue applies them in order and deletes each after it is applied.
 */
export class EmbeddedQueue<T extends QueuedJob = IngestJob> implements JobQueue<T>, JobConsumer<T> {
  readonly kind = 'embedded';
  private readonly queue: string;
  private readonly wake = new EventEmitter();
  private running = false;
  private inFlight = false;
  private loop?: Promise<void>;

  constructor(private readonly db: Kysely<Database>, private readonly opts: EmbeddedQueueOptions<T> = {}) {
    this.queue = opts.queue ?? 'ingest';
  }

  async add(job: T): Promise<void> {
    try {
      // A job id seen before (an Idempotency-Key resent) is queued or being applied: a no-op.
      await this.db.insertInto('queue_jobs').values({ queue: this.queue, id: job.id, payload: JSON.stringify(job) })
        .onConflict((oc) => oc.columns(['queue', 'id']).doNothing()).execute();
    } catch (err) {
      throw new QueueUnavailableError((err as Error).message, { cause: err }, this.queue);
    }
    this.wake.emit('job');
  }

  async depth(): Promise<QueueDepth> {
    const row = await this.db.selectFrom('queue_jobs').where('queue', '=', this.queue)
      .select([
        sql<number>`count(*) filter (where available_at <= now())::int`.as('waiting'),
        sql<number>`count(*) filter (where available_at > now() and available_at < 'infinity')::int`.as('delayed'),
        sql<number>`count(*) filter (where available_at = 'infinity')::int`.as('failed'),
        sql<number | string>`coalesce(extract(epoch from now() - min(enqueued_at)
          filter (where available_at <= now())), 0)::float8`.as('oldest'),
      ])
      .executeTakeFirstOrThrow();
    const active = this.inFlight ? 1 : 0;
    return {
      waiting: Math.max(0, row.waiting - active), active, delayed: row.delayed, failed: row.failed,
      oldestWaitingSeconds: Math.max(0, Number(row.oldest)),
    };
  }

  async checkReady(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  start(handler: QueueHandler<T>): void {
    this.running = true;
    this.loop = this.run(handler);
  }

  private async run(handler: QueueHandler<T>): Promise<void> {
    while (this.running) {
      const row = await this.db.selectFrom('queue_jobs').select(['id', 'payload', 'attempts'])
        .where('queue', '=', this.queue).where('available_at', '<=', sql<Date>`now()`)
        .orderBy('enqueued_at').orderBy('id').limit(1)
        .executeTakeFirst()
        .catch(() => undefined);
      if (row === undefined) {
        await this.idle();
        continue;
      }
      const job = row.payload as T;
      this.inFlight = true;
      try {
        await handler(job);
        await this.db.deleteFrom('queue_jobs').where('queue', '=', this.queue).where('id', '=', row.id).execute();
      } catch (err) {
        this.opts.onError?.(err as Error, job);
        // A permanent failure is parked (never available again) and counted as failed.
        const delaySeconds = Math.min(2 ** row.attempts, 300);
        const availableAt = err instanceof PermanentJobError
          ? sql<Date>`'infinity'::timestamptz` : sql<Date>`now() + make_interval(secs => ${delaySeconds})`;
        await this.db.updateTable('queue_jobs').where('queue', '=', this.queue).where('id', '=', row.id)
          .set({ attempts: sql`attempts + 1`, available_at: availableAt, last_error: (err as Error).message })
          .execute()
          .catch(() => undefined);
      } finally {
        this.inFlight = false;
      }
    }
  }

  private idle(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer); this.wake.off('job', done); this.wake.off('stop', done); resolve();
      };
      const timer = setTimeout(done, this.opts.pollMs ?? 1000);
      this.wake.once('job', done);
      this.wake.once('stop', done);
    });
  }

  async close(): Promise<void> {
    this.running = false;
    this.wake.emit('stop');
    await this.loop;
  }
}
