/** Builds Alertmanager webhook (version 4) payloads for tests and benchmarks. */
export interface TestAlert {
  readonly labels: Record<string, string>;
  readonly status?: 'firing' | 'resolved';
  readonly startsAt?: string;
  readonly endsAt?: string;
}

export function webhookPayload(alerts: readonly TestAlert[]): Record<string, unknown> {
  const status = alerts.some((a) => (a.status ?? 'firing') === 'firing') ? 'firing' : 'resolved';
  return {
    version: '4',
    status,
    receiver: 'quell',
    groupKey: '{}:{}',
    truncatedAlerts: 0,
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.test:9093',
    alerts: alerts.map((a) => ({
      status: a.status ?? 'firing',
      labels: a.labels,
      annotations: { summary: `test alert ${a.labels['alertname'] ?? ''}` },
      startsAt: a.startsAt ?? '2026-11-20T10:00:00Z',
      endsAt: a.endsAt ?? '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.test:9090/graph',
    })),
  };
}
