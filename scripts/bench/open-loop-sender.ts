/**
 * An open-loop paced sender: request i leaves at its time on the schedule (alerts before it /
 * rate), whether or not earlier requests have been answered, as a fleet of independent
 * sources would send. Latency counts from the scheduled time, so a target that falls behind
 * shows it (no coordinated omission); `behind` counts requests sent late because `maxInFlight`
 * were outstanding.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { itemAt } from '../../src/domain/invariant';
import { percentile, say, sleep } from './bench-kit';
import type { Percentiles } from './quell-under-test';

export interface PacedResult {
  readonly requests: number;
  readonly okRequests: number;
  readonly okAlerts: number;
  readonly unexpected: Record<string, number>;
  readonly unexpectedSample: string[];
  readonly errors: number;
  /** Requests sent more than 10 ms after their time (the in-flight cap was reached). */
  readonly behind: number;
  /** Alerts accepted per second over the schedule's wall time. */
  readonly acceptedPerSecond: number;
  /** From the scheduled send to the answer. */
  readonly latencyMs: Percentiles;
  readonly wallMs: number;
}

export interface PacedTarget { readonly port: number; readonly path: string; readonly headers: Record<string, string> }

export async function runPaced(
  label: string, target: PacedTarget, body: (i: number) => Buffer, sizes: readonly number[], expect: number,
  o: { alertsPerSecond: number; maxInFlight?: number },
): Promise<PacedResult> {
  const maxInFlight = o.maxInFlight ?? 512;
  const agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight, maxFreeSockets: maxInFlight });
  const latencies = new Float64Array(sizes.length);
  const unexpected: Record<string, number> = {};
  const unexpectedSample: string[] = [];
  let okRequests = 0, okAlerts = 0, errors = 0, done = 0, inFlight = 0, behind = 0;
  let wake: (() => void) | undefined;
  const t0 = performance.now();
  const finished = (i: number, scheduled: number): void => {
    latencies[i] = performance.now() - scheduled;
    done++;
    inFlight--;
    wake?.();
  };
  const send = (i: number, scheduled: number): void => {
    const b = body(i);
    inFlight++;
    const req = http.request({
      host: '127.0.0.1', port: target.port, path: target.path, method: 'POST', agent,
      headers: { ...target.headers, 'content-type': 'application/json', 'content-length': b.length },
    }, (r) => {
      const status = r.statusCode ?? 0;
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => { if (status !== expect && text.length < 300) text += c; });
      r.on('end', () => {
        if (status === expect) { okRequests++; okAlerts += itemAt(sizes, i, 'request size'); } else {
          unexpected[status] = (unexpected[status] ?? 0) + 1;
          if (unexpectedSample.length < 5) unexpectedSample.push(`${status} ${text}`);
        }
        finished(i, scheduled);
      });
      r.on('error', () => { errors++; finished(i, scheduled); });
    });
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', () => { errors++; finished(i, scheduled); });
    req.end(b);
  };
  const progress = setInterval(() => {
    const s = (performance.now() - t0) / 1000;
    say(`  ${label}: ${done}/${sizes.length} requests answered, ${Math.round(okAlerts / s)} alerts/s accepted,`
      + ` ${inFlight} in flight${behind > 0 ? `, ${behind} sent late` : ''}`);
  }, 2000);
  try {
    let before = 0;
    for (let i = 0; i < sizes.length; i++) {
      const scheduled = t0 + (before / o.alertsPerSecond) * 1000;
      before += itemAt(sizes, i, 'request size');
      const wait = scheduled - performance.now();
      if (wait > 1) await sleep(wait);
      while (inFlight >= maxInFlight) await new Promise<void>((r) => { wake = r; });
      if (performance.now() - scheduled > 10) behind++;
      send(i, scheduled);
    }
    while (done < sizes.length) await new Promise<void>((r) => { wake = r; });
  } finally {
    clearInterval(progress);
    agent.destroy();
  }
  const wallMs = performance.now() - t0;
  const sorted = latencies.slice().sort();
  return {
    requests: sizes.length, okRequests, okAlerts, unexpected, unexpectedSample, errors, behind, wallMs,
    acceptedPerSecond: okAlerts / (wallMs / 1000),
    latencyMs: { p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), p99: percentile(sorted, 0.99),
      max: sorted[sorted.length - 1] ?? NaN },
  };
}
