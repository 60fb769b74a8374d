/**
 * What the benchmark scenarios share (scripts/bench/<scenario>.ts, run by `npm run bench --
 * <scenario>`): child processes with their logs watched, a clean-up stack run once on exit or
 * Ctrl-C, readiness polling, the prebuilt alert storm and its paced sender.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { Client } from 'pg';
import { itemAt } from '../../src/domain/invariant';
import { webhookPayload, type TestAlert } from '../../test/support/alertmanager-payload';
import { freePorts } from '../../test/support/net';
import { CLI, REPO } from '../../test/support/quell-process';
import { seededRandom } from '../../test/quality/seeded-random';

// ---------------------------------------------------------------------------------------------
// Settings

export function intEnv(name: string, def: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`${name}: expected an integer >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** The settings every scenario reads: servers, storm size and shape, processes, limits, output. */
export function commonSettings() {
  return {
    adminUrl: process.env['BENCH_DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: process.env['BENCH_REDIS_URL'] || 'redis://127.0.0.1:6379',
    alerts: intEnv('BENCH_ALERTS', 100_000),
    batch: intEnv('BENCH_BATCH', 64),
    clients: intEnv('BENCH_CLIENTS', 32),
    workers: intEnv('BENCH_WORKERS', 2),
    concurrency: intEnv('BENCH_CONCURRENCY', 32),
    dbPoolSize: process.env['BENCH_DB_POOL_SIZE'] ? intEnv('BENCH_DB_POOL_SIZE', 10) : undefined,
    timeoutS: intEnv('BENCH_TIMEOUT_S', 600),
    out: process.env['BENCH_OUT'] || undefined,
  };
}

export const STARTUP_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 30_000;
const KILL_GRACE_MS = 5_000;

export const say = (line: string): void => { process.stdout.write(`${line}\n`); };
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Rejects after `ms` with `what` in the message; the timer does not hold the process. */
export function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    t = setTimeout(() => { rej(new Error(`${what}: no result within ${ms} ms`)); }, ms);
    t.unref();
  });
  return Promise.race([p, timeout]).finally(() => { clearTimeout(t); });
}

// ---------------------------------------------------------------------------------------------
// Clean-up: a stack of undo steps, run once, newest first, each bounded in time.

const undo: { what: string; run: () => Promise<void> | void }[] = [];
let cleaning: Promise<void> | undefined;

export function onCleanup(what: string, run: () => Promise<void> | void): void {
  undo.push({ what, run });
}

export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (let step = undo.pop(); step !== undefined; step = undo.pop()) {
      try {
        await bounded(Promise.resolve(step.run()), 20_000, `clean-up: ${step.what}`);
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

export interface Proc {
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

export function startProcess(
  name: string, command: string, args: string[], env: Record<string, string>, cwd = REPO,
): Proc {
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
        const t = setTimeout(() => {
          rej(new Error(`${name} did not log ${JSON.stringify(text)} within ${timeoutMs} ms; `
            + `last output:\n${proc.tail()}`));
        }, timeoutMs);
        waiters.push({ text, done: () => { clearTimeout(t); res(); } });
        void exited.then((code) => {
          clearTimeout(t);
          rej(new Error(`${name} exited (${code}) before logging ${JSON.stringify(text)}; output:\n${proc.tail()}`));
        });
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
    child[stream].on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop() ?? ''; // split gives at least one part
      for (const p of parts) onLine(p, stream);
    });
    child[stream].on('end', () => { if (partial) onLine(partial, stream); partial = ''; });
  }
  onCleanup(`stop ${name}`, async () => { await proc.stop(); });
  return proc;
}



export function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
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
/** Per pipeline stage, summed over the workers: runs, mean ms per run, total seconds. */
export interface StageTime {
  readonly stage: string; readonly runs: number; readonly meanMs: number; readonly totalS: number;
}

/**
 * The workers' `quell_pipeline_stage_seconds` (sum and count per stage), added up: where a
 * batch's time goes. A worker that does not answer is left out (said on stdout).
 */
export async function stageBreakdown(ports: readonly number[], metric = 'quell_pipeline_stage_seconds',
  label = 'stage'): Promise<StageTime[]> {
  const sum = new Map<string, number>(), count = new Map<string, number>();
  for (const port of ports) {
    let body: string;
    try {
      body = (await httpGet(`http://127.0.0.1:${port}/metrics`, 5000)).body;
    } catch (err) {
      say(`  metrics of the worker on :${port} not read: ${(err as Error).message}`);
      continue;
    }
    const pattern = new RegExp(`^${metric}_(sum|count)\\{${label}="([^"]+)"\\} (\\S+)$`, 'gm');
    for (const [, kind, key, value] of body.matchAll(pattern)) {
      if (key === undefined) continue; // the pattern always captures it
      const into = kind === 'sum' ? sum : count;
      into.set(key, (into.get(key) ?? 0) + Number(value));
    }
  }
  return [...sum].map(([stage, s]) => {
    const runs = count.get(stage) ?? 0;
    return { stage, runs, meanMs: runs > 0 ? (s / runs) * 1000 : NaN, totalS: s };
  });
}

