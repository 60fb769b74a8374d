/**
 * Alert-storm benchmark: Quell (`quell api` + N `quell worker` on Redis and PostgreSQL)
 * against Prometheus Alertmanager taking the same storm on its own API.
 *
 *   npm run bench                      (builds, then runs dist/scripts/bench.js)
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
 *                       so the shipped topology rule correlates them           0
 *
 * Everything it creates (database, queue, processes, temporary directory) is removed at the
 * end, also on failure or Ctrl-C. Exits non-zero when anything went wrong.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { Client } from 'pg';
import { webhookPayload, type TestAlert } from '../test/support/alertmanager-payload';
import { freePort, freePorts } from '../test/support/net';
import { CLI, REPO } from '../test/support/quell-process';
import { seededRandom } from '../test/quality/seeded-random';

// ---------------------------------------------------------------------------------------------
// Settings


function intEnv(name: string, def: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}: expected an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

const S = {
  adminUrl: process.env['BENCH_DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: process.env['BENCH_REDIS_URL'] || 'redis://127.0.0.1:6379',
  alerts: intEnv('BENCH_ALERTS', 100_000),
  batch: intEnv('BENCH_BATCH', 64),
  clients: intEnv('BENCH_CLIENTS', 32),
  workers: intEnv('BENCH_WORKERS', 2),
  concurrency: intEnv('BENCH_CONCURRENCY', 32),
  dbPoolSize: process.env['BENCH_DB_POOL_SIZE'] ? intEnv('BENCH_DB_POOL_SIZE', 10) : undefined,
  timeoutS: intEnv('BENCH_TIMEOUT_S', 600),
  topology: process.env['BENCH_TOPOLOGY'] === '1',
  alertmanager: process.env['BENCH_ALERTMANAGER'] ?? '/usr/bin/prometheus-alertmanager',
  out: process.env['BENCH_OUT'] || undefined,
  seed: intEnv('BENCH_SEED', 1, 0),
};

const STARTUP_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 30_000;
const KILL_GRACE_MS = 5_000;

const say = (line: string): void => { process.stdout.write(`${line}\n`); };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Rejects after `ms` with `what` in the message; the timer does not hold the process. */
function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`${what}: no result within ${ms} ms`)), ms);
    t.unref();
    p.then((v) => { clearTimeout(t); res(v); }, (e: unknown) => { clearTimeout(t); rej(e as Error); });
  });
}

// ---------------------------------------------------------------------------------------------
// Clean-up: a stack of undo steps, run once, newest first, each bounded in time.

const undo: { what: string; run: () => Promise<void> }[] = [];
let cleaning: Promise<void> | undefined;

