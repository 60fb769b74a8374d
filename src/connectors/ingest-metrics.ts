import { Counter, Histogram, type Registry } from 'prom-client';

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

/** The ingest edge's metrics. */
export function createIngestMetrics(registry: Registry) {
  const registers = [registry];
  return {
    received: new Counter({
      name: 'quell_alerts_received_total', help: 'Alerts accepted and queued, by connector and alert status.',
      labelNames: ['connector', 'status'] as const, registers,
    }),
    acknowledgements: new Counter({
      name: 'quell_ingest_acknowledgements_total',
      help: 'Source acknowledgements of alerts accepted and queued (PagerDuty acknowledge), by connector.',
      labelNames: ['connector'] as const, registers,
    }),
    truncated: new Counter({
      name: 'quell_alerts_truncated_total',
      help: 'Alerts a source said it left out of its payloads (they never reached Quell).',
      labelNames: ['connector'] as const, registers,
    }),
    requests: new Counter({
      name: 'quell_ingest_requests_total', help: 'Ingest requests answered, by connector and HTTP code.',
      labelNames: ['connector', 'code'] as const, registers,
    }),
    duration: new Histogram({
      name: 'quell_ingest_request_duration_seconds',
      help: 'Time to validate and durably queue one ingest request.',
      labelNames: ['connector'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
  };
}
