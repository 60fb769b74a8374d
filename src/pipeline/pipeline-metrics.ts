import { Counter, Histogram, type Registry } from 'prom-client';
import { SUPPRESSIONS } from '../domain/alert-disposition';

export type PipelineMetrics = ReturnType<typeof createPipelineMetrics>;

/** The worker side's metrics. */
export function createPipelineMetrics(registry: Registry) {
  const registers = [registry];
  const suppressed = new Counter({
    name: 'quell_alerts_suppressed_total',
    help: 'Firing alerts held back (stored, opening no incident), by reason: silenced, maintenance, inhibited.',
    labelNames: ['reason'] as const,
    registers,
  });
  for (const reason of SUPPRESSIONS) suppressed.inc({ reason }, 0);
  return {
    suppressed,
    deduplicated: new Counter({
      name: 'quell_alerts_deduplicated_total', help: 'Alerts that repeated a known state (re-sends).', registers,
    }),
    fingerprintLabelChanges: new Counter({
      name: 'quell_fingerprint_label_changes_total',
      help: 'Firing alerts re-sent firing under their fingerprint with other labels, by source: '
        + 'a fingerprint that may merge different alerts.',
      labelNames: ['source'] as const, registers,
    }),
    stale: new Counter({
      name: 'quell_alerts_stale_total', help: 'Alerts older than the known state (out-of-order delivery), ignored.',
      registers,
    }),
    uncorrelated: new Counter({
      name: 'quell_alerts_uncorrelated_total', help: 'Firing alerts that no correlation rule took.', registers,
    }),
    incidentsCreated: new Counter({
      name: 'quell_incidents_created_total', help: 'Incidents opened.', labelNames: ['rule'] as const, registers,
    }),
    incidentsReopened: new Counter({
      name: 'quell_incidents_reopened_total', help: 'Resolved incidents reopened by their group firing again.',
      labelNames: ['rule'] as const, registers,
    }),
    sourceAcknowledgements: new Counter({
      name: 'quell_source_acknowledgements_total',
      help: 'Acknowledgements sent by sources (PagerDuty acknowledge), by result: acknowledged (its incident), '
        + 'unchanged (already acknowledged or resolved), no_incident.',
      labelNames: ['result'] as const, registers,
    }),
    incidentsResolved: new Counter({
      name: 'quell_incidents_resolved_total', help: 'Incidents resolved.', labelNames: ['by'] as const, registers,
    }),
    processing: new Histogram({
      name: 'quell_alert_processing_seconds',
      help: 'Time from receipt of an alert to its incident decision being committed.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    stage: new Histogram({
      name: 'quell_pipeline_stage_seconds',
      help: 'Time one stage took for one job.',
      labelNames: ['stage'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    jobPhase: new Histogram({
      name: 'quell_ingest_job_phase_seconds',
      help: 'Where an ingest job waits and works: queued (receipt -> taken by this worker), batch_wait (taken -> its '
        + 'transaction starts), then its batch\'s transaction: begin (a connection and BEGIN), stages (the job ids '
        + 'recorded and the pipeline run), commit.',
      labelNames: ['phase'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers,
    }),
    jobs: new Counter({
      name: 'quell_ingest_jobs_total', help: 'Ingest jobs taken by workers, by result.',
      labelNames: ['result'] as const, registers,
    }),
  };
}
