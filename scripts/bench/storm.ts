/**
 * Alert-storm benchmark: Quell (`quell api` + N `quell worker` on Redis and PostgreSQL)
 * against Prometheus Alertmanager taking the same storm on its own API.
 *
 *   npm run bench                      (the default scenario; builds, then runs dist/scripts/bench/index.js)
 *   npm run bench -- storm
 *
 * Environment (all optional):
 *   BENCH_DATABASE_URL  admin URL of the PostgreSQL server   postgres://postgres@127.0.0.1:5432/postgres
 *   BENCH_REDIS_URL     Redis for the BullMQ queue            redis://127.0.0.1:6379
 *   BENCH_ALERTS        alerts in the storm                   100000
 *   BENCH_BATCH         alerts per request                    64
 *   BENCH_CLIENTS       requests in flight at once            32
 *   BENCH_WORKERS       `quell worker` processes              2
 *   BENCH_CONCURRENCY   QUELL_WORKER_CONCURRENCY              32
 *   BENCH_DB_POOL_SIZE  QUELL_DB_POOL_SIZE (unset: Quell's default)
 *   BENCH_TIMEOUT_S     bound on the storm and on the linking 600
 *   BENCH_ALERTMANAGER  the Alertmanager binary ("" or "none": skip the peer) /usr/bin/prometheus-alertmanager
 *   BENCH_OUT           also write the results as JSON to this file
 *   BENCH_SEED          seed of the label choices             1
 *   BENCH_TOPOLOGY      1: load a CMDB the storm's hosts bind to (16 hosts behind each switch),
 *                       so the shipped topology rule takes every alert: each alone on its host
 *                       (the worst case: one incident per alert)               0
 *                       switches: as 1, and every 16th alert is on the switch the next 15
 *                       hosts depend on, so each switch's alerts form one incident (a switch storm)
 *
 * Everything it creates (database, queue, processes, temporary directory) is removed at the
 * end, also on failure or Ctrl-C. Exits non-zero when anything went wrong.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { CLI, REPO } from '../../test/support/quell-process';
import {
  bounded, buildStorm, hostSwitch, HOSTS_PER_SWITCH, prepareQuell, runStorm, hostCluster, intEnv, onCleanup,
  say, sleep, stageBreakdown, startProcess, STARTUP_TIMEOUT_MS,
  waitReady, type StageTime, type Storm, type StormResult,
  commonSettings,
} from './bench-kit';
import { itemAt } from '../../src/domain/invariant';
import { alertmanagerBinary, startAlertmanager } from './alertmanager-under-test';
import { f0, f1, f2 } from './bench-report';

// ---------------------------------------------------------------------------------------------
// Settings

const S = {
  ...commonSettings(),
  topology: ['1', 'switches'].includes(process.env['BENCH_TOPOLOGY'] ?? ''),
  switchOutages: process.env['BENCH_TOPOLOGY'] === 'switches',
  seed: intEnv('BENCH_SEED', 1, 0),
};

// ---------------------------------------------------------------------------------------------
// Quell

interface QuellResult {
  /** The storm with the workers applying alerts as they come. */
  readonly storm: StormResult;
  /** The same storm before any worker ran: the API's own capacity. */
  readonly ingestOnly: StormResult;
  readonly linked: number;
  /** From the first request sent to the last alert linked (max(linked_at)). */
  readonly endToEndMs: number;
  readonly endToEndPerSecond: number;
  /** received_at -> linked_at, per alert episode. */
  readonly receiptToIncidentMs: { p50: number; p90: number; p99: number; max: number };
  readonly incidents: number;
  readonly queue: Record<string, number>;
  readonly processes: { name: string; exit: number | string; warnings: number; sample: string[] }[];
  /** Per pipeline stage, summed over the workers. */
  readonly stages: StageTime[];
}

