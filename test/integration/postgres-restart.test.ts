import { execFile } from 'node:child_process';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { sql, type Kysely } from 'kysely';
import { connectDatabase } from '../../src/store/connect';
import type { Database } from '../../src/store/database';
import { webhookPayload } from '../support/alertmanager-payload';
import { freePorts } from '../support/net';
import { startPgServer, type PgServer, type PgStopMode } from '../support/pg-server';
import { startQuell, type QuellProcess } from '../support/quell-process';
import { testRedisServer, type TestRedisServer } from '../support/redis-server';
import { recordStats } from '../support/storm';
import { waitFor } from '../support/wait';

/**
 * PostgreSQL restarts under a storm (issue 10): `quell api` and `quell worker` stay up, ingest
 * keeps answering 202 (Redis has the alerts), reads answer 503 `database_unavailable`, /readyz
 * names the database, and once PostgreSQL is back the worker resumes by itself: every alert
 * that got a 202 is stored exactly once and linked to an incident, nothing failed.
 * The test runs its own PostgreSQL and Redis, never the shared ones.
 */
const INGEST_TOKEN = 'pg-restart-ingest-token-0123';
const API_TOKEN = 'pg-restart-api-token-0123456';
const PER_REQUEST = 50;
const SENDERS = 3;
const PACE_MS = 150;

let pg: PgServer;
let redis: TestRedisServer;
let redisUrl: string;
let databaseUrl: string;
let db: Kysely<Database>;
let bull: Queue;
let bullConnection: IORedis;
let api: QuellProcess;
let worker: QuellProcess;
let apiBase: string;
let workerBase: string;
/** Every alert (its `instance` label, unique) that Quell answered 202 for, over both tests. */
const accepted = new Set<string>();

beforeAll(async () => {
  const [apiPort, metricsPort] = await freePorts(2) as [number, number];
  redis = await testRedisServer();
  redisUrl = redis.url;
  pg = await startPgServer();
  databaseUrl = await pg.createDatabase('quell');
  bullConnection = new IORedis(redisUrl, { maxRetriesPerRequest: null });
  bull = new Queue('quell-ingest', { connection: bullConnection });

  const env = {
    REDIS_URL: redisUrl, DATABASE_URL: databaseUrl, QUELL_HOST: '127.0.0.1', QUELL_PORT: String(apiPort),
    QUELL_METRICS_PORT: String(metricsPort), QUELL_INGEST_TOKEN: INGEST_TOKEN, QUELL_API_TOKEN: API_TOKEN,
    QUELL_OPEN_READS: 'true', // not about auth
  };
  api = startQuell('api', env);
  await api.waitForLog('api listening');
  worker = startQuell('worker', env);
  await worker.waitForLog('worker started');
  apiBase = `http://127.0.0.1:${apiPort}`;
  workerBase = `http://127.0.0.1:${metricsPort}`;
  ({ db } = await connectDatabase({ url: databaseUrl, dataDir: pg.dir, poolSize: 2 }));
}, 60_000);

afterAll(async () => {
  // A failed beforeAll leaves the later of these unset: release what it set.
  /* eslint-disable @typescript-eslint/no-unnecessary-condition -- the declared types assume beforeAll finished */
  await Promise.all([api, worker].map((p) => p?.stop('SIGKILL')));
  await db?.destroy();
  await bull?.close();
  bullConnection?.disconnect();
  await pg?.destroy();
  await redis?.kill();
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
});

interface Storm {
  /** Ingest answers by status (`error`: no answer at all). */
  readonly answers: Map<string, number>;
  /** Pause between a sender's requests (ms); 0: as fast as they go. */
  paceMs: number;
  stop(): Promise<void>;
}

/**
 * `SENDERS` concurrent senders posting `PER_REQUEST` new alerts each, and a reader listing
 * incidents all along (a read in flight when PostgreSQL goes is what crashed the API).
 */