function onCleanup(what: string, run: () => Promise<void>): void {
  undo.push({ what, run });
}

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (undo.length > 0) {
      const step = undo.pop()!;
      try {
        await bounded(step.run(), 20_000, `clean-up: ${step.what}`);
      } catch (err) {
        process.stderr.write(`bench: clean-up step failed (${step.what}): ${(err as Error).message}\n`);
      }
    }
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}: cleaning up\n`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// Child processes

interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  /** Last lines written (stdout and stderr). */
  tail(): string;
  /** Lines at warn level or above, and lines that are not JSON logs (stack traces). */
  readonly problems: string[];
  problemCount: number;
  waitForLog(text: string, timeoutMs: number): Promise<void>;
  exited: Promise<number | string>;
  stop(): Promise<number | string>;
}

const TAIL_LINES = 200;
const KEPT_PROBLEMS = 30;

function startProcess(name: string, command: string, args: string[], env: Record<string, string>, cwd = REPO): Proc {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: { text: string; done: () => void }[] = [];
  const problems: string[] = [];
  let exitInfo: number | string | undefined;
  const exited = new Promise<number | string>((r) => {
    child.on('exit', (code, signal) => { exitInfo = code ?? String(signal); r(exitInfo); });
    child.on('error', (err) => { exitInfo = `spawn error: ${err.message}`; r(exitInfo); });
  });
  const proc: Proc = {
    name, child, problems, problemCount: 0, exited,
    tail: () => lines.join('\n'),
    waitForLog(text, timeoutMs) {
      if (lines.some((l) => l.includes(text))) return Promise.resolve();
      return new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error(`${name} did not log ${JSON.stringify(text)} within ${timeoutMs} ms; last output:\n${proc.tail()}`)), timeoutMs);
        waiters.push({ text, done: () => { clearTimeout(t); res(); } });
        void exited.then((code) => { clearTimeout(t); rej(new Error(`${name} exited (${code}) before logging ${JSON.stringify(text)}; output:\n${proc.tail()}`)); });
      });
    },
    async stop() {
      if (exitInfo !== undefined) return exitInfo;
      child.kill('SIGTERM');
      const killer = setTimeout(() => { if (exitInfo === undefined) child.kill('SIGKILL'); }, KILL_GRACE_MS);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
  const onLine = (line: string, stream: 'stdout' | 'stderr'): void => {
    if (line === '') return;
    lines.push(line);
    if (lines.length > TAIL_LINES) lines.shift();
    let problem = stream === 'stderr';
    if (line.startsWith('{')) {
      try {
        const level = (JSON.parse(line) as { level?: unknown }).level;
        problem = typeof level === 'number' && level >= 40;
      } catch { problem = true; }
    } else if (name.startsWith('quell')) {
      problem = true;
    }
    if (problem) {
      proc.problemCount++;
      if (problems.length < KEPT_PROBLEMS) problems.push(line.length > 2000 ? `${line.slice(0, 2000)}...` : line);
      if (proc.problemCount <= 5) process.stderr.write(`[${name}] ${line.slice(0, 1000)}\n`);
      if (proc.problemCount === 6) process.stderr.write(`[${name}] (further warnings counted, not shown)\n`);
    }
    for (const w of [...waiters]) if (line.includes(w.text)) { waiters.splice(waiters.indexOf(w), 1); w.done(); }
  };
  for (const stream of ['stdout', 'stderr'] as const) {
    let partial = '';
    child[stream]!.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop()!;
      for (const p of parts) onLine(p, stream);
    });
    child[stream]!.on('end', () => { if (partial) onLine(partial, stream); partial = ''; });
  }
  onCleanup(`stop ${name}`, async () => { await proc.stop(); });
  return proc;
}



function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = http.get(url, { agent: false }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => { body += c; });
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
      r.on('error', rej);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.on('error', rej);
  });
}

/** Polls `url` until it answers 200; fails early when `proc` exits. */
async function waitReady(url: string, proc: Proc, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: number | string | undefined;
  void proc.exited.then((c) => { exited = c; });
  let last = '';
  for (;;) {
    if (exited !== undefined) throw new Error(`${proc.name} exited (${exited}) before ${url} was ready; output:\n${proc.tail()}`);
    try {
      const r = await httpGet(url);
      if (r.status === 200) return;
      last = `${r.status} ${r.body.slice(0, 300)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready within ${timeoutMs} ms (last: ${last}); ${proc.name} output:\n${proc.tail()}`);
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------
// The storm

const ALERT_NAMES = [
  'HighErrorRate', 'HighLatency', 'PodCrashLooping', 'DiskFillingUp', 'HighMemoryUsage',
  'HighCPUUsage', 'CertificateExpiring', 'ReplicasMismatch', 'QueueBacklog', 'JobFailed',
  'ErrorBudgetBurn', 'TooManyRestarts', 'SlowQueries', 'ConnectionPoolExhausted', 'PacketLoss',
  'ClockSkew', 'BackupMissing', 'ThrottlingHigh', 'ConfigReloadFailed', 'LeaderElectionFlapping',
];
const CLUSTERS = 5;
const SERVICES = 50;

interface Storm {
  readonly quellBodies: Buffer[];
  readonly alertmanagerBodies: Buffer[];
  readonly sizes: number[];
  readonly groups: number;
}

/**
 * `alerts` distinct label sets (the instance is unique), batched into requests: the same
 * alerts as an Alertmanager webhook payload (for Quell) and as an Alertmanager API v2 body.
 */
/** The cluster of storm host `i` (its CI id carries it, so the CMDB can name every host). */
const hostCluster = (i: number): string => `cluster-${i % CLUSTERS}`;

function buildStorm(alerts: number, batch: number, seed: number, startsAt: string): Storm {
  const rand = seededRandom(seed).next; // every run, and both targets, see the same storm
  const pick = (n: number): number => Math.floor(rand() * n);
  const groups = new Set<string>();
  const quellBodies: Buffer[] = [];
  const alertmanagerBodies: Buffer[] = [];
  const sizes: number[] = [];
  for (let from = 0; from < alerts; from += batch) {
    const part: TestAlert[] = [];
    for (let i = from; i < Math.min(alerts, from + batch); i++) {
      const alertname = ALERT_NAMES[pick(ALERT_NAMES.length)]!;
      const cluster = hostCluster(i);
      pick(CLUSTERS); // the draw stays, so the other labels are as before
      const service = `svc-${String(pick(SERVICES)).padStart(2, '0')}`;
      groups.add(`${alertname}/${cluster}/${service}`);
      part.push({
        labels: {
          alertname, cluster, service,
          instance: `host-${i}.${cluster}.example:9100`,
          severity: alertname.length % 3 === 0 ? 'critical' : 'warning',
        },
        startsAt,
      });
    }
    const payload = webhookPayload(part) as { alerts: Record<string, unknown>[] };
    quellBodies.push(Buffer.from(JSON.stringify(payload)));
    // The API v2 postable alert: the same labels, annotations, start and generator URL; no
    // endsAt (Alertmanager then resolves after its resolve_timeout).
    alertmanagerBodies.push(Buffer.from(JSON.stringify(payload.alerts.map((a) => ({
      labels: a['labels'], annotations: a['annotations'], startsAt: a['startsAt'], generatorURL: a['generatorURL'],
    })))));
    sizes.push(part.length);
  }
  return { quellBodies, alertmanagerBodies, sizes, groups: groups.size };
}

interface StormResult {
  readonly requests: number;
  readonly okRequests: number;
  readonly okAlerts: number;
  /** Answers other than the expected status, by status. */
  readonly unexpected: Record<string, number>;
  readonly unexpectedSample: string[];
  /** Requests that got no answer (connection error, timeout). */
  readonly errors: number;
  readonly errorSample: string[];
  /** Wall clock (ms since epoch) when the first request was sent. */
  readonly firstSentAt: number;
  /** From the first request sent to the last accepted answer. */
  readonly acceptWallMs: number;
  readonly acceptedPerSecond: number;
  readonly latencyMs: { p50: number; p90: number; p99: number; max: number };
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/**
 * Sends `bodies` with `clients` requests in flight over keep-alive connections; every
 * answer should be `expect`. Bodies are prebuilt, so the client's JSON cost is not timed.
 */
async function runStorm(label: string, target: { port: number; path: string; headers: Record<string, string> }, bodies: Buffer[], sizes: number[], clients: number, expect: number, timeoutMs: number): Promise<StormResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients, maxFreeSockets: clients });
  const latencies = new Float64Array(bodies.length);
  const unexpected: Record<string, number> = {};
  const unexpectedSample: string[] = [];
  const errorSample: string[] = [];
  let okRequests = 0, okAlerts = 0, errors = 0, done = 0, next = 0;
  let lastOk = 0;
  let aborted = false;
  const deadline = setTimeout(() => { aborted = true; }, timeoutMs);

  const send = (i: number): Promise<void> => new Promise((res) => {
    const body = bodies[i]!;
    const started = performance.now();
    const req = http.request({
      host: '127.0.0.1', port: target.port, path: target.path, method: 'POST', agent,
      headers: { ...target.headers, 'content-type': 'application/json', 'content-length': body.length },
    }, (r) => {
      const status = r.statusCode ?? 0;
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => { if (status !== expect && text.length < 500) text += c; });
      r.on('end', () => {
        const now = performance.now();
        latencies[i] = now - started;
        if (status === expect) {
          okRequests++;
          okAlerts += sizes[i]!;
          lastOk = now;
        } else {
          unexpected[status] = (unexpected[status] ?? 0) + 1;
          if (unexpectedSample.length < 5) unexpectedSample.push(`${status} ${text.slice(0, 300)}`);
        }
        done++;
        res();
      });
      r.on('error', (err) => { errors++; if (errorSample.length < 5) errorSample.push(err.message); done++; res(); });
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (err) => {
      latencies[i] = performance.now() - started;
      errors++;
      if (errorSample.length < 5) errorSample.push(err.message);
      done++;
      res();
    });
    req.end(body);
  });

  const firstSentAt = Date.now();
  const t0 = performance.now();
  const progress = setInterval(() => {
    say(`  ${label}: answered ${done}/${bodies.length} requests (${okAlerts} alerts accepted, ${Math.round(okAlerts / ((performance.now() - t0) / 1000))} alerts/s)`);
  }, 2000);
  try {
    await Promise.all(Array.from({ length: Math.min(clients, bodies.length) }, async () => {
      for (;;) {
        if (aborted) return;
        const i = next++;
        if (i >= bodies.length) return;
        await send(i);
      }
    }));
  } finally {
    clearInterval(progress);
    clearTimeout(deadline);
    agent.destroy();
  }
  if (aborted) throw new Error(`${label}: the storm did not finish within ${timeoutMs} ms (${done}/${bodies.length} requests answered)`);
  const sorted = latencies.slice(0, done).sort();
  const acceptWallMs = lastOk > 0 ? lastOk - t0 : NaN;
  return {
    requests: bodies.length, okRequests, okAlerts, unexpected, unexpectedSample, errors, errorSample, firstSentAt, acceptWallMs,
    acceptedPerSecond: okAlerts / (acceptWallMs / 1000),
    latencyMs: { p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] ?? NaN },
  };
}

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
  /** Per pipeline stage, summed over the workers: jobs (stage runs) and mean ms per run. */
  readonly stages: { stage: string; runs: number; meanMs: number; totalS: number }[];
}

/**
 * The workers' `quell_pipeline_stage_seconds` (sum and count per stage), added up: where a
 * batch's time goes. A worker that does not answer is left out (said on stdout).
 */
async function stageBreakdown(ports: readonly number[]): Promise<QuellResult['stages']> {
  const sum = new Map<string, number>(), count = new Map<string, number>();
  for (const port of ports) {
    let body: string;
    try {
      body = (await httpGet(`http://127.0.0.1:${port}/metrics`, 5000)).body;
    } catch (err) {
      say(`  metrics of the worker on :${port} not read: ${(err as Error).message}`);
      continue;
    }
    for (const m of body.matchAll(/^quell_pipeline_stage_seconds_(sum|count)\{stage="([^"]+)"\} (\S+)$/gm)) {
      const into = m[1] === 'sum' ? sum : count;
      into.set(m[2]!, (into.get(m[2]!) ?? 0) + Number(m[3]));
    }
  }
  return [...sum].map(([stage, s]) => {
    const runs = count.get(stage) ?? 0;
    return { stage, runs, meanMs: runs > 0 ? (s / runs) * 1000 : NaN, totalS: s };
  });
}

