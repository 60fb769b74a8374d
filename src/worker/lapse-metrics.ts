import { Counter, Histogram, type Registry } from 'prom-client';

export type LapseMetrics = ReturnType<typeof createLapseMetrics>;

/** Resolves Quell decides on its own side: expiry and reconciliation (src/worker/lapsed-alerts.ts). */
export function createLapseMetrics(registry: Registry) {
  const registers = [registry];
  return {
    lapsed: new Counter({
      name: 'quell_alerts_lapsed_total',
      help: 'Firing alerts Quell resolved with no resolve from their source, by source and by '
        + '(expiry, reconciliation).',
      labelNames: ['source', 'by'] as const, registers,
    }),
    polls: new Counter({
      name: 'quell_reconcile_polls_total',
      help: 'Reconciliation polls of a source, by connector and result (ok, error, skipped: another process ran it).',
      labelNames: ['connector', 'result'] as const, registers,
    }),
    pollDuration: new Histogram({
      name: 'quell_reconcile_poll_seconds',
      help: 'Time to ask a source what it still fires.',
      labelNames: ['connector'] as const, buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers,
    }),
  };
}
