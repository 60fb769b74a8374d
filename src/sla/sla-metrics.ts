import { Counter, Histogram, type Registry } from 'prom-client';

export interface SlaMetrics {
  /** Opening to acknowledgement (or to the resolve of one never acknowledged), wall time, by priority `P1`..`P5`. */
  readonly tta: Histogram<'priority'>;
  /** Opening to resolve, wall time, by priority. */
  readonly ttr: Histogram<'priority'>;
  readonly breaches: Counter<'clock' | 'priority'>;
  readonly warnings: Counter<'clock' | 'priority'>;
  readonly escalations: Counter<'policy'>;
  /** The leader's sweep, start to commit. */
  readonly sweepSeconds: Histogram<never>;
}

const MINUTES = [60, 300, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400, 259_200, 604_800];

/**
 * The service-level metrics. Each is counted by the sweep that set the matching flag (once
 * across all processes), after its transaction commits: the histograms observe an incident once,
 * when the sweep first sees its clock stopped (within a minute of the acknowledge or resolve).
 */
export function createSlaMetrics(registry: Registry): SlaMetrics {
  const registers = [registry];
  return {
    tta: new Histogram({
      name: 'quell_incident_tta_seconds',
      help: 'Time to acknowledge incidents (opening to acknowledgement, or to the resolve of one never acknowledged).',
      labelNames: ['priority'], buckets: MINUTES, registers,
    }),
    ttr: new Histogram({
      name: 'quell_incident_ttr_seconds', help: 'Time to resolve incidents (opening to resolve).',
      labelNames: ['priority'], buckets: MINUTES, registers,
    }),
    breaches: new Counter({
      name: 'quell_sla_breaches_total',
      help: 'Service-level clocks that passed their target, by clock (tta, ttr) and priority.',
      labelNames: ['clock', 'priority'], registers,
    }),
    warnings: new Counter({
      name: 'quell_sla_warnings_total', help: 'Service-level clocks that passed their warn_at share of the target.',
      labelNames: ['clock', 'priority'], registers,
    }),
    escalations: new Counter({
      name: 'quell_escalations_total', help: 'Escalation steps taken (a level notified), by policy.',
      labelNames: ['policy'], registers,
    }),
    sweepSeconds: new Histogram({
      name: 'quell_sla_sweep_seconds', help: 'How long the service-level sweep took (in the process that led it).',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers,
    }),
  };
}