async function adminQuery(statement: string): Promise<void> {
  const client = new Client({ connectionString: S.adminUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

async function benchQuell(storm: Storm, tmp: string): Promise<QuellResult> {
  // The database and the queue.
  const suffix = randomBytes(6).toString('hex');
  const dbName = `quell_bench_${suffix}`;
  const queueName = `quell-bench-${suffix}`;
  await bounded(adminQuery(`create database ${dbName}`), 15_000, 'create database');
  onCleanup(`drop database ${dbName}`, () => adminQuery(`drop database if exists ${dbName} with (force)`));
  const dbUrl = new URL(S.adminUrl);
  dbUrl.pathname = `/${dbName}`;

  const redis = new IORedis(S.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
  redis.on('error', () => { /* surfaced per command */ });
  await bounded(redis.connect(), 5000, 'connect to Redis');
  const queue = new Queue(queueName, { connection: redis });
  onCleanup(`obliterate queue ${queueName}`, async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    redis.disconnect();
  });
  say(`database ${dbName}, queue ${queueName}`);

  const token = randomBytes(24).toString('hex');
  const apiToken = randomBytes(24).toString('hex');
  const [apiPort, ...metricsPorts] = await freePorts(1 + S.workers);
  const env = (extra: Record<string, string>): Record<string, string> => ({
    PATH: process.env['PATH'] ?? '',
    REDIS_URL: S.redisUrl,
    DATABASE_URL: dbUrl.toString(),
    QUELL_QUEUE_NAME: queueName,
    QUELL_HOST: '127.0.0.1',
    QUELL_PORT: String(apiPort),
    QUELL_INGEST_TOKEN: token,
    QUELL_API_TOKEN: apiToken,
    QUELL_RULES_DIR: join(REPO, 'rules'),
    QUELL_DATA_DIR: join(tmp, 'quell-data'),
    QUELL_LOG_LEVEL: 'warn',
    QUELL_WORKER_CONCURRENCY: String(S.concurrency),
    ...(S.dbPoolSize !== undefined ? { QUELL_DB_POOL_SIZE: String(S.dbPoolSize) } : {}),
    // Any other QUELL_* setting in the bench's own environment reaches Quell (for tuning runs).
    ...Object.fromEntries(Object.entries(process.env).filter(([k, v]) => k.startsWith('QUELL_') && v !== undefined)) as Record<string, string>,
    ...extra,
  });

  // Migrations once, so that the processes do not race on them.
  const migrate = startProcess('quell migrate', process.execPath, [CLI, 'migrate'], env({}));
  const migrated = await bounded(migrate.exited, STARTUP_TIMEOUT_MS, 'quell migrate');
  if (migrated !== 0) throw new Error(`quell migrate exited ${migrated}; output:\n${migrate.tail()}`);

  const api = startProcess('quell api', process.execPath, [CLI, 'api'], env({}));
  await waitReady(`http://127.0.0.1:${apiPort}/readyz`, api, STARTUP_TIMEOUT_MS);
  if (S.topology) {
    // Every storm host is a CI (bound by its instance), 16 behind each switch: the shipped
    // topology rule takes every alert, and its per-rule lock and root-cause stage are measured.
    const hosts = Array.from({ length: S.alerts }, (_, i) => i);
    const cis = [
      ...Array.from({ length: Math.ceil(S.alerts / 16) }, (_, s) => ({ id: `sw-${s}`, type: 'switch', labels: {} })),
      ...hosts.map((i) => ({ id: `host-${i}.${hostCluster(i)}.example`, type: 'host', labels: {} })),
    ];
    const relations = hosts.map((i) => ({ from: `host-${i}.${hostCluster(i)}.example`, type: 'depends_on', to: `sw-${Math.floor(i / 16)}` }));
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
    port: apiPort!, path: '/ingest/alertmanager', headers: { authorization: `Bearer ${token}` },
  }, storm.quellBodies, storm.sizes, S.clients, 202, S.timeoutS * 1000);
  await bounded(queue.obliterate({ force: true }), 30_000, 'empty the queue after the ingest-only storm');

  const workers = metricsPorts.map((port, i) =>
    startProcess(`quell worker ${i + 1}`, process.execPath, [CLI, 'worker'], env({ QUELL_METRICS_PORT: String(port) })));
  // At QUELL_LOG_LEVEL=warn the "worker started" line (info) is not written; a worker serves
  // its /readyz only after its consumer has started, so that answer stands for the line.
  await Promise.all(workers.map((w, i) => waitReady(`http://127.0.0.1:${metricsPorts[i]}/readyz`, w, STARTUP_TIMEOUT_MS)));
  say(`quell: api on :${apiPort}, ${S.workers} workers x ${S.concurrency} ready`);

  const db = new Client({ connectionString: dbUrl.toString(), connectionTimeoutMillis: 5000 });
  await db.connect();
  onCleanup('close the bench database connection', () => db.end());
  const count = async (): Promise<number> => (await db.query<{ n: number }>('select count(*)::int as n from incident_alerts')).rows[0]!.n;
  const queueCounts = async (): Promise<Record<string, number>> =>
    bounded(queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized'), 5000, 'queue counts');

  say(`quell: storm to POST /ingest/alertmanager`);
  const result = await runStorm('quell', {
    port: apiPort!, path: '/ingest/alertmanager', headers: { authorization: `Bearer ${token}` },
  }, storm.quellBodies, storm.sizes, S.clients, 202, S.timeoutS * 1000);
  say(`quell: storm done: ${result.okAlerts} alerts accepted in ${(result.acceptWallMs / 1000).toFixed(1)} s; waiting for them to be linked to incidents`);

  // Every accepted alert should end up in incident_alerts.
  const target = result.okAlerts;
  const deadline = performance.now() + S.timeoutS * 1000;
  let linked = 0, lastPrint = performance.now(), printedAt = -1, drainedSince = 0;
  for (;;) {
    linked = await bounded(count(), 10_000, 'count incident_alerts');
    if (linked >= target) break;
    // The rate is over the last interval (workers link during the storm already).
    if (printedAt < 0) { printedAt = linked; lastPrint = performance.now(); }
    const now = performance.now();
    if (now - lastPrint >= 2000) {
      const c = await queueCounts();
      const rate = Math.round((linked - printedAt) / ((now - lastPrint) / 1000));
      say(`  linked ${linked}/${target} (${rate} alerts/s); queue waiting ${(c['waiting'] ?? 0) + (c['prioritized'] ?? 0)}, active ${c['active']}, delayed ${c['delayed']}, failed ${c['failed']}`);
      lastPrint = now;
      printedAt = linked;
      // A drained queue with alerts missing will not get better: stop early, with the facts.
      const pending = (c['waiting'] ?? 0) + (c['prioritized'] ?? 0) + (c['active'] ?? 0) + (c['delayed'] ?? 0);
      if (pending === 0) {
        drainedSince ||= now;
        if (now - drainedSince > 10_000) throw new Error(`the queue is drained (failed jobs: ${c['failed']}) but only ${linked}/${target} alerts are linked`);
      } else {
        drainedSince = 0;
      }
    }
    if (now > deadline) throw new Error(`only ${linked}/${target} alerts linked after ${S.timeoutS} s`);
    await sleep(200);
  }

  const stats = (await db.query<{ p: number[]; mx: number; last_linked: Date }>(`
    select percentile_cont(array[0.5, 0.9, 0.99]) within group (order by extract(epoch from linked_at - received_at)::float8) as p,
           max(extract(epoch from linked_at - received_at))::float8 as mx,
           max(linked_at) as last_linked
      from incident_alerts`)).rows[0]!;
  const incidents = (await db.query<{ n: number }>('select count(*)::int as n from incidents')).rows[0]!.n;
  const queueAtEnd = await queueCounts();
  const endToEndMs = stats.last_linked.getTime() - result.firstSentAt;

  const stages = await stageBreakdown(metricsPorts as number[]);
  // Stop Quell before the peer runs, so that the peer has the machine to itself.
  const procs = [api, ...workers];
  const exits = await Promise.all(procs.map((p) => p.stop()));
  return {
    storm: result,
    ingestOnly,
    linked,
    endToEndMs,
    endToEndPerSecond: linked / (endToEndMs / 1000),
    receiptToIncidentMs: { p50: stats.p[0]! * 1000, p90: stats.p[1]! * 1000, p99: stats.p[2]! * 1000, max: stats.mx * 1000 },
    incidents,
    queue: queueAtEnd,
    processes: procs.map((p, i) => ({ name: p.name, exit: exits[i]!, warnings: p.problemCount, sample: p.problems.slice(0, 10) })),
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

async function benchAlertmanager(storm: Storm, tmp: string): Promise<AlertmanagerResult> {
  const dir = join(tmp, 'alertmanager');
  const config = join(tmp, 'alertmanager.yml');
  writeFileSync(config, [
    'route:',
    "  receiver: 'null'",
    "  group_by: ['alertname', 'cluster', 'service']",
    'receivers:',
    "  - name: 'null'",
    '',
  ].join('\n'));
  const port = await freePort();
  const am = startProcess('alertmanager', S.alertmanager, [
    `--config.file=${config}`, `--storage.path=${dir}`, `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=', '--log.level=warn',
  ], { PATH: process.env['PATH'] ?? '' }, tmp);
  await waitReady(`http://127.0.0.1:${port}/-/ready`, am, STARTUP_TIMEOUT_MS);
  let version = 'unknown';
  try {
    const status = await httpGet(`http://127.0.0.1:${port}/api/v2/status`);
    version = (JSON.parse(status.body) as { versionInfo?: { version?: string } }).versionInfo?.version ?? version;
  } catch { /* the version is a label only */ }
  say(`alertmanager ${version} on :${port} ready; storm to POST /api/v2/alerts`);
  const result = await runStorm('alertmanager', { port, path: '/api/v2/alerts', headers: {} },
    storm.alertmanagerBodies, storm.sizes, S.clients, 200, S.timeoutS * 1000);
  await am.stop();
  return { version, storm: result, warnings: am.problemCount, sample: am.problems.slice(0, 10) };
}

// ---------------------------------------------------------------------------------------------
// Report

const f0 = (n: number): string => (Number.isFinite(n) ? String(Math.round(n)) : 'n/a');
const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');

function table(q: QuellResult, am: AlertmanagerResult | undefined, groups: number): string {
  const rows: [string, string, string, string][] = [
    ['', 'quell', am ? `alertmanager ${am.version}` : 'alertmanager', am ? 'ratio' : ''],
    ['accepted alerts/s, ingest only', f0(q.ingestOnly.acceptedPerSecond), am ? f0(am.storm.acceptedPerSecond) : 'skipped', am ? f2(q.ingestOnly.acceptedPerSecond / am.storm.acceptedPerSecond) : ''],
    ['  request p50 / p99 ms', `${f1(q.ingestOnly.latencyMs.p50)} / ${f1(q.ingestOnly.latencyMs.p99)}`, am ? `${f1(am.storm.latencyMs.p50)} / ${f1(am.storm.latencyMs.p99)}` : '', ''],
    ['accepted alerts/s, workers running', f0(q.storm.acceptedPerSecond), am ? f0(am.storm.acceptedPerSecond) : 'skipped', am ? f2(q.storm.acceptedPerSecond / am.storm.acceptedPerSecond) : ''],
    ['  request p50 / p99 ms', `${f1(q.storm.latencyMs.p50)} / ${f1(q.storm.latencyMs.p99)}`, am ? `${f1(am.storm.latencyMs.p50)} / ${f1(am.storm.latencyMs.p99)}` : '', ''],
    ['requests not accepted', `${q.storm.requests - q.storm.okRequests}`, am ? `${am.storm.requests - am.storm.okRequests}` : '', ''],
    ['end-to-end alerts/s', f0(q.endToEndPerSecond), 'n/a (in memory)', ''],
    ['receipt->incident p50/p90/p99 ms', `${f0(q.receiptToIncidentMs.p50)} / ${f0(q.receiptToIncidentMs.p90)} / ${f0(q.receiptToIncidentMs.p99)}`, 'n/a', ''],
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
  if (bad > 0) out.push(`${label}: ${bad} answers other than ${expect}: ${JSON.stringify(s.unexpected)}; e.g. ${s.unexpectedSample.join(' | ')}`);
  if (s.errors > 0) out.push(`${label}: ${s.errors} requests without an answer; e.g. ${s.errorSample.join(' | ')}`);
  return out;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const tmp = mkdtempSync(join(tmpdir(), 'quell-bench-'));
  onCleanup(`remove ${tmp}`, async () => { rmSync(tmp, { recursive: true, force: true }); });

  const startsAt = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
  const storm = buildStorm(S.alerts, S.batch, S.seed, startsAt);
  const bytes = storm.quellBodies.reduce((a, b) => a + b.length, 0);
  const header = `storm: ${S.alerts} alerts, ${S.batch}/request, ${S.clients} clients, ${S.workers} workers x ${S.concurrency}`;
  say(`${header} (${storm.quellBodies.length} requests, ${(bytes / 1e6).toFixed(1)} MB, ${storm.groups} label groups)`);

  const quell = await benchQuell(storm, tmp);
  const useAm = S.alertmanager !== '' && S.alertmanager !== 'none';
  const am = useAm ? await benchAlertmanager(storm, tmp) : undefined;

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
    for (const st of quell.stages) say(`  ${st.stage.padEnd(12)}${String(st.runs).padStart(8)}${f1(st.meanMs).padStart(9)}${f1(st.totalS).padStart(9)}`);
    say('');
  }
  const warned = quell.processes.filter((p) => p.warnings > 0);
  for (const p of warned) {
    say(`${p.name}: ${p.warnings} log lines at warn or above, e.g.:`);
    for (const line of p.sample.slice(0, 5)) say(`  ${line.slice(0, 500)}`);
  }
  if (am && am.warnings > 0) say(`alertmanager: ${am.warnings} log lines at warn or above, e.g.: ${am.sample.slice(0, 3).join(' | ')}`);
  for (const f of failures) say(`FAILED: ${f}`);

  if (S.out) {
    writeFileSync(S.out, `${JSON.stringify({
      settings: { alerts: S.alerts, batch: S.batch, clients: S.clients, workers: S.workers, concurrency: S.concurrency, dbPoolSize: S.dbPoolSize ?? null, seed: S.seed },
      groups: storm.groups, requests: storm.quellBodies.length, bytes,
      quell, alertmanager: am ?? null, failures, at: new Date().toISOString(),
    }, null, 2)}\n`);
    say(`results written to ${S.out}`);
  }
  return failures.length > 0 ? 1 : 0;
}

let code = 1;
main()
  .then((c) => { code = c; })
  .catch((err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    code = 1;
  })
  .finally(async () => {
    await cleanup();
    process.exit(code);
  });
