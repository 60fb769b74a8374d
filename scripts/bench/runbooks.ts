/**
 * Runbook benchmark (issue 6, part 11): `quell api` + N `quell worker` on Redis and PostgreSQL,
 * with the shipped correlation rules and two no-op runbooks.
 *
 *   npm run bench -- runbooks
 *
 * 1. Trigger latency during a storm: a storm of BENCH_ALERTS alerts paced at BENCH_RATE
 *    alerts/s runs through the webhook while BENCH_PROBES probe alerts (each its own group, so
 *    its own incident) arrive spread over the same time; each probe incident triggers the
 *    `bench-probe` runbook once (a step `action: incident` with a comment). Measured per run:
 *    run created (runbook_runs.created_at, the incident transaction's time) -> first step
 *    started (runbook_steps.started_at); also from the outbox row's time, and the workers'
 *    own quell_runbook_trigger_latency_seconds histogram (incident commit -> first step).
 *    Goal: p99 <= 25 ms.
 * 2. No-op runs per second: after the storm drained, BENCH_RUNS alerts of distinct groups at
 *    once, each triggering `bench-noop`; runs finished / (last finished - first created).
 *
 * Environment (all optional): BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_BATCH (64),
 * BENCH_CLIENTS (32), BENCH_WORKERS (2), BENCH_CONCURRENCY (32), BENCH_DB_POOL_SIZE,
 * BENCH_TIMEOUT_S (600), BENCH_SEED (1), BENCH_OUT (JSON results) as in the storm scenario, and
 *   BENCH_ALERTS        alerts in the storm                      100000
 *   BENCH_RATE          the storm's pace, alerts/s               10000
 *   BENCH_PROBES        probe incidents during the storm         500
 *   BENCH_RUNS          no-op runs for the runs/s phase          2000
 *
 * It fails at once, saying so, when this build has no runbooks (the rules do not load), and
 * when runs are not created or do not finish (nothing progresses for 30 s).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { itemAt } from '../../src/domain/invariant';
import { webhookPayload, type TestAlert } from '../../test/support/alertmanager-payload';
import { CLI, REPO } from '../../test/support/quell-process';
import {
  bounded, buildStorm, httpGet, intEnv, onCleanup, prepareQuell, runStorm, say, sleep, startProcess, STARTUP_TIMEOUT_MS,
  waitReady, type StormResult,
  commonSettings,
} from './bench-kit';

const S = {
  ...commonSettings(),
  rate: intEnv('BENCH_RATE', 10_000),
  probes: intEnv('BENCH_PROBES', 500),
  runs: intEnv('BENCH_RUNS', 2000),
  seed: intEnv('BENCH_SEED', 1, 0),
};

const PROBE = 'bench-probe';
const NOOP = 'bench-noop';
/** A phase with no new finished run for this long has stalled. */
const STALL_MS = 30_000;

/** No-op runbooks: one step that writes a comment on the incident (Quell's own record). */
const RUNBOOKS = `apiVersion: quell/v1
kind: Runbooks
runbooks:
${[[PROBE, 'BenchProbe'], [NOOP, 'BenchNoop']].map(([name, alertname]) => `  - name: ${name}
    description: benchmark no-op
    triggers:
      - event: opened
    matchers: ['alertname="${alertname}"']
    approval: none
    concurrency: 100
    breaker: { failures: 100 }
    steps:
      - name: noop
        action: incident
        with: { comment: 'bench {{ incident.id }}' }
`).join('')}`;

/** `n` alerts named `alertname`, each of its own group (default rule: alertname, cluster, service). */
function singleGroupAlerts(alertname: string, n: number, startsAt: string): TestAlert[] {
  return Array.from({ length: n }, (_, i) => ({
    labels: {
      alertname, cluster: 'bench', service: `${alertname.toLowerCase()}-${i}`,
      instance: `${alertname.toLowerCase()}-${i}:9100`, severity: 'warning',
    },
    startsAt,
  }));
}

function bodiesOf(alerts: TestAlert[], perRequest: number): { bodies: Buffer[]; sizes: number[] } {
  const bodies: Buffer[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < alerts.length; i += perRequest) {
    const part = alerts.slice(i, i + perRequest);
    bodies.push(Buffer.from(JSON.stringify(webhookPayload(part))));
    sizes.push(part.length);
  }
  return { bodies, sizes };
}