async function benchQuell(storm: Storm, tmp: string): Promise<QuellResult> {
  const { dbUrl, queue, token, apiToken, apiPort, metricsPorts, env } = await prepareQuell({
    adminUrl: S.adminUrl, redisUrl: S.redisUrl, workers: S.workers, concurrency: S.concurrency,
    dbPoolSize: S.dbPoolSize, rulesDir: join(REPO, 'rules'), tmp,
  });

  const api = startProcess('quell api', process.execPath, [CLI, 'api'], env({}));
  await waitReady(`http://127.0.0.1:${apiPort}/readyz`, api, STARTUP_TIMEOUT_MS);
  if (S.topology) {
    // Every storm host is a CI (bound by its instance), 16 behind each switch: the shipped
    // topology rule takes every alert, and its per-rule lock and root-cause stage are measured.
    const hosts = Array.from({ length: S.alerts }, (_, i) => i);
    const cis = [
      ...Array.from({ length: Math.ceil(S.alerts / HOSTS_PER_SWITCH) },
        (_, s) => ({ id: hostSwitch(s * HOSTS_PER_SWITCH), type: 'switch', labels: {} })),
      ...hosts.map((i) => ({ id: `host-${i}.${hostCluster(i)}.example`, type: 'host', labels: {} })),
    ];
    const relations = hosts
      .map((i) => ({ from: `host-${i}.${hostCluster(i)}.example`, type: 'depends_on', to: hostSwitch(i) }));
    const res = await fetch(`http://127.0.0.1:${apiPort}/api/v1/cmdb`, {
      method: 'PUT', headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cis, relations }),
    });
    if (res.status !== 200) throw new Error(`PUT /api/v1/cmdb: ${res.status} ${await res.text()}`);
    say(`topology: ${cis.length} CIs loaded`);
  }

  // Ingest alone first (no worker running): what the API takes, comparable with the peer,
  // which has no workers. Those jobs are then thrown away, unapplied.
  say('quell: ingest-only storm (no workers yet)');
  const ingestOnly = await runStorm('quell ingest-only', {
    port: apiPort, path: '/ingest/alertmanager', headers: { authorization: `Bearer ${token}` },
  }, storm.quellBodies, storm.sizes, S.clients, 202, S.timeoutS * 1000);
  await bounded(queue.obliterate({ force: true }), 30_000, 'empty the queue after the ingest-only storm');

  const workers = metricsPorts.map((port, i) =>
    startProcess(`quell worker ${i + 1}`, process.execPath, [CLI, 'worker'],
      env({ QUELL_METRICS_PORT: String(port) })));
  // At QUELL_LOG_LEVEL=warn the "worker started" line (info) is not written; a worker serves
  // its /readyz only after its consumer has started, so that answer stands for the line.
  await Promise.all(workers.map((w, i) => waitReady(`http://127.0.0.1:${metricsPorts[i]}/readyz`, w, STARTUP_TIMEOUT_MS)));
  say(`quell: api on :${apiPort}, ${S.workers} workers x ${S.concurrency} ready`);

  const db = new Client({ connectionString: dbUrl.toString(), connectionTimeoutMillis: 5000 });
  await db.connect();
  onCleanup('close the bench database connection', () => db.end());
  const count = async (): Promise<number> =>
    itemAt((await db.query<{ n: number }>('select count(*)::int as n from incident_alerts')).rows, 0, 'count').n;
  const queueCounts = async (): Promise<Record<string, number>> => bounded(
    queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized'), 5000, 'queue counts');

  say(`quell: storm to POST /ingest/alertmanager`);
  const result = await runStorm('quell', {
    port: apiPort, path: '/ingest/alertmanager', headers: { authorization: `Bearer ${token}` },
  }, storm.quellBodies, storm.sizes, S.clients, 202, S.timeoutS * 1000);
  say(`quell: storm done: ${result.okAlerts} alerts accepted in ${(result.acceptWallMs / 1000).toFixed(1)} s; `
    + 'waiting for them to be linked to incidents');

  // Every accepted alert should end up in incident_alerts.
  const target = result.okAlerts;
  const deadline = performance.now() + S.timeoutS * 1000;
  let linked: number;
  let lastPrint = performance.now(), printedAt = -1, drainedSince = 0;
  for (;;) {
    linked = await bounded(count(), 10_000, 'count incident_alerts');
    if (linked >= target) break;
    // The rate is over the last interval (workers link during the storm already).
    if (printedAt < 0) { printedAt = linked; lastPrint = performance.now(); }
    const now = performance.now();
    if (now - lastPrint >= 2000) {
      const c = await queueCounts();
      const rate = Math.round((linked - printedAt) / ((now - lastPrint) / 1000));
      const waiting = (c['waiting'] ?? 0) + (c['prioritized'] ?? 0);
      say(`  linked ${linked}/${target} (${rate} alerts/s); queue waiting ${waiting}, `
        + `active ${c['active']}, delayed ${c['delayed']}, failed ${c['failed']}`);
      lastPrint = now;
      printedAt = linked;
      // A drained queue with alerts missing will not get better: stop early, with the facts.
      const pending = (c['waiting'] ?? 0) + (c['prioritized'] ?? 0) + (c['active'] ?? 0) + (c['delayed'] ?? 0);
      if (pending === 0) {
        drainedSince ||= now;
        if (now - drainedSince > 10_000) {
          throw new Error(
            `the queue is drained (failed jobs: ${c['failed']}) but only ${linked}/${target} alerts are linked`);
        }
      } else {
        drainedSince = 0;
      }
    }
    if (now > deadline) throw new Error(`only ${linked}/${target} alerts linked after ${S.timeoutS} s`);
    await sleep(200);
  }

  const stats = itemAt((await db.query<{ p: number[]; mx: number; last_linked: Date }>(`
    select percentile_cont(array[0.5, 0.9, 0.99])
             within group (order by extract(epoch from linked_at - received_at)::float8) as p,
           max(extract(epoch from linked_at - received_at))::float8 as mx,
           max(linked_at) as last_linked
      from incident_alerts`)).rows, 0, 'latency row');
  const incidents = itemAt(
    (await db.query<{ n: number }>('select count(*)::int as n from incidents')).rows, 0, 'count').n;
  const queueAtEnd = await queueCounts();
  const endToEndMs = stats.last_linked.getTime() - result.firstSentAt;

  const stages = await stageBreakdown(metricsPorts);
  // Stop Quell before the peer runs, so that the peer has the machine to itself.
  const procs = [api, ...workers];
  const exits = await Promise.all(procs.map((p) => p.stop()));
  return {
    storm: result,
    ingestOnly,
    linked,
    endToEndMs,
    endToEndPerSecond: linked / (endToEndMs / 1000),
    receiptToIncidentMs: {
      p50: itemAt(stats.p, 0, 'p50') * 1000, p90: itemAt(stats.p, 1, 'p90') * 1000,
      p99: itemAt(stats.p, 2, 'p99') * 1000, max: stats.mx * 1000,
    },
    incidents,
    queue: queueAtEnd,
    processes: procs.map((p, i) => ({
      name: p.name, exit: itemAt(exits, i, 'exit'), warnings: p.problemCount, sample: p.problems.slice(0, 10),
    })),
    stages,
  };
}