function startStorm(prefix: string): Storm {
  let running = true;
  let seq = 0;
  const storm: Storm = { answers: new Map(), paceMs: 0, stop: async () => undefined };
  const sender = async (): Promise<void> => {
    while (running) {
      const instances = Array.from({ length: PER_REQUEST }, () => `${prefix}-${seq++}`);
      const alerts = instances.map((instance, i) => ({
        labels: { alertname: 'PgRestart', cluster: prefix, service: `svc-${i % 10}`, instance },
      }));
      let status: string;
      try {
        const res = await fetch(`${apiBase}/ingest/alertmanager`, {
          method: 'POST', body: JSON.stringify(webhookPayload(alerts)),
          headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
        });
        await res.arrayBuffer();
        status = String(res.status);
      } catch {
        status = 'error';
      }
      storm.answers.set(status, (storm.answers.get(status) ?? 0) + 1);
      if (status === '202') for (const i of instances) accepted.add(i);
      await new Promise((r) => setTimeout(r, storm.paceMs));
    }
  };
  const reader = async (): Promise<void> => {
    while (running) {
      await fetch(`${apiBase}/api/v1/incidents?limit=5`).then((r) => r.arrayBuffer(), () => undefined);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const loops = [...Array.from({ length: SENDERS }, sender), reader()];
  storm.stop = async () => { running = false; await Promise.all(loops); };
  return storm;
}

const get = async (url: string, token?: string): Promise<{ status: number; body: any; headers: Headers }> => {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text.startsWith('{') ? JSON.parse(text) : text };
};

const linked = async (): Promise<number> => Number((await db.selectFrom('incident_alerts')
  .select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);

const pauseLines = (): number => worker.output().split('\n').filter((l) => l.includes('database unavailable')).length;

const promtoolCheck = (text: string): Promise<string> => new Promise((resolve, reject) => {
  const child = execFile('/usr/bin/promtool', ['check', 'metrics'], (err, stdout, stderr) => {
    if (err) reject(new Error(`promtool check metrics: ${stdout}${stderr}`)); else resolve(stdout + stderr);
  });
  child.stdin?.end(text);
});

async function restartUnderStorm(mode: PgStopMode): Promise<void> {
  const started = Date.now();
  const linkedBefore = await linked();
  const acceptedBefore = accepted.size;
  const pausesBefore = pauseLines();
  const storm = startStorm(mode);
  const alive = (): void => {
    expect({ api: api.child.exitCode, worker: worker.child.exitCode }).toEqual({ api: null, worker: null });
  };
  try {
    // A burst, then PostgreSQL goes while the worker is busy with a backlog.
    await waitFor(async () => {
      const n = await linked();
      return n > linkedBefore + 200 && accepted.size - n >= 1000;
    }, 20_000, 'the worker applying the storm, with a backlog', 20);
    storm.paceMs = PACE_MS;
    const stopAt = Date.now();
    await pg.stop(mode);
    const stoppedMs = Date.now() - stopAt;
    const acceptedAtStop = accepted.size;
    await new Promise((r) => setTimeout(r, 2000));
    alive();

    // While PostgreSQL is down: both processes up, reads 503, /readyz names the database.
    const ready = await waitFor(async () => {
      const r = await get(`${apiBase}/readyz`);
      return r.status === 503 ? r : undefined;
    }, 5000, '/readyz to answer 503');
    expect(ready.body).toEqual({ status: 'not ready', reasons: { database: 'PostgreSQL unreachable' } });
    expect(JSON.stringify(ready.body)).not.toContain(String(pg.port));
    const detailed = await get(`${apiBase}/readyz`, API_TOKEN);
    expect(detailed.status).toBe(503);
    expect(detailed.body.reasons).toEqual({ database: 'PostgreSQL unreachable' });
    expect(detailed.body.details.database).toEqual(expect.stringContaining(String(pg.port)));
    const workerReady = await get(`${workerBase}/readyz`);
    expect({ status: workerReady.status, body: workerReady.body })
      .toEqual({ status: 503, body: { status: 'not ready', reasons: { database: 'PostgreSQL unreachable' } } });

    const list = await get(`${apiBase}/api/v1/incidents`);
    expect(list.status).toBe(503);
    expect(list.body.error).toMatchObject({ code: 'database_unavailable', retryable: true });
    expect(list.headers.get('retry-after')).toBe('5');
    const ack = await fetch(`${apiBase}/api/v1/incidents/1/acknowledge`, {
      method: 'POST', headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    expect({ status: ack.status, code: ((await ack.json()) as any).error.code })
      .toEqual({ status: 503, code: 'database_unavailable' });

    const metrics = (await get(`${apiBase}/metrics`)).body as string;
    expect(metrics).toMatch(/^quell_dependency_up\{dependency="database"\} 0$/m);
    expect(metrics).toMatch(/^quell_dependency_up\{dependency="queue"\} 1$/m);
    expect(metrics).toMatch(/^quell_incidents_open NaN$/im); // prom-client writes Nan
    await promtoolCheck(metrics);

    // Keep the outage going a few seconds under the storm; ingest keeps taking alerts.
    await waitFor(async () => Date.now() - stopAt > 4000 && accepted.size > acceptedAtStop + 500,
      15_000, 'ingest during the outage');
    alive();
    const acceptedInOutage = accepted.size - acceptedAtStop;

    const startAt = Date.now();
    await pg.start();
    const downMs = Date.now() - stopAt;
    const linkedAtStart = await linked();
    await new Promise((r) => setTimeout(r, 1000));
    await storm.stop();
    alive();
    expect(Object.fromEntries(storm.answers)).toEqual({ '202': expect.any(Number) });

    // The worker resumes by itself and everything accepted lands exactly once.
    await waitFor(async () => (await linked()) > linkedAtStart, 30_000, 'the worker to resume');
    const resumedMs = Date.now() - startAt;
    await waitFor(async () => (await linked()) === accepted.size, 60_000, `all ${accepted.size} alerts linked`, 200);
    await waitFor(async () => {
      const c = await bull.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(c).every((n) => n === 0);
    }, 10_000, 'the queue drained');
    const drainedMs = Date.now() - startAt;
    const stats = await recordStats(db);
    const n = String(accepted.size);
    expect(stats).toEqual({ alerts: n, seen_twice: '0', linked: n, counted: n });
    const instances = await db.selectFrom('alerts').select(sql<string>`labels->>'instance'`.as('i')).execute();
    expect(new Set(instances.map((r) => r.i))).toEqual(accepted);
    expect(await bull.getJobCounts('failed')).toEqual({ failed: 0 });

    const pauses = pauseLines() - pausesBefore;
    expect(pauses).toBeLessThan(8); // once per pause (1 s, 2 s, 4 s...), not once per job
    console.log(`pg_ctl stop -m ${mode}: ${accepted.size - acceptedBefore} alerts in ${storm.answers.get('202')} `
      + `requests, all 202 (${acceptedInOutage} while PostgreSQL was down); stop took ${stoppedMs} ms, `
      + `down ${downMs} ms; the worker resumed ${resumedMs} ms and drained the queue ${drainedMs} ms after `
      + `the start, with ${pauses} pause log lines; scenario ${Date.now() - started} ms`);
  } catch (err) {
    console.log(`worker:\n${worker.output().slice(-4000)}\napi:\n${api.output().slice(-4000)}`);
    throw err;
  } finally {
    await storm.stop();
    if (!(await pg.isUp())) await pg.start();
  }
}

test('pg_ctl stop -m fast mid-storm: nothing crashes, reads 503, the worker resumes, each 202 lands once', async () => {
  await restartUnderStorm('fast');
}, 90_000);

test('pg_ctl stop -m immediate mid-storm: the same', async () => {
  await restartUnderStorm('immediate');
}, 90_000);