interface Quantiles { readonly n: number; readonly p50: number; readonly p99: number; readonly max: number }

/** p50 / p99 / max (ms) of a histogram's cumulative buckets, interpolated linearly within a bucket. */
function histogramQuantiles(buckets: Map<number, number>): Quantiles {
  const sorted = [...buckets].sort(([a], [b]) => a - b);
  const total = buckets.get(Infinity) ?? 0;
  const q = (p: number): number => {
    if (total === 0) return NaN;
    const rank = p * total;
    let prevLe = 0, prevCount = 0;
    for (const [le, c] of sorted) {
      if (c >= rank) {
        if (le === Infinity) return prevLe * 1000;
        return (prevLe + ((rank - prevCount) / Math.max(1, c - prevCount)) * (le - prevLe)) * 1000;
      }
      prevLe = le; prevCount = c;
    }
    return NaN;
  };
  return { n: total, p50: q(0.5), p99: q(0.99), max: NaN };
}

/** quell_runbook_trigger_latency_seconds summed over the workers' /metrics (undefined: no such metric). */
async function triggerLatencyMetric(ports: readonly number[]): Promise<Quantiles | undefined> {
  const buckets = new Map<number, number>();
  for (const port of ports) {
    const { body } = await httpGet(`http://127.0.0.1:${port}/metrics`, 5000);
    for (const line of body.split('\n')) {
      const m = /^quell_runbook_trigger_latency_seconds_bucket\{(?:.*,)?le="([^"]+)"(?:,.*)?\} ([0-9.e+-]+)$/.exec(line);
      if (m === null) continue;
      const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
      buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
    }
  }
  return buckets.size === 0 ? undefined : histogramQuantiles(buckets);
}