// ---------------------------------------------------------------------------------------------
// Alertmanager

interface AlertmanagerResult {
  readonly version: string;
  readonly storm: StormResult;
  readonly warnings: number;
  readonly sample: string[];
}

async function benchAlertmanager(binary: string, storm: Storm, tmp: string): Promise<AlertmanagerResult> {
  const am = await startAlertmanager(binary, tmp);
  say('alertmanager: storm to POST /api/v2/alerts');
  const result = await runStorm('alertmanager', am.target, storm.alertmanagerBodies, storm.sizes, S.clients, 200,
    S.timeoutS * 1000);
  await am.proc.stop();
  return { version: am.version, storm: result, warnings: am.proc.problemCount, sample: am.proc.problems.slice(0, 10) };
}

// ---------------------------------------------------------------------------------------------
// Report

function table(q: QuellResult, am: AlertmanagerResult | undefined, groups: number): string {
  const latency = (l: StormResult['latencyMs']): string => `${f1(l.p50)} / ${f1(l.p99)}`;
  const ratio = (quell: number): string => (am ? f2(quell / am.storm.acceptedPerSecond) : '');
  const amRate = am ? f0(am.storm.acceptedPerSecond) : 'skipped';
  const amLatency = am ? latency(am.storm.latencyMs) : '';
  const receipt = q.receiptToIncidentMs;
  const rows: [string, string, string, string][] = [
    ['', 'quell', am ? `alertmanager ${am.version}` : 'alertmanager', am ? 'ratio' : ''],
    ['accepted alerts/s, ingest only', f0(q.ingestOnly.acceptedPerSecond), amRate,
      ratio(q.ingestOnly.acceptedPerSecond)],
    ['  request p50 / p99 ms', latency(q.ingestOnly.latencyMs), amLatency, ''],
    ['accepted alerts/s, workers running', f0(q.storm.acceptedPerSecond), amRate, ratio(q.storm.acceptedPerSecond)],
    ['  request p50 / p99 ms', latency(q.storm.latencyMs), amLatency, ''],
    ['requests not accepted', `${q.storm.requests - q.storm.okRequests}`,
      am ? `${am.storm.requests - am.storm.okRequests}` : '', ''],
    ['end-to-end alerts/s', f0(q.endToEndPerSecond), 'n/a (in memory)', ''],
    ['receipt->incident p50/p90/p99 ms', `${f0(receipt.p50)} / ${f0(receipt.p90)} / ${f0(receipt.p99)}`, 'n/a', ''],
    ['incidents (groups in storm)', `${q.incidents} (${groups})`, am ? `${groups} groups` : '', ''],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length)) + 2;
  const w1 = Math.max(...rows.map((r) => r[1].length)) + 3;
  const w2 = Math.max(...rows.map((r) => r[2].length)) + 3;
  return rows.map((r) => `${r[0].padEnd(w0)}${r[1].padEnd(w1)}${r[2].padEnd(w2)}${r[3]}`.trimEnd()).join('\n');
}