export async function waitReady(url: string, proc: Proc, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: number | string | undefined;
  void proc.exited.then((c) => { exited = c; });
  let last: string;
  for (;;) {
    if (exited !== undefined) {
      throw new Error(`${proc.name} exited (${exited}) before ${url} was ready; output:\n${proc.tail()}`);
    }
    try {
      const r = await httpGet(url);
      if (r.status === 200) return;
      last = `${r.status} ${r.body.slice(0, 300)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(`${url} not ready within ${timeoutMs} ms (last: ${last}); ${proc.name} output:\n${proc.tail()}`);
    }
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

export interface Storm {
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
export const hostCluster = (i: number): string => `cluster-${i % CLUSTERS}`;
/** Storm host `i`'s switch (16 hosts behind each): the CI id of the storm's CMDB. */
export const hostSwitch = (i: number): string => `sw-${Math.floor(i / HOSTS_PER_SWITCH)}`;
export const HOSTS_PER_SWITCH = 16;

export interface StormOptions {
  /**
   * Every 16th alert is on a switch instead of a host (`instance: sw-N`), the switch the next
   * 15 hosts depend on: with the storm's CMDB, topology correlation groups each switch's alerts.
   * @defaultValue false: every alert on its own host
   */
  readonly switchOutages?: boolean;
  /**
   * The first alert's host number: storms with different offsets share no alert.
   * @defaultValue 0
   */
  readonly offset?: number;
}

export function buildStorm(
  alerts: number, batch: number, seed: number, startsAt: string, opts: StormOptions = {},
): Storm {
  const random = seededRandom(seed); // every run, and both targets, see the same storm
  const pick = (n: number): number => Math.floor(random.next() * n);
  const groups = new Set<string>();
  const quellBodies: Buffer[] = [];
  const alertmanagerBodies: Buffer[] = [];
  const sizes: number[] = [];
  const first = opts.offset ?? 0;
  for (let from = first; from < first + alerts; from += batch) {
    const part: TestAlert[] = [];
    for (let i = from; i < Math.min(first + alerts, from + batch); i++) {
      const alertname = itemAt(ALERT_NAMES, pick(ALERT_NAMES.length), 'alert name');
      const cluster = hostCluster(i);
      pick(CLUSTERS); // the draw stays, so the other labels are as before
      const service = `svc-${String(pick(SERVICES)).padStart(2, '0')}`;
      groups.add(`${alertname}/${cluster}/${service}`);
      part.push({
        labels: {
          alertname, cluster, service,
          instance: opts.switchOutages === true && i % HOSTS_PER_SWITCH === 0
            ? `${hostSwitch(i)}:9100` : `host-${i}.${cluster}.example:9100`,
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

export interface StormResult {
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

export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return itemAt(sorted, i, 'latency');
}

/**
 * Sends `bodies` with `clients` requests in flight over keep-alive connections; every
 * answer should be `expect`. Bodies are prebuilt, so the client's JSON cost is not timed.
 * With `alertsPerSecond`, request i is not sent before its alerts' share of that rate is due
 * (a paced storm: fewer, if the target cannot keep up; never more).
 */
export async function runStorm(
  label: string, target: { port: number; path: string; headers: Record<string, string> }, bodies: Buffer[],
  sizes: number[], clients: number, expect: number, timeoutMs: number, pace: { alertsPerSecond?: number } = {},
): Promise<StormResult> {
  const before = new Float64Array(sizes.length); // alerts in the requests before i
  for (let i = 1; i < sizes.length; i++) before[i] = itemAt(before, i - 1, 'request') + itemAt(sizes, i - 1, 'request');
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients, maxFreeSockets: clients });
  const latencies = new Float64Array(bodies.length);
  const unexpected: Record<string, number> = {};
  const unexpectedSample: string[] = [];
  const errorSample: string[] = [];
  let okRequests = 0, okAlerts = 0, errors = 0, done = 0, next = 0;
  let lastOk = 0;
  let aborted = false as boolean; // set by the timer, which narrowing does not see
  const deadline = setTimeout(() => { aborted = true; }, timeoutMs);

  const send = (i: number): Promise<void> => new Promise((res) => {
    const body = itemAt(bodies, i, 'request body');
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
          okAlerts += itemAt(sizes, i, 'request size');
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
    const perSecond = Math.round(okAlerts / ((performance.now() - t0) / 1000));
    say(`  ${label}: answered ${done}/${bodies.length} requests (${okAlerts} alerts accepted, ${perSecond} alerts/s)`);
  }, 2000);
  try {
    await Promise.all(Array.from({ length: Math.min(clients, bodies.length) }, async () => {
      for (;;) {
        if (aborted) return;
        const i = next++;
        if (i >= bodies.length) return;
        if (pace.alertsPerSecond !== undefined) {
          const wait = t0 + (itemAt(before, i, 'request') / pace.alertsPerSecond) * 1000 - performance.now();
          if (wait > 0) await sleep(wait);
        }
        await send(i);
      }
    }));
  } finally {
    clearInterval(progress);
    clearTimeout(deadline);
    agent.destroy();
  }
  if (aborted) {
    throw new Error(
      `${label}: the storm did not finish within ${timeoutMs} ms (${done}/${bodies.length} requests answered)`);
  }
  const sorted = latencies.slice(0, done).sort();
  const acceptWallMs = lastOk > 0 ? lastOk - t0 : NaN;
  return {
    requests: bodies.length, okRequests, okAlerts, unexpected, unexpectedSample, errors, errorSample, firstSentAt,
    acceptWallMs, acceptedPerSecond: okAlerts / (acceptWallMs / 1000),
    latencyMs: {
      p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), p99: percentile(sorted, 0.99),
      max: sorted[sorted.length - 1] ?? NaN,
    },
  };
}


// ---------------------------------------------------------------------------------------------
// Quell on Redis and PostgreSQL

export interface QuellSetup {
  readonly adminUrl: string;
  readonly redisUrl: string;
  /** `quell worker` processes that will run (a metrics port each). */
  readonly workers: number;
  readonly concurrency: number;
  readonly dbPoolSize?: number;
  readonly rulesDir: string;
  readonly tmp: string;
}

export interface PreparedQuell {
  readonly dbUrl: URL;
  readonly queueName: string;
  /** BullMQ's view of the ingest queue. */
  readonly queue: Queue;
  readonly token: string;
  readonly apiToken: string;
  readonly apiPort: number;
  readonly metricsPorts: number[];
  /** The processes' environment, `extra` on top. */
  readonly env: (extra: Record<string, string>) => Record<string, string>;
}

/**
 * A fresh database (migrated) and queue for a run, their removal on the clean-up stack, and
 * the environment `quell api` / `quell worker` processes get.
 */
export async function prepareQuell(o: QuellSetup): Promise<PreparedQuell> {
  // The database and the queue.
  const suffix = randomBytes(6).toString('hex');
  const dbName = `quell_bench_${suffix}`;
  const queueName = `quell-bench-${suffix}`;
  await bounded(adminQuery(o.adminUrl, `create database ${dbName}`), 15_000, 'create database');
  onCleanup(`drop database ${dbName}`, () => adminQuery(o.adminUrl, `drop database if exists ${dbName} with (force)`));
  const dbUrl = new URL(o.adminUrl);
  dbUrl.pathname = `/${dbName}`;

  const redis = new IORedis(o.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
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
  const [apiPort, ...metricsPorts] = await freePorts(1 + o.workers);
  if (apiPort === undefined) throw new Error('no free port for the api');
  const env = (extra: Record<string, string>): Record<string, string> => ({
    PATH: process.env['PATH'] ?? '',
    REDIS_URL: o.redisUrl,
    DATABASE_URL: dbUrl.toString(),
    QUELL_QUEUE_NAME: queueName,
    QUELL_HOST: '127.0.0.1',
    QUELL_PORT: String(apiPort),
    QUELL_INGEST_TOKEN: token,
    QUELL_API_TOKEN: apiToken,
    QUELL_RULES_DIR: o.rulesDir,
    QUELL_DATA_DIR: join(o.tmp, 'quell-data'),
    QUELL_LOG_LEVEL: 'warn',
    QUELL_WORKER_CONCURRENCY: String(o.concurrency),
    ...(o.dbPoolSize !== undefined ? { QUELL_DB_POOL_SIZE: String(o.dbPoolSize) } : {}),
    // Any other QUELL_* setting in the bench's own environment reaches Quell (for tuning runs).
    ...Object.fromEntries(Object.entries(process.env)
      .filter(([k, v]) => k.startsWith('QUELL_') && v !== undefined)) as Record<string, string>,
    ...extra,
  });

  // Migrations once, so that the processes do not race on them.
  const migrate = startProcess('quell migrate', process.execPath, [CLI, 'migrate'], env({}));
  const migrated = await bounded(migrate.exited, STARTUP_TIMEOUT_MS, 'quell migrate');
  if (migrated !== 0) throw new Error(`quell migrate exited ${migrated}; output:\n${migrate.tail()}`);
  return { dbUrl, queueName, queue, token, apiToken, apiPort, metricsPorts, env };
}

/** Runs one statement on the server's admin database (create / drop database). */
export async function adminQuery(adminUrl: string, statement: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Runs a scenario's `main`, then the clean-up stack, then exits with its code (1 on a throw). */
export function runMain(main: () => Promise<number>): void {
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
}
