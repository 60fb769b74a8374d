import { performance } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import {
  DependencyUnavailableError, PermanentJobError, type IngestJob, type JobHandler,
} from '../queue/ingest-queue';
import { expectDefined, itemAt } from '../domain/invariant';
import type { Database } from '../store/database';
import { isConflict, isConnectionError, isDataError } from '../store/pg-errors';
import { startJobBatch } from '../store/job-batch-store';
import type { PipelineMetrics } from '../pipeline/pipeline-metrics';
import { runPipeline } from '../pipeline/pipeline';
import { firstRows } from '../pipeline/stages/dedup';
import { stageContext, type Stage, type StagedAlert } from '../pipeline/stage';

export type JobsApplier = (jobs: readonly IngestJob[]) => Promise<void>;

/**
 * Applies jobs through the stages in one transaction. Their ids are recorded in the same
 * transaction, so a job delivered again after a crash changes nothing (nor one whose commit
 * was cut off before its answer came). Throws {@link DependencyUnavailableError} when the
 * database cannot be reached, {@link PermanentJobError} when it rejects the job's data, and
 * other operational errors as they are (the queue retries later).
 */
export function createJobsApplier(
  db: Kysely<Database>, stages: readonly Stage[], metrics: PipelineMetrics, clock: () => Date = () => new Date(),
): JobsApplier {
  return async (given) => {
    const jobs = [...new Map(given.map((j) => [j.id, j])).values()];
    for (let attempt = 1; ; attempt++) {
      const effects: (() => void)[] = [];
      const t0 = performance.now();
      let began = t0, staged = t0;
      try {
        await db.transaction().execute(async (trx) => {
          began = performance.now();
          // One statement records the jobs, reads what the first stages would (StageContext), and
          // stores the alerts that are new (dedup's firstRows, over the jobs in the order applied).
          const ordered = [...jobs].sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
          const started = await startJobBatch(trx, jobs.map((j) => ({
            id: j.id, fingerprints: j.alerts.map((a) => a.fingerprint),
          })), firstRows(receivedAlerts(ordered)));
          const applied = ordered.filter((j) => started.fresh.has(j.id));
          const redelivered = jobs.length - applied.length;
          if (redelivered > 0) effects.push(() => metrics.jobs.inc({ result: 'redelivered' }, redelivered));
          if (applied.length === 0) return;
          const alerts = receivedAlerts(applied);
          const acknowledgements = applied.flatMap((job) => job.acknowledgements ?? []);
          const { silencesVersion, alertStates } = started;
          const afterCommit = (fn: () => void) => effects.push(fn);
          const ctx = { ...stageContext(trx, clock, afterCommit), acknowledgements, silencesVersion, alertStates };
          await runPipeline(stages, alerts, ctx, metrics);
          staged = performance.now();
          effects.push(() => {
            metrics.jobs.inc({ result: 'applied' }, applied.length);
            const now = Date.now();
            for (const job of applied) {
              const seconds = Math.max(0, (now - Date.parse(job.receivedAt)) / 1000);
              for (let i = 0; i < job.alerts.length; i++) metrics.processing.observe(seconds);
            }
          });
        });
        const committed = performance.now();
        if (staged > began) {
          const phases = [['begin', began - t0], ['stages', staged - began], ['commit', committed - staged]] as const;
          for (const [phase, ms] of phases) {
            for (let i = 0; i < jobs.length; i++) metrics.jobPhase.observe({ phase }, ms / 1000);
          }
        }
        for (const fn of effects) fn();
        return;
      } catch (err) {
        if (isConflict(err) && attempt < 5) continue;
        if (isConnectionError(err)) {
          throw new DependencyUnavailableError('database', (err as Error).message, { cause: err });
        }
        // Values the database never takes fail the job at once; anything else is retried later.
        if (isDataError(err)) {
          throw new PermanentJobError(`job data rejected by the database: ${(err as Error).message}`, { cause: err });
        }
        throw err;
      }
    }
  };
}

/**
 * Runs the stages with no alerts, in a transaction of its own: stages that act on the passing
 * of time (a flapping alert settles once quiet for its window) do so on a quiet system too.
 * Every worker runs it periodically (see runtime.ts); tests call it with their clock.
 */
export function createPipelineTick(
  db: Kysely<Database>, stages: readonly Stage[], clock: () => Date = () => new Date(),
): () => Promise<void> {
  return async () => {
    const effects: (() => void)[] = [];
    const afterCommit = (fn: () => void) => effects.push(fn);
    await db.transaction().execute((trx) => runPipeline(stages, [], stageContext(trx, clock, afterCommit)));
    for (const fn of effects) fn();
  };
}

