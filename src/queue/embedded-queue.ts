import { EventEmitter } from 'node:events';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/database';
import type { IngestConsumer, IngestJob, IngestQueue, JobHandler, QueueDepth } from './ingest-queue';
import { PermanentJobError, QueueUnavailableError } from './ingest-queue';

export interface EmbeddedQueueOptions {
  /** How often to look for jobs when not woken by `add` (ms). @defaultValue 1000 */
  readonly pollMs?: number;
  readonly onError?: (err: Error, job: IngestJob) => void;
}

/**
 * The in-process queue of the embedded mode, behind the same interfaces as BullMQ. Jobs are
 * rows of `queue_jobs`, committed before `add` resolves, so an accepted request survives a
 * crash; one consumer applies them in order and deletes each after it is applied.
 */
export class EmbeddedQueue implements IngestQueue, IngestConsumer {
  readonly kind = 'embedded';
  private readonly wake = new EventEmitter();
  private running = false;
  private inFlight = false;
  private loop?: Promise<void>;

  constructor(private readonly db: Kysely<Database>, private readonly opts: EmbeddedQueueOptions = {}) {}

  async add(job: IngestJob): Promise<void> {
    try {
      // A job id seen before (an Idempotency-Key resent) is already queued or applied: a no-op.
      await this.db.insertInto('queue_jobs').values({ id: job.id, payload: JSON.stringify(job) })
        .onConflict((oc) => oc.column('id').doNothing()).execute();
    } catch (err) {
      throw new QueueUnavailableError((err as Error).message, { cause: err });
    }
    this.wake.emit('job');
  }

  async depth(): Promise<QueueDepth> {
    const row = await this.db.selectFrom('queue_jobs')
      .select([
        sql<number>`count(*) filter (where available_at <= now())::int`.as('waiting'),
        sql<number>`count(*) filter (where available_at > now() and available_at < 'infinity')::int`.as('delayed'),
        sql<number>`count(*) filter (where available_at = 'infinity')::int`.as('failed'),
      ])
      .executeTakeFirstOrThrow();
    const active = this.inFlight ? 1 : 0;
    return { waiting: Math.max(0, row.waiting - active), active, delayed: row.delayed, failed: row.failed };
  }

  async checkReady(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  start(handler: JobHandler): void {
    this.running = true;
    this.loop = this.run(handler);
  }

  private async run(handler: JobHandler): Promise<void> {
    while (this.running) {
      const row = await this.db.selectFrom('queue_jobs').select(['id', 'payload', 'attempts'])
        .where('available_at', '<=', sql<Date>`now()`).orderBy('enqueued_at').orderBy('id').limit(1)
        .executeTakeFirst()
        .catch(() => undefined);
      if (row === undefined) {
        await this.idle();
        continue;
      }
      const job = row.payload as IngestJob;
      this.inFlight = true;
      try {
        await handler(job);
        await this.db.deleteFrom('queue_jobs').where('id', '=', row.id).execute();
      } catch (err) {
        this.opts.onError?.(err as Error, job);
        // A permanent failure is parked (never available again) and counted as failed.
        const delaySeconds = Math.min(2 ** row.attempts, 300);
        const availableAt = err instanceof PermanentJobError ? sql<Date>`'infinity'::timestamptz` : sql<Date>`now() + make_interval(secs => ${delaySeconds})`;
        await this.db.updateTable('queue_jobs').where('id', '=', row.id)
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
      const done = (): void => { clearTimeout(timer); this.wake.off('job', done); this.wake.off('stop', done); resolve(); };
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
