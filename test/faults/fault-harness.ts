import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { Pool } from 'pg';
import { freePorts } from '../support/net';
import { startPgServer, type PgServer } from '../support/pg-server';
import { startQuell, type QuellProcess } from '../support/quell-process';
import { testRedisServer, type TestRedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait';

export const TOKEN = 'fault-suite-token-0123456789';

/** What the record holds after a storm: read straight from PostgreSQL. */
export interface RecordCounts {
  readonly alerts: number;
  /** Alerts applied more than once (a resend Quell could not recognise as the same job). */
  readonly appliedTwice: number;
  readonly linked: number;
  readonly counted: number;
}

/**
 * A whole Quell deployment of its own for one fault scenario: a PostgreSQL server (initdb in a
 * temp dir), a Redis with an fsync-always append-only file (as the README asks of production),
 * `quell api` and `workers` × `quell worker`, each a real process. Nothing shared is touched.
 */
export interface Harness {
  readonly pg: PgServer;
  readonly redis: TestRedisServer;
  readonly api: QuellProcess;
  readonly workers: QuellProcess[];
  readonly base: string;
  /** Starts one more `quell worker` (after a kill). */
  startWorker(): Promise<QuellProcess>;
  /** SIGKILLs one of its processes on purpose (not counted as a crash). */
  kill(p: QuellProcess): void;
  counts(): Promise<RecordCounts>;
  failedJobs(): Promise<number>;
  /** Processes that exited though no scenario stopped them. */
  crashed(): string[];
  close(): Promise<void>;
}

export async function startHarness(workers = 1): Promise<Harness> {
  const pg = await startPgServer();
  const aofDir = mkdtempSync(join(tmpdir(), 'quell-redis-'));
  const redis = await testRedisServer({ aofDir });
  const databaseUrl = await pg.createDatabase('quell');
  const [apiPort, ...metricsPorts] = await freePorts(1 + workers + 8);
  const env = {
    REDIS_URL: redis.url, DATABASE_URL: databaseUrl, QUELL_INGEST_TOKEN: TOKEN, QUELL_API_TOKEN: TOKEN,
    QUELL_HOST: '127.0.0.1', QUELL_LOCK_DURATION_MS: '3000', QUELL_LOG_LEVEL: 'warn',
  };
  const killedOnPurpose = new Set<QuellProcess>();
  const api = startQuell('api', { ...env, QUELL_PORT: String(apiPort) });
  const base = `http://127.0.0.1:${apiPort}`;
  await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 30_000, 'quell api ready');
  const started: QuellProcess[] = [];
  const startWorker = async (): Promise<QuellProcess> => {
    const port = metricsPorts.shift() ?? 0;
    const w = startQuell('worker', { ...env, QUELL_METRICS_PORT: String(port) });
    started.push(w);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200, 30_000, 'quell worker up');
    return w;
  };
  for (let i = 0; i < workers; i++) await startWorker();

  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  pool.on('error', () => { /* the server is stopped on purpose */ });
  pool.on('connect', (client) => client.on('error', () => { /* likewise */ }));
  const bullRedis = new IORedis(redis.url, { maxRetriesPerRequest: null });
  bullRedis.on('error', () => { /* likewise */ });
  const bull = new Queue('quell-ingest', { connection: bullRedis });
  bull.on('error', () => { /* likewise */ });

  const harness: Harness = {
    pg, redis, api, base,
    get workers() { return started.filter((w) => !killedOnPurpose.has(w)); },
    startWorker,
    kill(p) { killedOnPurpose.add(p); p.child.kill('SIGKILL'); },
    async counts() {
      const { rows } = await pool.query<Record<keyof RecordCounts, string>>(`select
        (select count(*) from alerts) as alerts,
        (select count(*) from alerts where occurrences > 1) as "appliedTwice",
        (select count(*) from incident_alerts) as linked,
        (select coalesce(sum(alert_count), 0) from incidents) as counted`);
      const r = rows[0] as Record<keyof RecordCounts, string>;
      return {
        alerts: Number(r.alerts), appliedTwice: Number(r.appliedTwice),
        linked: Number(r.linked), counted: Number(r.counted),
      };
    },
    async failedJobs() {
      return (await bull.getJobCounts('failed'))['failed'] ?? 0;
    },
    crashed() {
      const exited = (p: QuellProcess): boolean => p.child.exitCode !== null || p.child.signalCode !== null;
      return [api, ...started].filter((p) => !killedOnPurpose.has(p) && exited(p))
        .map((p) => `${p === api ? 'api' : 'worker'} pid ${p.child.pid} `
          + `(exit ${p.child.exitCode ?? p.child.signalCode})`);
    },
    async close() {
      await Promise.all([api, ...started].map((p) => p.stop('SIGKILL')));
      await bull.close().catch(() => undefined);
      bullRedis.disconnect();
      await pool.end().catch(() => undefined);
      redis.resume();
      await redis.kill();
      await pg.destroy();
      rmSync(aofDir, { recursive: true, force: true });
    },
  };
  return harness;
}