/** The jobs' alerts, in the jobs' order, as the pipeline takes them. */
const receivedAlerts = (jobs: readonly IngestJob[]): StagedAlert[] =>
  jobs.flatMap((job) => job.alerts.map((alert) => ({ alert, receivedAt: job.receivedAt })));


export interface BatchingOptions {
  /** Transactions this process runs at once. @defaultValue 2 */
  readonly transactions?: number;
  /** Most alerts in one transaction. @defaultValue 5000 */
  readonly maxAlerts?: number;
  /**
   * Another transaction starts only while those in flight hold fewer alerts than this: small
   * batches overlap (a job need not wait for the one before it), big ones do not (a storm's
   * batches touch the same groups, and the second would wait on the first's locks anyway; the
   * jobs arriving meanwhile go together in the next). @defaultValue 500
   */
  readonly overlapBelowAlerts?: number;
  /** The stages' clock (tests pass their own). @defaultValue the system clock */
  readonly clock?: () => Date;
}

interface Waiting {
  readonly job: IngestJob;
  /** When this worker took it (performance.now()). */
  readonly takenAt: number;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * The queue's handler, with group commit: while `transactions` batches are being applied,
 * newly arriving jobs wait and then go together in the next one. Under light load a job is
 * applied alone at once; under a storm, hundreds of alerts share each transaction. A batch
 * that fails is applied again job by job, so one bad job fails only itself; but when the
 * database is unreachable, every job of the batch waits at once.
 */
export function createJobProcessor(
  db: Kysely<Database>, stages: readonly Stage[], metrics: PipelineMetrics, opts: BatchingOptions = {},
): JobHandler {
  const apply = createJobsApplier(db, stages, metrics, opts.clock);
  const limit = opts.transactions ?? 2;
  const maxAlerts = opts.maxAlerts ?? 5000;
  const overlapBelow = opts.overlapBelowAlerts ?? 500;
  const waiting: Waiting[] = [];
  let inFlight = 0;
  let alertsInFlight = 0;

  const fail = (jobs: readonly Waiting[], err: unknown): void => {
    metrics.jobs.inc({ result: 'error' }, jobs.length);
    for (const w of jobs) w.reject(err);
  };

  const settle = async (batch: Waiting[]): Promise<void> => {
    const started = performance.now();
    for (const w of batch) metrics.jobPhase.observe({ phase: 'batch_wait' }, (started - w.takenAt) / 1000);
    try {
      await apply(batch.map((w) => w.job));
      for (const w of batch) w.resolve();
      return;
    } catch (err) {
      if (batch.length === 1 || err instanceof DependencyUnavailableError) {
        fail(batch, err);
        return;
      }
    }
    for (const [i, w] of batch.entries()) {
      try {
        await apply([w.job]);
        w.resolve();
      } catch (err) {
        if (err instanceof DependencyUnavailableError) {
          fail(batch.slice(i), err);
          return;
        }
        fail([w], err);
      }
    }
  };

  const pump = (): void => {
    while (inFlight < limit && waiting.length > 0 && (inFlight === 0 || alertsInFlight < overlapBelow)) {
      const first = expectDefined(waiting.shift(), 'a waiting job');
      const batch: Waiting[] = [first];
      let alerts = first.job.alerts.length;
      while (waiting.length > 0) {
        const next = itemAt(waiting, 0, 'waiting jobs');
        if (alerts + next.job.alerts.length > maxAlerts) break;
        waiting.shift();
        alerts += next.job.alerts.length;
        batch.push(next);
      }
      inFlight++;
      alertsInFlight += alerts;
      void settle(batch).finally(() => { inFlight--; alertsInFlight -= alerts; pump(); });
    }
  };

  // Jobs handed over in the same synchronous run (an envelope's, see bullmq-queue.ts) wait for
  // one pump, so that they are applied together rather than the first ones alone.
  let pumpQueued = false;
  const pumpSoon = (): void => {
    if (pumpQueued) return;
    pumpQueued = true;
    queueMicrotask(() => { pumpQueued = false; pump(); });
  };

  return (job) => new Promise<void>((resolve, reject) => {
    metrics.jobPhase.observe({ phase: 'queued' }, Math.max(0, Date.now() - Date.parse(job.receivedAt)) / 1000);
    waiting.push({ job, takenAt: performance.now(), resolve, reject });
    pumpSoon();
  });
}
