import type { Kysely } from 'kysely';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../log';
import type { JobQueue, QueuedJob } from '../queue/job-queue';
import type { Database } from '../store/database';
import { markRelayed, unrelayedOutbox, type RecordedOutbox } from './outbox-store';

/** The queues outbox rows go to, by their `queue` column. */
export type OutboxQueues = Readonly<Record<string, JobQueue<QueuedJob>>>;

export interface OutboxRelayOptions {
  readonly log?: Logger;
  readonly registry?: Registry;
  /** A row unrelayed this long is the sweeper's (its process died, or its queue was down). @defaultValue 5000 */
  readonly sweepAfterMs?: number;
  /** Rows per sweep. @defaultValue 500 */
  readonly sweepBatch?: number;
}

/** The sweeper's period in every worker. */
export const SWEEP_INTERVAL_MS = 2000;

/**
 * Hands outbox rows to their queues: right after the deciding transaction commits (`relay`),
 * and, for rows left behind by a process killed between commit and hand-over or by a queue that
 * was down, from the periodic sweep of every worker. The queue job's id is the row's job id, so
 * a row handed over twice (two sweepers, a sweep racing a slow relay) is one job; the consumer
 * of a job that was already consumed and removed must still treat it as done (a runbook run is
 * claimed by its status).
 */
export class OutboxRelay {
  private readonly relayed?: Counter<'queue' | 'via'>;
  private readonly failures?: Counter<'queue'>;

  constructor(
    private readonly db: Kysely<Database>, private readonly queues: OutboxQueues,
    private readonly opts: OutboxRelayOptions = {},
  ) {
    if (opts.registry) {
      this.relayed = new Counter({
        name: 'quell_outbox_relayed_total', help: 'Outbox rows handed to their queue, after commit or by the sweeper',
        labelNames: ['queue', 'via'], registers: [opts.registry],
      });
      this.failures = new Counter({
        name: 'quell_outbox_relay_failures_total',
        help: 'Outbox rows that could not be handed to their queue (the sweeper tries again)',
        labelNames: ['queue'], registers: [opts.registry],
      });
    }
  }

  /** After commit: hands `rows` over. Never throws: what fails stays for the sweeper. */
  async relay(rows: readonly RecordedOutbox[]): Promise<void> {
    if (rows.length === 0) return;
    crashPointForTests();
    await this.handOver(rows, 'commit');
  }

  /** For `afterCommit`: starts the relay and returns (its failures are the sweeper's). */
  relayLater(rows: readonly RecordedOutbox[]): void {
    if (rows.length > 0) void this.relay(rows);
  }

  /** Hands over rows left unrelayed; returns how many it handed over. */
  async sweep(): Promise<number> {
    const rows = await unrelayedOutbox(this.db, this.opts.sweepAfterMs ?? 5000, this.opts.sweepBatch ?? 500);
    if (rows.length === 0) return 0;
    const done = await this.handOver(rows, 'sweep');
    if (done > 0) this.opts.log?.info({ relayed: done }, 'outbox: handed over jobs left unrelayed');
    return done;
  }

  private async handOver(rows: readonly RecordedOutbox[], via: 'commit' | 'sweep'): Promise<number> {
    const done: string[] = [];
    await Promise.all(rows.map(async (row) => {
      const queue = this.queues[row.queue];
      try {
        if (queue === undefined) throw new Error(`no queue ${row.queue} in this process`);
        await queue.add(row.job);
        done.push(row.id);
        this.relayed?.inc({ queue: row.queue, via });
      } catch (err) {
        this.failures?.inc({ queue: row.queue });
        this.opts.log?.warn({ err: (err as Error).message, queue: row.queue, job: row.job.id },
          'outbox: job not handed over; the sweeper will');
      }
    }));
    try {
      await markRelayed(this.db, done);
    } catch (err) {
      // Handed over but not marked: the sweeper hands them over again, a no-op by job id.
      this.opts.log?.warn({ err: (err as Error).message }, 'outbox: could not mark jobs relayed');
    }
    return done.length;
  }

  /** Sweeps every `intervalMs` (never two at once) until stopped; failures are logged once until a sweep succeeds. */
  schedule(intervalMs = SWEEP_INTERVAL_MS): { stop(): Promise<void> } {
    let running: Promise<void> | undefined;
    let failing = false;
    const timer = setInterval(() => {
      if (running !== undefined) return;
      running = this.sweep().then(() => { failing = false; }, (err: unknown) => {
        if (!failing) this.opts.log?.warn({ err: (err as Error).message }, 'outbox sweep failed; will try again');
        failing = true;
      }).finally(() => { running = undefined; });
    }, intervalMs);
    timer.unref();
    return { stop: async () => { clearInterval(timer); await running; } };
  }
}

/**
 * Tests only (QUELL_TEST_CRASH_AFTER_COMMIT=1 with NODE_ENV=test): the process dies at once,
 * after its transaction committed and before its outbox rows are handed over.
 */
function crashPointForTests(): void {
  if (process.env['QUELL_TEST_CRASH_AFTER_COMMIT'] === '1' && process.env['NODE_ENV'] === 'test') {
    process.kill(process.pid, 'SIGKILL');
  }
}
