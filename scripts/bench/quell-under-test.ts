/**
 * Quell as the scenarios run it: `quell api` + N `quell worker` on a fresh database and queue
 * (see prepareQuell), a database connection for the figures, and the waits and measures the
 * scenarios share (alerts linked, receipt -> incident, queue drained, RSS per process).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { itemAt } from '../../src/domain/invariant';
import { CLI, REPO } from '../../test/support/quell-process';
import {
  bounded, commonSettings, httpGet, onCleanup, prepareQuell, say, sleep, stageBreakdown, startProcess,
  STARTUP_TIMEOUT_MS, waitReady,
  type PreparedQuell, type Proc, type StageTime,
} from './bench-kit';

export type Settings = ReturnType<typeof commonSettings>;

export interface RunningQuell {
  readonly prepared: PreparedQuell;
  readonly api: Proc;
  readonly workers: Proc[];
  readonly db: Client;
  /** POST target of the Alertmanager webhook connector. */
  readonly ingest: { port: number; path: string; headers: Record<string, string> };
  /** Processes' exit codes on SIGTERM. */
  stop(): Promise<{ name: string; exit: number | string; warnings: number; sample: string[] }[]>;
}

export interface StartOptions {
  /** Node options of the api process (e.g. `--cpu-prof`). */
  readonly apiNodeArgs?: string[];
  /** Node options of the worker processes (e.g. `--cpu-prof`). */
  readonly workerNodeArgs?: (i: number) => string[];
  /** Extra environment of every process. */
  readonly env?: Record<string, string>;
}

/** Starts the api and the workers and waits until each is ready. */
export async function startQuell(S: Settings, tmp: string, o: StartOptions = {}): Promise<RunningQuell> {
  const prepared = await prepareQuell({
    adminUrl: S.adminUrl, redisUrl: S.redisUrl, workers: S.workers, concurrency: S.concurrency,
    dbPoolSize: S.dbPoolSize, rulesDir: join(REPO, 'rules'), tmp,
  });
  const { apiPort, metricsPorts, env } = prepared;
  const api = startProcess('quell api', process.execPath, [...(o.apiNodeArgs ?? []), CLI, 'api'], env(o.env ?? {}));
  const workers = metricsPorts.map((port, i) => startProcess(`quell worker ${i + 1}`, process.execPath,
    [...(o.workerNodeArgs?.(i) ?? []), CLI, 'worker'], env({ ...o.env, QUELL_METRICS_PORT: String(port) })));
  await waitReady(`http://127.0.0.1:${apiPort}/readyz`, api, STARTUP_TIMEOUT_MS);
  await Promise.all(workers.map((w, i) => waitReady(`http://127.0.0.1:${metricsPorts[i]}/readyz`, w, STARTUP_TIMEOUT_MS)));
  say(`quell: api on :${apiPort}, ${S.workers} workers x ${S.concurrency} ready`);

  const db = new Client({ connectionString: prepared.dbUrl.toString(), connectionTimeoutMillis: 5000 });
  await db.connect();
  onCleanup('close the bench database connection', () => db.end());
  const procs = [api, ...workers];
  return {
    prepared, api, workers, db,
    ingest: { port: apiPort, path: '/ingest/alertmanager', headers: { authorization: `Bearer ${prepared.token}` } },
    async stop() {
      const exits = await Promise.all(procs.map((p) => p.stop()));
      return procs.map((p, i) => ({ name: p.name, exit: itemAt(exits, i, 'process exit'), warnings: p.problemCount,
        sample: p.problems.slice(0, 10) }));
    },
  };
}

export async function linkedCount(db: Client): Promise<number> {
  const { rows } = await bounded(db.query<{ n: number }>('select count(*)::int as n from incident_alerts'), 30_000,
    'count incident_alerts');
  return itemAt(rows, 0, 'count row').n;
}

/** Waiting + active + delayed jobs, and failed ones. */
export async function queuePending(q: PreparedQuell): Promise<{ pending: number; failed: number }> {
  const c = await bounded(q.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized'), 5000,
    'queue counts');
  return { pending: (c['waiting'] ?? 0) + (c['prioritized'] ?? 0) + (c['active'] ?? 0) + (c['delayed'] ?? 0),
    failed: c['failed'] ?? 0 };
}

/**
 * Waits until `target` alerts are linked to incidents, saying the rate every 2 s; fails when
 * the queue is drained with alerts missing, or after `timeoutS`.
 */
export async function waitLinked(q: RunningQuell, target: number, timeoutS: number): Promise<number> {
  const deadline = performance.now() + timeoutS * 1000;
  let lastPrint = performance.now(), printedAt = -1, drainedSince = 0;
  for (;;) {
    const linked = await linkedCount(q.db);
    if (linked >= target) return linked;
    const now = performance.now();
    if (printedAt < 0) { printedAt = linked; lastPrint = now; }
    if (now - lastPrint >= 2000) {
      const c = await queuePending(q.prepared);
      const rate = Math.round((linked - printedAt) / ((now - lastPrint) / 1000));
      say(`  linked ${linked}/${target} (${rate} alerts/s); queue pending ${c.pending}, failed ${c.failed}`);
      lastPrint = now;
      printedAt = linked;
      if (c.pending === 0) {
        drainedSince ||= now;
        if (now - drainedSince > 10_000) {
          throw new Error(`the queue is drained (failed jobs: ${c.failed})`
            + ` but only ${linked}/${target} alerts are linked`);
        }
      } else {
        drainedSince = 0;
      }
    }
    if (now > deadline) throw new Error(`only ${linked}/${target} alerts linked after ${timeoutS} s`);
    await sleep(100);
  }
}

