/**
 * Re-sends: BENCH_ALERTS distinct alerts sent once (each linked to its incident), then the
 * same requests BENCH_RESENDS times more, as Alertmanager re-sends firing alerts every
 * repeat_interval and after a failed webhook. A re-send must change nothing in the record:
 * no new incident, no new link. Measured: accepted alerts/s of the re-sends on Quell and
 * Alertmanager, and Quell's re-sends applied per second (first re-send -> queue drained).
 *
 *   npm run bench -- duplicates
 *
 * Environment: as the storm scenario; BENCH_ALERTS defaults to 20000 here, and
 *   BENCH_RESENDS   times every request is sent again   3
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { itemAt } from '../../src/domain/invariant';
import { alertmanagerBinary, startAlertmanager } from './alertmanager-under-test';
import { buildStorm, commonSettings, intEnv, onCleanup, runStorm, say, type StormResult } from './bench-kit';
import { f1, loadAverage, printTable, versus, writeResults } from './bench-report';
import { linkedCount, startQuell, waitDrained, waitLinked } from './quell-under-test';

const S = {
  ...commonSettings(), alerts: intEnv('BENCH_ALERTS', 20_000),
  resends: intEnv('BENCH_RESENDS', 3), seed: intEnv('BENCH_SEED', 1, 0),
};

const incidents = async (db: import('pg').Client): Promise<number> =>
  itemAt((await db.query<{ n: number }>('select count(*)::int as n from incidents')).rows, 0, 'count row').n;

export async function main(): Promise<number> {
  const tmp = mkdtempSync(join(tmpdir(), 'quell-bench-'));
  onCleanup(`remove ${tmp}`, () => { rmSync(tmp, { recursive: true, force: true }); });
  const startsAt = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  const storm = buildStorm(S.alerts, S.batch, S.seed, startsAt);
  const resend = <T>(xs: readonly T[]): T[] => Array.from({ length: S.resends }, () => xs).flat();
  const header = `duplicates: ${S.alerts} alerts, ${S.batch}/request, re-sent ${S.resends} times, ${S.clients} clients,`
    + ` ${S.workers} workers x ${S.concurrency}`;
  say(`${header}; load average ${loadAverage().join(' ')}`);

  const q = await startQuell(S, tmp);
  say('quell: first send');
  const first = await runStorm('quell first send', q.ingest, storm.quellBodies, storm.sizes, S.clients, 202,
    S.timeoutS * 1000);
  const linked = await waitLinked(q, first.okAlerts, S.timeoutS);
  const incidentsBefore = await incidents(q.db);
  say('quell: re-sends');
  const t0 = performance.now();
  const again = await runStorm('quell re-sends', q.ingest, resend(storm.quellBodies), resend(storm.sizes), S.clients,
    202, S.timeoutS * 1000);
  await waitDrained(q, S.timeoutS);
  const appliedPerSecond = again.okAlerts / ((performance.now() - t0) / 1000);
  const linkedAfter = await linkedCount(q.db);
  const incidentsAfter = await incidents(q.db);
  const processes = await q.stop();

  const amBin = alertmanagerBinary();
  let am: { version: string; storm: StormResult } | undefined;
  if (amBin !== undefined) {
    const peer = await startAlertmanager(amBin, tmp);
    await runStorm('alertmanager first send', peer.target, storm.alertmanagerBodies, storm.sizes, S.clients, 200,
      S.timeoutS * 1000);
    am = { version: peer.version, storm: await runStorm('alertmanager re-sends', peer.target,
      resend(storm.alertmanagerBodies), resend(storm.sizes), S.clients, 200, S.timeoutS * 1000) };
    await peer.proc.stop();
  }

  say('');
  say(`${header} (load average ${loadAverage().join(' ')})`);
  printTable([
    ['re-sends', 'quell', am ? `alertmanager ${am.version}` : 'alertmanager', 'ratio'],
    ['accepted alerts/s', ...versus(again.acceptedPerSecond, am?.storm.acceptedPerSecond)],
    ['  request p50 / p99 ms', `${f1(again.latencyMs.p50)} / ${f1(again.latencyMs.p99)}`,
      am ? `${f1(am.storm.latencyMs.p50)} / ${f1(am.storm.latencyMs.p99)}` : '', ''],
    ['applied alerts/s (queue drained)', ...versus(appliedPerSecond, am?.storm.acceptedPerSecond)],
    ['links / incidents before -> after', `${linked}/${incidentsBefore} -> ${linkedAfter}/${incidentsAfter}`, '', ''],
  ]);
  const failures: string[] = [];
  if (linkedAfter !== linked || incidentsAfter !== incidentsBefore) {
    failures.push(`quell: re-sends changed the record (links ${linked} -> ${linkedAfter},`
      + ` incidents ${incidentsBefore} -> ${incidentsAfter})`);
  }
  for (const [label, s] of [['quell', again], ['alertmanager', am?.storm]] as const) {
    if (s !== undefined && s.okRequests < s.requests) {
      failures.push(`${label}: ${s.requests - s.okRequests} re-sends not accepted: ${JSON.stringify(s.unexpected)}`);
    }
  }
  for (const p of processes) if (p.exit !== 0) failures.push(`${p.name} exited ${p.exit} on SIGTERM`);
  for (const f of failures) say(`FAILED: ${f}`);
  writeResults(S.out, { scenario: 'duplicates', settings: S, first, resends: again, appliedPerSecond, linked,
    linkedAfter, incidentsBefore, incidentsAfter, alertmanager: am ?? null, processes, failures });
  return failures.length > 0 ? 1 : 0;
}