function stormFailures(label: string, s: StormResult, expect: number): string[] {
  const out: string[] = [];
  const bad = Object.values(s.unexpected).reduce((a, b) => a + b, 0);
  if (bad > 0) {
    out.push(`${label}: ${bad} answers other than ${expect}: ${JSON.stringify(s.unexpected)}; `
      + `e.g. ${s.unexpectedSample.join(' | ')}`);
  }
  if (s.errors > 0) out.push(`${label}: ${s.errors} requests without an answer; e.g. ${s.errorSample.join(' | ')}`);
  return out;
}

// ---------------------------------------------------------------------------------------------

/** The storm scenario: its exit code (non-zero when anything went wrong). */
export async function main(): Promise<number> {
  const tmp = mkdtempSync(join(tmpdir(), 'quell-bench-'));
  onCleanup(`remove ${tmp}`, () => { rmSync(tmp, { recursive: true, force: true }); });

  const startsAt = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  const storm = buildStorm(S.alerts, S.batch, S.seed, startsAt, { switchOutages: S.switchOutages });
  const bytes = storm.quellBodies.reduce((a, b) => a + b.length, 0);
  const header = `storm: ${S.alerts} alerts, ${S.batch}/request, ${S.clients} clients, `
    + `${S.workers} workers x ${S.concurrency}`;
  say(`${header} (${storm.quellBodies.length} requests, ${(bytes / 1e6).toFixed(1)} MB, ${storm.groups} label groups)`);

  const quell = await benchQuell(storm, tmp);
  const amBin = alertmanagerBinary();
  const am = amBin !== undefined ? await benchAlertmanager(amBin, storm, tmp) : undefined;

  const failures = [
    ...stormFailures('quell', quell.storm, 202),
    ...stormFailures('quell ingest-only', quell.ingestOnly, 202),
    ...(am ? stormFailures('alertmanager', am.storm, 200) : []),
  ];
  for (const p of quell.processes) if (p.exit !== 0) failures.push(`${p.name} exited ${p.exit} on SIGTERM`);
  if ((quell.queue['failed'] ?? 0) > 0) failures.push(`quell: ${quell.queue['failed']} jobs failed in the queue`);

  say('');
  say(header);
  say(table(quell, am, storm.groups));
  say('');
  if (quell.stages.length > 0) {
    say('pipeline stages (all workers): runs, mean ms per run, total s');
    for (const st of quell.stages) {
      const figures = `${String(st.runs).padStart(8)}${f1(st.meanMs).padStart(9)}${f1(st.totalS).padStart(9)}`;
      say(`  ${st.stage.padEnd(12)}${figures}`);
    }
    say('');
  }
  const warned = quell.processes.filter((p) => p.warnings > 0);
  for (const p of warned) {
    say(`${p.name}: ${p.warnings} log lines at warn or above, e.g.:`);
    for (const line of p.sample.slice(0, 5)) say(`  ${line.slice(0, 500)}`);
  }
  if (am && am.warnings > 0) {
    say(`alertmanager: ${am.warnings} log lines at warn or above, e.g.: ${am.sample.slice(0, 3).join(' | ')}`);
  }
  for (const f of failures) say(`FAILED: ${f}`);

  if (S.out) {
    writeFileSync(S.out, `${JSON.stringify({
      settings: {
        alerts: S.alerts, batch: S.batch, clients: S.clients, workers: S.workers, concurrency: S.concurrency,
        dbPoolSize: S.dbPoolSize ?? null, seed: S.seed,
      },
      groups: storm.groups, requests: storm.quellBodies.length, bytes,
      quell, alertmanager: am ?? null, failures, at: new Date().toISOString(),
    }, null, 2)}\n`);
    say(`results written to ${S.out}`);
  }
  return failures.length > 0 ? 1 : 0;
}

