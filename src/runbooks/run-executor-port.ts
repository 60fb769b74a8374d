/**
 * What the runbook queue's consumer calls for each job (src/runbooks/runbook-queue.ts). The
 * implementation (src/runbooks/run-executor.ts, `createRunExecutor`) claims the run by its
 * status, so a redelivered job, or one handed over twice by the outbox, runs nothing twice.
 * Resolves when the job is done with (run finished, or parked awaiting approval); throws for
 * an operational error (the queue retries the job).
 */
export interface RunExecutor {
  execute(runId: number): Promise<void>;
}
