/**
 * The long run (not in the tests): BENCH_ALERTS (1,000,000) distinct alerts opened, then all
 * resolved, through Quell and through Alertmanager. Reported after each phase: the resident
 * memory of every process (quell api, each worker, Alertmanager), Redis's used memory and the
 * database's size. Nothing should grow with the count of alerts that have resolved.
 * The requests are built chunk by chunk (64k alerts), so the client stays small.
 *
 *   npm run bench -- soak
 *
 * Environment: as the storm scenario; BENCH_ALERTS defaults to 1000000 here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { expectDefined, itemAt } from '../../src/domain/invariant';
import { alertmanagerBinary, startAlertmanager, type RunningAlertmanager } from './alertmanager-under-test';
import { buildStorm, commonSettings, intEnv, onCleanup, runStorm, say, type Storm } from './bench-kit';
import { f0, loadAverage, printTable, writeResults } from './bench-report';
import { rssMb, startQuell, waitLinked, waitDrained, type RunningQuell } from './quell-under-test';

const S = { ...commonSettings(), alerts: intEnv('BENCH_ALERTS', 1_000_000), seed: intEnv('BENCH_SEED', 1, 0) };
const CHUNK = 65_536;

type Phase = 'open' | 'resolved';

/** The storm's alerts, chunk by chunk; resolved ones (endsAt set) for the second phase. */
function* chunks(startsAt: string, phase: Phase): Generator<Storm> {
  for (let from = 0; from < S.alerts; from += CHUNK) {
    const storm = buildStorm(Math.min(CHUNK, S.alerts - from), S.batch, S.seed, startsAt, { offset: from });
    if (phase === 'open') { yield storm; continue; }
    const endsAt = new Date().toISOString();
    const resolve = (b: Buffer, webhook: boolean): Buffer => {
      const doc = JSON.parse(b.toString()) as { alerts?: Record<string, unknown>[] } | Record<string, unknown>[];
      const alerts = Array.isArray(doc) ? doc : expectDefined(doc.alerts, 'webhook alerts');
      for (const a of alerts) { a['endsAt'] = endsAt; if (webhook) a['status'] = 'resolved'; }
      if (!Array.isArray(doc)) (doc as Record<string, unknown>)['status'] = 'resolved';
      return Buffer.from(JSON.stringify(doc));
    };
    yield { ...storm, quellBodies: storm.quellBodies.map((b) => resolve(b, true)),
      alertmanagerBodies: storm.alertmanagerBodies.map((b) => resolve(b, false)) };
  }
}

interface Snapshot {
  readonly phase: Phase; readonly rssMb: Record<string, number>; readonly redisMb?: number;
  readonly databaseMb?: number; readonly acceptedPerSecond: number;
}

async function sendAll(label: string, target: RunningQuell['ingest'], startsAt: string, phase: Phase,
  quell: boolean): Promise<number> {
  let ok = 0, ms = 0;
  for (const c of chunks(startsAt, phase)) {
    const r = await runStorm(`${label} ${phase}`, target, quell ? c.quellBodies : c.alertmanagerBodies, c.sizes,
      S.clients, quell ? 202 : 200, S.timeoutS * 1000);
    if (r.okRequests < r.requests) {
      throw new Error(`${label}: ${r.requests - r.okRequests} requests not accepted: ${JSON.stringify(r.unexpected)}`
        + ` ${r.unexpectedSample.join(' | ')}`);
    }
    ok += r.okAlerts;
    ms += r.acceptWallMs;
    say(`  ${label} ${phase}: ${ok}/${S.alerts} alerts sent`);
  }
  return ok / (ms / 1000);
}

export async function main(): Promise<number> {
  const tmp = mkdtempSync(join(tmpdir(), 'quell-bench-'));
  onCleanup(`remove ${tmp}`, () => { rmSync(tmp, { recursive: true, force: true }); });
  const startsAt = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  say(`soak: ${S.alerts} distinct alerts opened, then resolved; ${S.batch}/request, ${S.workers} workers;`
    + ` load average ${loadAverage().join(' ')}`);
  const redis = new IORedis(S.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  onCleanup('close the Redis connection', () => { redis.disconnect(); });

  const q = await startQuell(S, tmp);
  const snapshots: Snapshot[] = [];
  let linked = 0;
  for (const phase of ['open', 'resolved'] as const) {
    const acceptedPerSecond = await sendAll('quell', q.ingest, startsAt, phase, true);
    if (phase === 'open') linked = await waitLinked(q, S.alerts, S.timeoutS);
    else await waitDrained(q, S.timeoutS);
    const redisMb = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]) / 2 ** 20;
    const sizeRows = (await q.db.query<{ b: string }>('select pg_database_size(current_database()) as b')).rows;
    const databaseMb = Number(itemAt(sizeRows, 0, 'database size row').b) / 2 ** 20;
    const rss = Object.fromEntries([q.api, ...q.workers].map((p) => [p.name, rssMb(p.child.pid)]));
    snapshots.push({ phase, rssMb: rss, redisMb, databaseMb, acceptedPerSecond });
    const perProcess = Object.entries(rss).map(([k, v]) => `${k} ${f0(v)} MB`).join(', ');
    say(`quell after ${phase}: ${perProcess}; redis ${f0(redisMb)} MB, database ${f0(databaseMb)} MB`);
  }
  const processes = await q.stop();

  const amBin = alertmanagerBinary();
  const amSnapshots: Snapshot[] = [];
  let am: RunningAlertmanager | undefined;
  if (amBin !== undefined) {
    am = await startAlertmanager(amBin, tmp);
    for (const phase of ['open', 'resolved'] as const) {
      const acceptedPerSecond = await sendAll('alertmanager', am.target, startsAt, phase, false);
      amSnapshots.push({ phase, rssMb: { alertmanager: rssMb(am.proc.child.pid) }, acceptedPerSecond });
    }
    await am.proc.stop();
  }

  say('');
  say(`soak: ${S.alerts} distinct alerts (load average ${loadAverage().join(' ')})`);
  const names = [...Object.keys(itemAt(snapshots, 0, 'first snapshot').rssMb), ...(am ? ['alertmanager'] : [])];
  printTable([
    ['RSS MB', ...snapshots.map((s) => `after ${s.phase}`)],
    ...names.map((n) => [n, ...snapshots.map((s, k) => f0(s.rssMb[n] ?? amSnapshots[k]?.rssMb[n] ?? NaN))]),
    ['redis used memory MB', ...snapshots.map((s) => f0(s.redisMb ?? NaN))],
    ['database size MB', ...snapshots.map((s) => f0(s.databaseMb ?? NaN))],
    ['accepted alerts/s quell', ...snapshots.map((s) => f0(s.acceptedPerSecond))],
    ...(am ? [['accepted alerts/s alertmanager', ...amSnapshots.map((s) => f0(s.acceptedPerSecond))]] : []),
  ]);
  const failures = processes.filter((p) => p.exit !== 0).map((p) => `${p.name} exited ${p.exit} on SIGTERM`);
  for (const f of failures) say(`FAILED: ${f}`);
  writeResults(S.out, { scenario: 'soak', settings: S, linked, quell: snapshots, alertmanager: amSnapshots, processes,
    failures });
  return failures.length > 0 ? 1 : 0;
}
