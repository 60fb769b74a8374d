/**
 * Steady-load latency: alerts at a fixed rate, sent open-loop (each request at its time, as
 * independent sources send, whether or not earlier ones were answered), for BENCH_SECONDS per
 * load. Measured per load: receipt -> incident p50/p90/p99 (received_at -> linked_at in the
 * database; and the workers' own histogram, which ends after the commit), request latency
 * p50/p99 beside Alertmanager's for the same requests, and where a batch's time goes (per
 * pipeline stage, and per phase of a job: queue, group-commit wait, transaction).
 *
 *   npm run bench -- steady
 *
 * Environment: as the storm scenario (BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_WORKERS (here
 * 1), BENCH_CONCURRENCY, BENCH_DB_POOL_SIZE, BENCH_ALERTMANAGER, BENCH_SEED, BENCH_OUT), and
 *   BENCH_LOADS      loads, rate x alerts per request               2000x16,10000x64
 *   BENCH_SECONDS    seconds at each load                           20
 *   BENCH_WARMUP_S   first seconds of each load left out of the figures  2
 *   BENCH_CPU_PROF   1: the api and worker 1 run with --cpu-prof; their profiles summarised at the end  0
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { itemAt } from '../../src/domain/invariant';
import { alertmanagerBinary, startAlertmanager } from './alertmanager-under-test';
import { buildStorm, commonSettings, intEnv, onCleanup, say, sleep, stageBreakdown, type StageTime } from './bench-kit';
import { f0, f1, loadAverage, printTable, writeResults } from './bench-report';
import { cpuProfiling, printProfiles } from './cpu-profile-summary';
import { runPaced, type PacedResult } from './open-loop-sender';
import { jobPhases, processingQuantiles, receiptToIncident, sampleDbWaits, slowestWindows, startQuell, waitLinked,
  type Percentiles, type PhaseTime } from './quell-under-test';

const S = {
  ...commonSettings(),
  workers: intEnv('BENCH_WORKERS', 1),
  loads: (process.env['BENCH_LOADS'] || '2000x16,10000x64').split(',').map((l) => {
    const m = /^(\d+)x(\d+)$/.exec(l.trim());
    if (!m) throw new Error(`BENCH_LOADS: expected rate x batch like 2000x16, got ${JSON.stringify(l)}`);
    return { rate: Number(m[1]), batch: Number(m[2]) };
  }),
  seconds: intEnv('BENCH_SECONDS', 20),
  warmupS: intEnv('BENCH_WARMUP_S', 2, 0),
  cpuProf: process.env['BENCH_CPU_PROF'] === '1',
  seed: intEnv('BENCH_SEED', 1, 0),
};

interface LoadResult {
  readonly rate: number;
  readonly batch: number;
  readonly quell: PacedResult;
  readonly receiptToIncidentMs: Percentiles;
  /** The workers' histogram: receipt -> committed, bucket bounds. */
  readonly committedMs: { le50: number; le90: number; le99: number };
  readonly stages: StageTime[];
  readonly phases: PhaseTime[];
  readonly loadavg: number[];
  /** Database sessions of the run by state and wait event, on average (see sampleDbWaits). */
  readonly dbSessions: Record<string, number>;
  /** The slowest quarter-seconds (receipt time since the warm-up): a periodic tail shows here. */
  readonly slowest: { atS: number; alerts: number; maxMs: number }[];
  alertmanager?: PacedResult;
}

const diffStages = (after: StageTime[], before: StageTime[]): StageTime[] => after.map((a) => {
  const b = before.find((x) => x.stage === a.stage);
  const runs = a.runs - (b?.runs ?? 0), totalS = a.totalS - (b?.totalS ?? 0);
  return { stage: a.stage, runs, totalS, meanMs: runs > 0 ? (totalS / runs) * 1000 : NaN };
});

