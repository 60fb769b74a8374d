import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { fingerprint } from '../../src/domain/fingerprint';
import { webhookPayload, type TestAlert } from '../support/alertmanager-payload';
import { freePort } from '../support/net';
import { startQuell, type QuellProcess } from '../support/quell-process';
import { pairwiseScore, type PairwiseScore } from './pairwise-score';
import type { Storm } from './storm-generator';

/**
 * One measurement: a storm replayed through a real `quell start` (server mode, a database and
 * a queue of its own) with one rule set, every incident read back through the HTTP API and
 * scored against the storm's truth. Black-box: it knows Quell only by its API, so it measures
 * whatever engine the build has (the CMDB is uploaded where `PUT /api/v1/cmdb` exists).
 */
export interface RunSettings {
  /** Admin URL of the PostgreSQL server (a database is created on it and dropped). */
  readonly adminUrl: string;
  readonly redisUrl: string;
  /** Storm time sent in one webhook request, as Alertmanager batches a group's alerts. */
  readonly tickMs: number;
  /** Where Quell keeps its data directory (unused on servers, but it must be somewhere). */
  readonly tmpDir: string;
  /** Settings for Quell on top of the run's own (QUELL_* variables). */
  readonly quellEnv: Readonly<Record<string, string>>;
  /** Registers an undo step for Ctrl-C; the returned function runs it now (and forgets it). */
  readonly onCleanup: (what: string, run: () => Promise<unknown>) => () => Promise<void>;
  readonly progress: (line: string) => void;
}

export interface RuleSetUnderTest {
  readonly name: string;
  readonly rulesDir: string;
}

export interface RunResult {
  readonly seed: number;
  readonly configuration: string;
  readonly topology: 'loaded' | 'not supported';
  readonly requests: number;
  readonly incidents: number;
  /** Alert episodes in no incident (alone in the score). */
  readonly unlinked: number;
  /** Alerts the API shows that the storm never sent (should be 0). */
  readonly unknown: number;
  readonly failedJobs: number;
  readonly score: PairwiseScore;
  /** Recall within the faults of each kind, and their true pairs: where the pairs are lost. */
  readonly recallByKind: Readonly<Record<string, { readonly recall: number; readonly truePairs: number }>>;
  /** Each storm alert's incident (by index in the storm's alerts), for the error report. */
  readonly incidentOf: readonly (number | undefined)[];
  readonly seconds: number;
}

const STARTUP_TIMEOUT_MS = 30_000;
const DRAIN_TIMEOUT_MS = 300_000;
const READERS = 4;
const PAGE = 1000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const secs = (from: number, to: number): string => `${((to - from) / 1000).toFixed(1)} s`;
const labelKey = (labels: Readonly<Record<string, string>>): string =>
  JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));

/** Webhook bodies, one per tick of storm time, in time order. */
export function webhookBodies(storm: Storm, tickMs: number): string[] {
  const bodies: string[] = [];
  let batch: TestAlert[] = [];
  let tick: number | undefined;
  const flush = (): void => {
    if (batch.length > 0) bodies.push(JSON.stringify(webhookPayload(batch)));
    batch = [];
  };
  for (const e of storm.events) {
    const t = Math.floor((e.atMs - storm.options.startMs) / tickMs);
    if (t !== tick) { flush(); tick = t; }
    const a = storm.alerts[e.alert]!;
    batch.push({
      labels: { ...a.labels }, status: e.status, startsAt: new Date(a.startsAtMs).toISOString(),
      ...(e.status === 'resolved' ? { endsAt: new Date(a.endsAtMs).toISOString() } : {}),
    });
  }
  flush();
  return bodies;
}

interface Answer { readonly status: number; readonly body: unknown; readonly text: string }

/** One HTTP request; a 503 (busy, queue or database unavailable: retryable) is tried again. */
async function call(url: string, init: RequestInit = {}, tries = 20): Promise<Answer> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    if (res.status === 503 && attempt < tries) { await sleep(200 * attempt); continue; }
    let body: unknown = undefined;
    try { body = JSON.parse(text); } catch { /* not JSON (metrics) */ }
    return { status: res.status, body, text };
  }
}

