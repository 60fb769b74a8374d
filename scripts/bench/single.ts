/**
 * One alert per request, as Grafana, Zabbix, Nagios and Datadog send: BENCH_ALERTS requests
 * with BENCH_CLIENTS in flight, to Quell (workers running) and to Alertmanager. Measured:
 * accepted alerts/s and request latency on both, and Quell's end to end (first request ->
 * last alert linked to its incident) with receipt -> incident.
 *
 *   npm run bench -- single
 *
 * Environment: as the storm scenario (BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_CLIENTS,
 * BENCH_WORKERS, BENCH_CONCURRENCY, BENCH_DB_POOL_SIZE, BENCH_ALERTMANAGER, BENCH_SEED,
 * BENCH_TIMEOUT_S, BENCH_OUT); BENCH_ALERTS defaults to 20000 here, and
 *   BENCH_CPU_PROF   1: the api and worker 1 run with --cpu-prof; their profiles summarised at the end  0
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alertmanagerBinary, startAlertmanager } from './alertmanager-under-test';
import { buildStorm, commonSettings, intEnv, onCleanup, runStorm, say, type StormResult } from './bench-kit';
import { f0, f1, loadAverage, printTable, versus, writeResults } from './bench-report';
import { cpuProfiling, printProfiles } from './cpu-profile-summary';
import { receiptToIncident, startQuell, waitLinked } from './quell-under-test';

const S = {
  ...commonSettings(), alerts: intEnv('BENCH_ALERTS', 20_000), seed: intEnv('BENCH_SEED', 1, 0),
  cpuProf: process.env['BENCH_CPU_PROF'] === '1',
};

const notAccepted = (s: StormResult): number => s.requests - s.okRequests;

export async function main(): Promise<number> {
  const tmp = mkdtempSync(join(tmpdir(), 'quell-bench-'));
  onCleanup(`remove ${tmp}`, () => { rmSync(tmp, { recursive: true, force: true }); });
  const startsAt = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  const storm = buildStorm(S.alerts, 1, S.seed, startsAt);
  const header = `single: ${S.alerts} requests of one alert, ${S.clients} clients,`
    + ` ${S.workers} workers x ${S.concurrency}`;
  say(`${header}; load average ${loadAverage().join(' ')}`);

  const profiling = cpuProfiling(tmp, S.cpuProf);
  const q = await startQuell(S, tmp, { apiNodeArgs: profiling.args('api'),
    workerNodeArgs: (i) => (i === 0 ? profiling.args('worker-1') : []) });
  const quell = await runStorm('quell', q.ingest, storm.quellBodies, storm.sizes, S.clients, 202, S.timeoutS * 1000);
  const linked = await waitLinked(q, quell.okAlerts, S.timeoutS);
  const r2i = await receiptToIncident(q.db);
  const endToEndPerSecond = linked / ((r2i.lastLinked.getTime() - quell.firstSentAt) / 1000);
  const processes = await q.stop();

  const amBin = alertmanagerBinary();
  let am: { version: string; storm: StormResult } | undefined;
  if (amBin !== undefined) {
    const peer = await startAlertmanager(amBin, tmp);
    am = { version: peer.version, storm: await runStorm('alertmanager', peer.target, storm.alertmanagerBodies,
      storm.sizes, S.clients, 200, S.timeoutS * 1000) };
    await peer.proc.stop();
  }

  const profiles = profiling.summaries();
  say('');
  say(`${header} (load average ${loadAverage().join(' ')})`);
  printTable([
    ['', 'quell', am ? `alertmanager ${am.version}` : 'alertmanager', 'ratio'],
    ['accepted alerts/s', ...versus(quell.acceptedPerSecond, am?.storm.acceptedPerSecond)],
    ['  request p50 / p99 ms', `${f1(quell.latencyMs.p50)} / ${f1(quell.latencyMs.p99)}`,
      am ? `${f1(am.storm.latencyMs.p50)} / ${f1(am.storm.latencyMs.p99)}` : '', ''],
    ['end-to-end alerts/s (vs peer accepted)', ...versus(endToEndPerSecond, am?.storm.acceptedPerSecond)],
    ['receipt->incident p50/p90/p99 ms', `${f0(r2i.ms.p50)} / ${f0(r2i.ms.p90)} / ${f0(r2i.ms.p99)}`, 'n/a', ''],
    ['requests not accepted', String(notAccepted(quell)), am ? String(notAccepted(am.storm)) : '', ''],
  ]);
  const failures: string[] = [];
  if (notAccepted(quell) > 0) {
    failures.push(`quell: ${notAccepted(quell)} requests not accepted: ${JSON.stringify(quell.unexpected)}`
      + ` ${quell.unexpectedSample.join(' | ')}`);
  }
  if (am && notAccepted(am.storm) > 0) failures.push(`alertmanager: ${notAccepted(am.storm)} requests not accepted`);
  for (const p of processes) if (p.exit !== 0) failures.push(`${p.name} exited ${p.exit} on SIGTERM`);
  printProfiles(profiles);
  for (const f of failures) say(`FAILED: ${f}`);
  writeResults(S.out, { scenario: 'single', settings: S, profiles, quell, endToEndPerSecond,
    receiptToIncidentMs: r2i.ms, alertmanager: am ?? null, processes, failures });
  return failures.length > 0 ? 1 : 0;
}
