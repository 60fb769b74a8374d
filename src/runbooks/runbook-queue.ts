import type { QueueHandler } from '../queue/job-queue';
import type { RunExecutor } from './run-executor-port';

/** The outbox's and the embedded queue's name of the runbook queue (BullMQ: `runbookQueueName`). */
export const RUNBOOK_QUEUE = 'runbook';

/** One run to execute; its id (`run-<runId>`) is also its outbox row's job id. */
export interface RunbookJob {
  readonly id: string;
  readonly runId: number;
}

export function runbookJob(runId: number): RunbookJob {
  return { id: `run-${runId}`, runId };
}

/** The runbook queue's handler: the executor does the rest (claims the run, or finds it taken). */
export function runbookJobHandler(executor: RunExecutor): QueueHandler<RunbookJob> {
  return (job) => executor.execute(job.runId);
}