/** Every row of a paged list (`{"<key>":[…],"next"}`), following `cursor`. */
async function allPages<T>(url: string, key: string): Promise<T[]> {
  const rows: T[] = [];
  let cursor: string | null = null;
  do {
    const u = new URL(url);
    u.searchParams.set('limit', String(PAGE));
    if (cursor !== null) u.searchParams.set('cursor', cursor);
    const a = await call(u.toString());
    if (a.status !== 200) throw new Error(`GET ${u.pathname}${u.search}: ${a.status} ${a.text.slice(0, 300)}`);
    const page = a.body as Record<string, unknown>;
    rows.push(...(page[key] as T[]));
    cursor = (page['next'] as string | null) ?? null;
  } while (cursor !== null);
  return rows;
}

function queueGauge(metrics: string, state: string): number {
  const m = new RegExp(`^quell_queue_jobs\\{[^}]*state="${state}"[^}]*\\} (\\S+)$`, 'm').exec(metrics);
  return m ? Number(m[1]) : Number.NaN;
}

function recallByKind(storm: Storm, incidentOf: readonly (number | undefined)[]): RunResult['recallByKind'] {
  const kindOf = new Map(storm.faults.map((f) => [f.id, f.kind]));
  const out: Record<string, { recall: number; truePairs: number }> = {};
  for (const kind of new Set(kindOf.values())) {
    const idx = storm.alerts.flatMap((a, i) => (kindOf.get(a.fault) === kind ? [i] : []));
    const s = pairwiseScore(idx.map((i) => storm.alerts[i]!.fault), idx.map((i) => incidentOf[i]));
    if (s.truePairs > 0) out[kind] = { recall: s.recall, truePairs: s.truePairs };
  }
  return out;
}

async function adminQuery(adminUrl: string, statement: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try { await client.query(statement); } finally { await client.end(); }
}

async function waitReady(base: string, quell: QuellProcess, tag: string): Promise<void> {
  for (const deadline = Date.now() + STARTUP_TIMEOUT_MS; ;) {
    if (quell.child.exitCode !== null || quell.child.signalCode !== null) {
      throw new Error(`${tag} quell exited before it was ready:\n${quell.output().slice(-3000)}`);
    }
    try { if ((await fetch(`${base}/readyz`)).status === 200) return; } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      throw new Error(`${tag} not ready in ${STARTUP_TIMEOUT_MS} ms:\n${quell.output().slice(-3000)}`);
    }
    await sleep(100);
  }
}

/**
 * Replays `bodies` (the storm's webhook requests) in order, one at a time, so the queue holds
 * them in time order; with one worker taking one job at a time (the default here) they are
 * applied in that order, and the incidents depend on the rules, not on scheduling.
 */