/** Waits until the queue has nothing waiting, active or delayed. */
export async function waitDrained(q: RunningQuell, timeoutS: number): Promise<void> {
  const deadline = performance.now() + timeoutS * 1000;
  let lastPrint = performance.now();
  for (;;) {
    const c = await queuePending(q.prepared);
    if (c.pending === 0) return;
    if (performance.now() - lastPrint >= 2000) {
      say(`  queue pending ${c.pending}, failed ${c.failed}`); lastPrint = performance.now();
    }
    if (performance.now() > deadline) throw new Error(`queue not drained after ${timeoutS} s (${c.pending} pending)`);
    await sleep(50);
  }
}

export interface Percentiles { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number }

/**
 * received_at (the API's clock, when it accepted the request) -> linked_at (the worker's
 * clock_timestamp() as it linked the alert, inside the transaction: its commit comes after),
 * over the alerts linked since `since`; the last linked_at.
 */
export async function receiptToIncident(db: Client,
  since?: Date): Promise<{ ms: Percentiles; lastLinked: Date; n: number }> {
  const row = (await db.query<{ p: number[] | null; mx: number; last_linked: Date; n: number }>(`
    select percentile_cont(array[0.5, 0.9, 0.99])
             within group (order by extract(epoch from linked_at - received_at)::float8) as p,
           max(extract(epoch from linked_at - received_at))::float8 as mx, max(linked_at) as last_linked,
           count(*)::int as n
      from incident_alerts where received_at >= $1`, [since ?? new Date(0)])).rows[0];
  if (row === undefined) throw new Error('receipt-to-incident: no row');
  const p = row.p ?? [NaN, NaN, NaN];
  const ms = { p50: itemAt(p, 0, 'p50') * 1000, p90: itemAt(p, 1, 'p90') * 1000, p99: itemAt(p, 2, 'p99') * 1000 };
  return { ms: { ...ms, max: row.mx * 1000 }, lastLinked: row.last_linked, n: row.n };
}

/**
 * The workers' quell_alert_processing_seconds (receipt -> decision committed, after the
 * commit), summed over the workers, as quantiles read off the histogram's buckets (so: "at
 * most this bucket's bound").
 */
export async function processingQuantiles(
  ports: readonly number[],
): Promise<{ le50: number; le90: number; le99: number; n: number }> {
  const buckets = new Map<number, number>();
  for (const port of ports) {
    const body = (await httpGet(`http://127.0.0.1:${port}/metrics`, 5000).catch(() => ({ body: '' }))).body;
    for (const m of body.matchAll(/^quell_alert_processing_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm)) {
      const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
      buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
    }
  }
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const n = sorted.at(-1)?.[1] ?? 0;
  const q = (f: number): number => (sorted.find(([, c]) => c >= f * n)?.[0] ?? NaN) * 1000;
  return { le50: q(0.5), le90: q(0.9), le99: q(0.99), n };
}

/** Resident set size of a process (MB), from /proc; NaN where that is not readable. */
export function rssMb(pid: number | undefined): number {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? NaN : Number(kb) / 1024;
  } catch {
    return NaN;
  }
}

/** Per phase of an ingest job (queued, batch_wait, transaction): runs, mean ms, total s. */
export type PhaseTime = StageTime;

/** The workers' quell_ingest_job_phase_seconds, added up (see stageBreakdown). */
export function jobPhases(ports: readonly number[]): Promise<PhaseTime[]> {
  return stageBreakdown(ports, 'quell_ingest_job_phase_seconds', 'phase');
}

/**
 * Samples what the database's sessions of the run are doing every `everyMs` (pg_stat_activity):
 * `active: CPU` (running), `active: Lock/advisory` (waiting on another transaction),
 * `active: IO/WALSync` (fsync at commit), `idle in transaction: Client/ClientRead` (waiting
 * for the worker's next statement: round trips, the worker's own work). Idle sessions are not
 * counted. Returns a stop function giving the share of samples per state.
 */
export function sampleDbWaits(db: Client, everyMs = 20): () => Promise<Record<string, number>> {
  const tally = new Map<string, number>();
  let samples = 0, running = true;
  const loop = (async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- the stop function clears it
    while (running) {
      const rows = (await db.query<{ state: string; wait: string | null }>(`
        select state, wait_event_type || '/' || wait_event as wait from pg_stat_activity
         where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle'`)).rows;
      samples++;
      for (const r of rows) {
        const key = `${r.state}: ${r.wait ?? 'CPU'}`;
        tally.set(key, (tally.get(key) ?? 0) + 1);
      }
      await sleep(everyMs);
    }
  })();
  return async () => {
    running = false;
    await loop;
    // Sessions in that state on average (a sample counts each session once).
    return Object.fromEntries([...tally].sort((a, b) => b[1] - a[1]).map(([k, n]) => [k,
      Math.round((n / Math.max(1, samples)) * 100) / 100]));
  };
}

/**
 * The slowest quarter-seconds of receipt -> incident since `since` (by receipt time): their
 * offset from `since` (s), alerts and the worst latency (ms). Shows whether the tail is
 * periodic (a timer) or spread (load).
 */
export async function slowestWindows(db: Client, since: Date,
  top = 8): Promise<{ atS: number; alerts: number; maxMs: number }[]> {
  const rows = (await db.query<{ w: number; n: number; mx: number }>(`
    select floor(extract(epoch from received_at - $1::timestamptz) * 4)::int as w, count(*)::int as n,
           max(extract(epoch from linked_at - received_at))::float8 * 1000 as mx
      from incident_alerts where received_at >= $1 group by 1 order by mx desc limit $2`, [since, top])).rows;
  return rows.map((r) => ({ atS: r.w / 4, alerts: r.n, maxMs: Math.round(r.mx) }));
}
