import { webhookPayload } from '../support/alertmanager-payload';

export interface StormOptions {
  readonly base: string;
  readonly token: string;
  readonly alerts: number;
  readonly perRequest: number;
  readonly clients: number;
  /** Alerts per second the senders pace themselves to. */
  readonly rate: number;
}

export interface StormResult {
  /** Distinct alerts in the storm. */
  readonly sent: number;
  /** Alerts whose request got a 202 (at last). */
  readonly accepted: number;
  /** Alerts whose request got a 4xx: refused for good. */
  readonly refused: number;
  readonly requests: number;
  /** 503 answers, and those of them naming a job that may have been queued. */
  readonly unavailable: number;
  readonly uncertain: number;
  /** Other failures: 5xx but 503, or no answer at all. */
  readonly errors: number;
}

/**
 * Sends a storm as Alertmanager would: each request's alerts are distinct (their own
 * `instance`), and a request that is not accepted is sent again, same body, until a 202, the
 * way Alertmanager retries a webhook. `onAccepted` reports progress, so a scenario can strike
 * mid-storm.
 */
export async function sendStorm(opts: StormOptions, onAccepted?: (accepted: number) => void): Promise<StormResult> {
  const requests = Math.ceil(opts.alerts / opts.perRequest);
  const bodyOf = (r: number): { body: string; count: number } => {
    const alerts = [];
    for (let i = r * opts.perRequest; i < Math.min(opts.alerts, (r + 1) * opts.perRequest); i++) {
      alerts.push({
        labels: { alertname: `Fault${i % 10}`, cluster: `c${i % 3}`, service: `svc-${i % 40}`, instance: `host-${i}` },
      });
    }
    return { body: JSON.stringify(webhookPayload(alerts)), count: alerts.length };
  };
  const stats = { sent: opts.alerts, accepted: 0, refused: 0, requests: 0, unavailable: 0, uncertain: 0, errors: 0 };
  const started = Date.now();
  let next = 0;
  const client = async (): Promise<void> => {
    for (let r = next++; r < requests; r = next++) {
      const due = started + (r * opts.perRequest * 1000) / opts.rate;
      if (due > Date.now()) await sleep(due - Date.now());
      const { body, count } = bodyOf(r);
      for (let attempt = 0; ; attempt++) {
        stats.requests++;
        const status = await post(opts, body);
        if (status.code === 202) { stats.accepted += count; onAccepted?.(stats.accepted); break; }
        if (status.code >= 400 && status.code < 500) { stats.refused += count; break; }
        if (status.code === 503) { stats.unavailable++; if (status.uncertain) stats.uncertain++; } else stats.errors++;
        await sleep(Math.min(100 * 2 ** attempt, 1000));
      }
    }
  };
  await Promise.all(Array.from({ length: opts.clients }, client));
  return stats;
}

async function post(opts: StormOptions, body: string): Promise<{ code: number; uncertain: boolean }> {
  try {
    const res = await fetch(`${opts.base}/ingest/alertmanager`, {
      method: 'POST', body, signal: AbortSignal.timeout(30_000),
      headers: { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' },
    });
    const json = (await res.json().catch(() => ({}))) as { error?: { job_id?: string } };
    return { code: res.status, uncertain: json.error?.job_id !== undefined };
  } catch {
    return { code: 0, uncertain: false };
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
