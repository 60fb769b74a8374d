import type { Labels } from '../domain/alert';
import type { RecordedPayload } from './recorded-payload';
import type { RuleTestCase } from './rule-tests-kind';

/** Alertmanager's "no end yet" (Go's zero time), as it sends a firing alert's `endsAt`. */
const NO_END = '0001-01-01T00:00:00Z';

const identity = (labels: Labels): string =>
  JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));

/**
 * A test's input alerts as the Alertmanager webhook payloads that would carry them: one payload
 * per distinct `at`, in the order written. Unset times are filled as Alertmanager would: a
 * firing alert starts at `at`; a resolved one keeps the start of its labels' latest firing
 * input and ends at `at`. Pure.
 */
export function payloadsOf(test: RuleTestCase): RecordedPayload[] {
  const iso = (offsetMs: number): string => new Date(test.startMs + offsetMs).toISOString();
  const started = new Map<string, number>();
  const byTime = new Map<number, { line: number; alerts: unknown[] }>();
  for (const input of [...test.inputs].sort((a, b) => a.atMs - b.atMs)) {
    const key = identity(input.labels);
    const startsAtMs = input.startsAtMs ?? (input.status === 'resolved' ? started.get(key) : undefined) ?? input.atMs;
    if (input.status === 'firing') started.set(key, startsAtMs);
    const entry = byTime.get(input.atMs) ?? { line: input.line, alerts: [] };
    entry.alerts.push({
      status: input.status,
      labels: input.labels,
      annotations: input.annotations,
      startsAt: iso(startsAtMs),
      endsAt: input.status === 'resolved' ? iso(input.endsAtMs ?? input.atMs) : NO_END,
    });
    byTime.set(input.atMs, entry);
  }
  return [...byTime].map(([offsetMs, { line, alerts }]) => ({
    offsetMs,
    line,
    payload: {
      version: '4',
      status: alerts.some((a) => (a as { status: string }).status === 'firing') ? 'firing' : 'resolved',
      receiver: 'quell',
      alerts,
    },
  }));
}
