import { Counter, Histogram, type Registry } from 'prom-client';

export type RunbookMetrics = ReturnType<typeof createRunbookMetrics>;

/** Runs, steps and what automation achieves; owned by the executor (src/runbooks/run-executor.ts). */
export function createRunbookMetrics(registry: Registry) {
  const registers = [registry];
  return {
    /** outcome: succeeded, failed, ineffective, cancelled, rejected, dry_run. */
    runs: new Counter({
      name: 'quell_runbook_runs_total',
      help: 'Runbook runs ended, by runbook and outcome '
        + '(succeeded, failed, ineffective, cancelled, rejected, dry_run).',
      labelNames: ['runbook', 'outcome'] as const,
      registers,
    }),
    stepDuration: new Histogram({
      name: 'quell_runbook_step_duration_seconds',
      help: 'Time a runbook step took (every attempt), by runbook and action.',
      labelNames: ['runbook', 'action'] as const,
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    remediationDuration: new Histogram({
      name: 'quell_remediation_duration_seconds',
      help: 'From an incident opening to its resolution, for incidents a runbook run fixed '
        + '(post-check passed or resolved by the run).',
      buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    }),
    triggerLatency: new Histogram({
      name: 'quell_runbook_trigger_latency_seconds',
      help: 'From a run being recorded (in the incident\'s transaction) to its first step starting.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
      registers,
    }),
  };
}