export async function measureRun(
  storm: Storm, bodies: readonly string[], rules: RuleSetUnderTest, s: RunSettings,
): Promise<RunResult> {
  const started = Date.now();
  const tag = `[seed ${storm.options.seed} ${rules.name}]`;
  const suffix = randomBytes(6).toString('hex');
  const dbName = `quell_quality_${suffix}`;
  const queueName = `quell-quality-${suffix}`;
  await adminQuery(s.adminUrl, `create database ${dbName}`);
  const dropDb = s.onCleanup(`drop database ${dbName}`,
    () => adminQuery(s.adminUrl, `drop database if exists ${dbName} with (force)`));
  const queue = new Queue(queueName, { connection: { url: s.redisUrl, maxRetriesPerRequest: null } });
  const dropQueue = s.onCleanup(`obliterate queue ${queueName}`, async () => {
    await queue.obliterate({ force: true });
    await queue.close();
  });
  const dbUrl = new URL(s.adminUrl);
  dbUrl.pathname = `/${dbName}`;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const ingestToken = randomBytes(24).toString('hex');
  const apiToken = randomBytes(24).toString('hex');
  const quell = startQuell('start', {
    QUELL_WORKER_CONCURRENCY: '1',
    QUELL_WORKER_TRANSACTIONS: '1',
    QUELL_LOG_LEVEL: 'warn',
    ...s.quellEnv,
    REDIS_URL: s.redisUrl,
    DATABASE_URL: dbUrl.toString(),
    QUELL_QUEUE_NAME: queueName,
    QUELL_HOST: '127.0.0.1',
    QUELL_PORT: String(port),
    QUELL_INGEST_TOKEN: ingestToken,
    QUELL_API_TOKEN: apiToken,
    QUELL_OPEN_READS: 'true',
    QUELL_RULES_DIR: rules.rulesDir,
    QUELL_DATA_DIR: join(s.tmpDir, `data-${suffix}`),
  });
  const stopQuell = s.onCleanup(`stop quell ${tag}`, () => quell.stop());

  try {
    await waitReady(base, quell, tag);
    const tReady = Date.now();

    // The topology, where this build takes one (404: no such route yet).
    const put = await call(`${base}/api/v1/cmdb`, {
      method: 'PUT', body: JSON.stringify(storm.cmdb),
      headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
    });
    if (put.status !== 404 && (put.status < 200 || put.status > 299)) {
      throw new Error(`${tag} PUT /api/v1/cmdb: ${put.status} ${put.text.slice(0, 500)}`);
    }
    const topology = put.status === 404 ? 'not supported' : 'loaded';

    let lastReport = Date.now();
    const every2s = (line: () => string): void => {
      if (Date.now() - lastReport < 2000) return;
      s.progress(`${tag} ${line()}`);
      lastReport = Date.now();
    };
    for (const [i, body] of bodies.entries()) {
      const a = await call(`${base}/ingest/alertmanager`, {
        method: 'POST', body, headers: { authorization: `Bearer ${ingestToken}`, 'content-type': 'application/json' },
      });
      if (a.status !== 202) {
        throw new Error(`${tag} POST /ingest/alertmanager #${i}: ${a.status} ${a.text.slice(0, 500)}`);
      }
      every2s(() => `sent ${i + 1}/${bodies.length} requests`);
    }
    const tSent = Date.now();

    // Applied: nothing waiting, active or delayed in the queue.
    let failedJobs = 0;
    for (const deadline = Date.now() + DRAIN_TIMEOUT_MS; ;) {
      const m = (await call(`${base}/metrics`)).text;
      const left = ['waiting', 'active', 'delayed'].reduce((sum, st) => sum + queueGauge(m, st), 0);
      failedJobs = queueGauge(m, 'failed');
      if (left === 0) break;
      if (Date.now() > deadline) {
        throw new Error(`${tag} queue not drained in ${DRAIN_TIMEOUT_MS} ms (${left} jobs left)`);
      }
      every2s(() => `applying: ${left} jobs left`);
      await sleep(250);
    }
    const tDrained = Date.now();

    // Every incident and its alerts, through the API; alerts map back to the storm by
    // fingerprint (or, should a build fingerprint otherwise, by labels) and start.
    const incidents = await allPages<{ id: number }>(
      `${base}/api/v1/incidents?status=open,acknowledged,resolved`, 'incidents');
    const byFingerprint = new Map<string, number>();
    const byLabels = new Map<string, number>();
    storm.alerts.forEach((a, i) => {
      byFingerprint.set(`${fingerprint('alertmanager', a.labels)}@${a.startsAtMs}`, i);
      byLabels.set(`${labelKey(a.labels)}@${a.startsAtMs}`, i);
    });
    const incidentOf = new Array<number | undefined>(storm.alerts.length).fill(undefined);
    let unknown = 0;
    let next = 0;
    let read = 0;
    await Promise.all(Array.from({ length: READERS }, async () => {
      while (next < incidents.length) {
        const inc = incidents[next++]!;
        const rows = await allPages<{ fingerprint: string; labels: Record<string, string>; starts_at: string }>(
          `${base}/api/v1/incidents/${inc.id}/alerts`, 'alerts');
        for (const r of rows) {
          const at = Date.parse(r.starts_at);
          const i = byFingerprint.get(`${r.fingerprint}@${at}`) ?? byLabels.get(`${labelKey(r.labels)}@${at}`);
          if (i === undefined) unknown++;
          else incidentOf[i] ??= inc.id;
        }
        read++;
        every2s(() => `read ${read}/${incidents.length} incidents`);
      }
    }));
    s.progress(`${tag} ${incidents.length} incidents; start ${secs(started, tReady)}, send ${secs(tReady, tSent)}, `
      + `apply ${secs(tSent, tDrained)}, read ${secs(tDrained, Date.now())}`);

    return {
      seed: storm.options.seed, configuration: rules.name, topology, requests: bodies.length,
      incidents: incidents.length, unlinked: incidentOf.filter((x) => x === undefined).length, unknown, failedJobs,
      score: pairwiseScore(storm.alerts.map((a) => a.fault), incidentOf),
      recallByKind: recallByKind(storm, incidentOf), incidentOf,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await stopQuell();
    await dropQueue();
    await dropDb();
  }
}