export async function main(): Promise<number> {
  const tmp = mkdtempSync(join(tmpdir(), 'quell-bench-rb-'));
  onCleanup(`remove ${tmp}`, () => { rmSync(tmp, { recursive: true, force: true }); });

  // The shipped correlation rules, and the runbooks; they must load in this build.
  const rulesDir = join(tmp, 'rules');
  mkdirSync(rulesDir);
  copyFileSync(join(REPO, 'rules', 'default.yaml'), join(rulesDir, 'default.yaml'));
  writeFileSync(join(rulesDir, '90-bench-runbooks.yaml'), RUNBOOKS);
  try {
    await promisify(execFile)(process.execPath, [CLI, 'rules', 'lint', rulesDir]);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error('runbooks are not available in this build (the bench\'s Runbooks document does not load):\n'
      + `${e.stdout ?? ''}${e.stderr ?? e.message}`, { cause: err });
  }

  const startsAt = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  const storm = buildStorm(S.alerts, S.batch, S.seed, startsAt);
  const probes = bodiesOf(singleGroupAlerts('BenchProbe', S.probes, startsAt), 1);
  const noops = bodiesOf(singleGroupAlerts('BenchNoop', S.runs, startsAt), S.batch);
  const stormSeconds = S.alerts / S.rate;
  const header = `runbooks: storm of ${S.alerts} alerts at ${S.rate}/s (${stormSeconds.toFixed(1)} s), `
    + `${S.probes} probe runs during it, ${S.runs} no-op runs after, ${S.workers} workers x ${S.concurrency}`;
  say(header);

  const quell = await prepareQuell({
    adminUrl: S.adminUrl, redisUrl: S.redisUrl, workers: S.workers, concurrency: S.concurrency,
    dbPoolSize: S.dbPoolSize, rulesDir, tmp,
  });
  const api = startProcess('quell api', process.execPath, [CLI, 'api'], quell.env({}));
  await waitReady(`http://127.0.0.1:${quell.apiPort}/readyz`, api, STARTUP_TIMEOUT_MS);
  const workers = quell.metricsPorts.map((port, i) =>
    startProcess(`quell worker ${i + 1}`, process.execPath, [CLI, 'worker'],
      quell.env({ QUELL_METRICS_PORT: String(port) })));
  await Promise.all(workers.map((w, i) => waitReady(`http://127.0.0.1:${quell.metricsPorts[i]}/readyz`, w, STARTUP_TIMEOUT_MS)));
  say(`quell: api on :${quell.apiPort}, ${S.workers} workers ready`);

  const db = new Client({ connectionString: quell.dbUrl.toString(), connectionTimeoutMillis: 5000 });
  await db.connect();
  onCleanup('close the bench database connection', () => db.end());

  const target = {
    port: quell.apiPort, path: '/ingest/alertmanager', headers: { authorization: `Bearer ${quell.token}` },
  };
  const timeoutMs = S.timeoutS * 1000;

  /** Waits until `runbook` has `n` runs in a final status; fails when nothing moves for STALL_MS. */
  const finished = async (runbook: string, n: number): Promise<void> => {
    let last = -1, movedAt = performance.now();
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const { rows } = await db.query<{ status: string; n: number }>(
        'select status, count(*)::int as n from runbook_runs where runbook = $1 group by status', [runbook]);
      const by = Object.fromEntries(rows.map((r) => [r.status, r.n]));
      const final = ['succeeded', 'failed', 'ineffective', 'cancelled', 'rejected'];
      const done = rows.filter((r) => final.includes(r.status)).reduce((a, r) => a + r.n, 0);
      if (done >= n) return;
      const now = performance.now();
      if (done !== last) { last = done; movedAt = now; }
      if (now - movedAt > STALL_MS || now > deadline) {
        const incidents = itemAt(
          (await db.query<{ n: number }>('select count(*)::int as n from incidents')).rows, 0, 'count').n;
        const still = Math.round((now - movedAt) / 1000);
        throw new Error(`${runbook}: ${done}/${n} runs finished, nothing moved for ${still} s; `
          + `runs by status ${JSON.stringify(by)}; ${incidents} incidents `
          + '(no runs at all: are runbook triggers and the runbook worker wired?)');
      }
      await sleep(250);
    }
  };

  // 1. The storm and the probes together.
  say(`phase 1: storm at ${S.rate} alerts/s with ${S.probes} probe incidents spread over it`);
  const [stormResult, probeResult] = await Promise.all([
    runStorm('storm', target, storm.quellBodies, storm.sizes, S.clients, 202, timeoutMs, { alertsPerSecond: S.rate }),
    runStorm('probes', target, probes.bodies, probes.sizes, 4, 202, timeoutMs,
      { alertsPerSecond: S.probes / stormSeconds }),
  ]);
  say(`storm: ${stormResult.okAlerts} alerts accepted at ${Math.round(stormResult.acceptedPerSecond)}/s; `
    + 'waiting for the probe runs');
  await finished(PROBE, probeResult.okAlerts);

  const latency = async (from: string, join: string): Promise<Quantiles> => {
    const row = itemAt((await db.query<{ n: number; p: number[] | null; mx: number | null }>(`
      with firsts as (
        select r.id, ${from} as t0, min(s.started_at) as t1
          from runbook_runs r join runbook_steps s on s.run_id = r.id ${join}
         where r.runbook = $1 and s.started_at is not null group by r.id, ${from})
      select count(*)::int as n,
             percentile_cont(array[0.5, 0.99]) within group (order by extract(epoch from t1 - t0)::float8) as p,
             max(extract(epoch from t1 - t0))::float8 as mx
        from firsts`, [PROBE])).rows, 0, 'latency row');
    return { n: row.n, p50: (row.p?.[0] ?? NaN) * 1000, p99: (row.p?.[1] ?? NaN) * 1000, max: (row.mx ?? NaN) * 1000 };
  };
  const fromRun = await latency('r.created_at', '');
  const fromOutbox = await latency('o.created_at',
    `join outbox o on o.queue = 'runbook' and o.job_id = 'run-' || r.id`);
  const fromMetric = await triggerLatencyMetric(quell.metricsPorts);

  // Let the storm's backlog drain, so the no-op phase measures runs, not the storm.
  say('waiting for the storm to drain');
  const drainDeadline = performance.now() + timeoutMs;
  for (;;) {
    const c = await bounded(
      quell.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized'), 5000, 'queue counts');
    if (Object.values(c).every((n) => n === 0)) break;
    if (performance.now() > drainDeadline) throw new Error(`the ingest queue did not drain: ${JSON.stringify(c)}`);
    await sleep(500);
  }

  // 2. No-op runs per second.
  say(`phase 2: ${S.runs} incidents at once, each running ${NOOP}`);
  const t0 = Date.now();
  const noopResult = await runStorm('no-op incidents', target, noops.bodies, noops.sizes, S.clients, 202, timeoutMs);
  await finished(NOOP, noopResult.okAlerts);
  const span = itemAt((await db.query<{ n: number; first: Date; last: Date }>(
    'select count(*)::int as n, min(created_at) as first, max(finished_at) as last from runbook_runs '
      + 'where runbook = $1 and status = $2',
    [NOOP, 'succeeded'])).rows, 0, 'span row');
  const runsPerSecond = span.n / ((span.last.getTime() - span.first.getTime()) / 1000);
  const wallPerSecond = span.n / ((span.last.getTime() - t0) / 1000);

  const statuses = (await db.query<{ runbook: string; status: string; n: number }>(
    'select runbook, status, count(*)::int as n from runbook_runs group by runbook, status order by 1, 2')).rows;
  const exits = await Promise.all([api, ...workers].map((p) => p.stop()));

  const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
  const q = (x: Quantiles | undefined): string => {
    if (x === undefined) return 'n/a (no such metric)';
    return `${f1(x.p50)} / ${f1(x.p99)}   (n=${x.n}${Number.isFinite(x.max) ? `, max ${f1(x.max)}` : ''})`;
  };
  say('');
  say(header);
  const accepted = `${Math.round(stormResult.acceptedPerSecond)} alerts/s (${stormResult.okAlerts} alerts)`;
  say(`storm accepted                                       ${accepted}`);
  say(`trigger latency p50 / p99 ms, during the storm (goal p99 <= 25):`);
  say(`  run created -> first step started                  ${q(fromRun)}`);
  const outboxLatency = fromOutbox.n > 0 ? q(fromOutbox) : 'n/a (no outbox rows kept)';
  say(`  outbox row -> first step started                   ${outboxLatency}`);
  say(`  quell_runbook_trigger_latency_seconds (buckets)    ${q(fromMetric)}`);
  say(`no-op runs/s                                         ${Math.round(runsPerSecond)} `
    + `(first created -> last finished; ${Math.round(wallPerSecond)}/s from the first request)`);
  say(`runs by status: ${statuses.map((r) => `${r.runbook} ${r.status} ${r.n}`).join(', ')}`);

  const failures: string[] = [];
  const stormProblems = (label: string, s: StormResult): void => {
    const bad = Object.values(s.unexpected).reduce((a, b) => a + b, 0);
    if (bad > 0 || s.errors > 0) {
      failures.push(`${label}: ${bad} unexpected answers ${JSON.stringify(s.unexpected)}, ${s.errors} without answer`);
    }
  };
  stormProblems('storm', stormResult);
  stormProblems('probes', probeResult);
  stormProblems('no-op incidents', noopResult);
  for (const r of statuses) if (r.status !== 'succeeded') failures.push(`${r.n} runs of ${r.runbook} ${r.status}`);
  [api, ...workers].forEach((p, i) => {
    if (exits[i] !== 0) failures.push(`${p.name} exited ${exits[i]} on SIGTERM`);
  });
  if (Number.isFinite(fromRun.p99) && fromRun.p99 > 25) {
    say(`note: trigger latency p99 ${f1(fromRun.p99)} ms is above the 25 ms goal`);
  }
  for (const f of failures) say(`FAILED: ${f}`);

  if (S.out) {
    writeFileSync(S.out, `${JSON.stringify({
      scenario: 'runbooks', settings: S, storm: stormResult, probes: probeResult, noop: noopResult,
      triggerLatencyMs: { runCreated: fromRun, outbox: fromOutbox, metric: fromMetric ?? null },
      runsPerSecond, wallPerSecond, statuses, failures, at: new Date().toISOString(),
    }, null, 2)}\n`);
    say(`results written to ${S.out}`);
  }
  return failures.length > 0 ? 1 : 0;
}