export async function main(): Promise<number> {
  const tmp = mkdtempSync(join(tmpdir(), 'quell-bench-'));
  onCleanup(`remove ${tmp}`, () => { rmSync(tmp, { recursive: true, force: true }); });
  const startsAt = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  const loads = S.loads.map((l, k) => ({
    ...l, storm: buildStorm(l.rate * S.seconds, l.batch, S.seed, startsAt, { offset: k * 10_000_000 }),
  }));
  say(`steady: ${S.loads.map((l) => `${l.rate}/s x ${l.batch}`).join(', ')}, ${S.seconds} s each;`
    + ` ${S.workers} worker(s) x ${S.concurrency}; load average ${loadAverage().join(' ')}`);

  const profiling = cpuProfiling(tmp, S.cpuProf);
  const q = await startQuell(S, tmp, { apiNodeArgs: profiling.args('api'),
    workerNodeArgs: (i) => (i === 0 ? profiling.args('worker-1') : []) });
  const results: LoadResult[] = [];
  let linkedSoFar = 0;
  for (const l of loads) {
    say(`quell: ${l.rate} alerts/s, ${l.batch} per request, ${S.seconds} s`);
    const stagesBefore = await stageBreakdown(q.prepared.metricsPorts);
    const phasesBefore = await jobPhases(q.prepared.metricsPorts);
    const measureFrom = new Date(Date.now() + S.warmupS * 1000);
    const stopSampling = sampleDbWaits(q.db);
    const quell = await runPaced('quell', q.ingest, (i) => itemAt(l.storm.quellBodies, i, 'request body'),
      l.storm.sizes, 202, { alertsPerSecond: l.rate });
    linkedSoFar = await waitLinked(q, linkedSoFar + quell.okAlerts, S.timeoutS);
    const dbSessions = await stopSampling();
    const r2i = await receiptToIncident(q.db, measureFrom);
    const slowest = await slowestWindows(q.db, measureFrom);
    const committed = await processingQuantiles(q.prepared.metricsPorts);
    results.push({
      rate: l.rate, batch: l.batch, quell, dbSessions, slowest, receiptToIncidentMs: r2i.ms, committedMs: committed,
      loadavg: loadAverage(),
      stages: diffStages(await stageBreakdown(q.prepared.metricsPorts), stagesBefore),
      phases: diffStages(await jobPhases(q.prepared.metricsPorts), phasesBefore.map((p) => ({ ...p, stage: p.stage }))),
    });
    await sleep(1000);
  }
  const processes = await q.stop();

  const amBin = alertmanagerBinary();
  let amVersion: string | undefined;
  if (amBin !== undefined) {
    const am = await startAlertmanager(amBin, tmp);
    amVersion = am.version;
    for (const [k, l] of loads.entries()) {
      say(`alertmanager: ${l.rate} alerts/s, ${l.batch} per request`);
      itemAt(results, k, 'load result').alertmanager = await runPaced('alertmanager', am.target,
        (i) => itemAt(l.storm.alertmanagerBodies, i, 'request body'),
        l.storm.sizes, 200, { alertsPerSecond: l.rate });
    }
    await am.proc.stop();
  }

  const profiles = profiling.summaries();

  say('');
  const failures: string[] = [];
  for (const r of results) {
    say(`${r.rate} alerts/s, ${r.batch} per request, ${S.seconds} s (load average then ${r.loadavg.join(' ')})`);
    const am = r.alertmanager;
    printTable([
      ['', 'quell', am ? `alertmanager ${amVersion}` : 'alertmanager'],
      ['accepted alerts/s', f0(r.quell.acceptedPerSecond), am ? f0(am.acceptedPerSecond) : 'skipped'],
      ['request p50 / p99 ms', `${f1(r.quell.latencyMs.p50)} / ${f1(r.quell.latencyMs.p99)}`,
        am ? `${f1(am.latencyMs.p50)} / ${f1(am.latencyMs.p99)}` : ''],
      ['receipt->incident p50/p90/p99 ms',
        `${f1(r.receiptToIncidentMs.p50)} / ${f1(r.receiptToIncidentMs.p90)} / ${f1(r.receiptToIncidentMs.p99)}`,
        'n/a'],
      ['  committed (histogram, <= bucket)',
        `${f0(r.committedMs.le50)} / ${f0(r.committedMs.le90)} / ${f0(r.committedMs.le99)}`, ''],
      ['requests sent late', String(r.quell.behind), am ? String(am.behind) : ''],
    ]);
    say('  per job phase (mean ms per job) and per pipeline stage (mean ms per batch):');
    for (const p of [...r.phases, ...r.stages]) {
      if (p.runs > 0) say(`    ${p.stage.padEnd(16)}${String(p.runs).padStart(8)}${f1(p.meanMs).padStart(9)}`);
    }
    const sessions = Object.entries(r.dbSessions).map(([k, v]) => `${k} ${v}`).join(', ');
    say(`  database sessions by state / wait (average count): ${sessions}`);
    const slowest = r.slowest.map((w) => `${w.atS}: ${w.maxMs}`).join(', ');
    say(`  slowest quarter-seconds (s after warm-up: worst ms): ${slowest}`);
    const bad = (label: string, x: PacedResult | undefined): void => {
      if (x === undefined) return;
      const n = Object.values(x.unexpected).reduce((a, b) => a + b, 0) + x.errors;
      if (n > 0) {
        failures.push(`${label} at ${r.rate}/s: ${n} requests not accepted (${JSON.stringify(x.unexpected)},`
          + ` ${x.errors} errors) e.g. ${x.unexpectedSample.join(' | ')}`);
      }
    };
    bad('quell', r.quell);
    bad('alertmanager', r.alertmanager);
    say('');
  }
  printProfiles(profiles);
  for (const p of processes) if (p.exit !== 0) failures.push(`${p.name} exited ${p.exit} on SIGTERM`);
  for (const f of failures) say(`FAILED: ${f}`);
  writeResults(S.out, { scenario: 'steady', settings: S, results, profiles, processes, failures });
  return failures.length > 0 ? 1 : 0;
}
