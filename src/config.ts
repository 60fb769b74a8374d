import { readFileSync } from 'node:fs';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { DEFAULT_ALIAS_LABELS, DEFAULT_BIND_LABELS } from './domain/ci-binding';
import { nearest } from './domain/edit-distance';
import { itemAt } from './domain/invariant';

/**
 * Quell's configuration: environment variables, optionally from a YAML file named by
 * QUELL_CONFIG whose keys are the same names (the environment wins). This schema is the
 * reference; README.md lists it. Secrets are marked and never logged.
 */
const int = (def: number, min = 1) => z.coerce.number().int().min(min).default(def);
const empty = (v: unknown) => (v === '' ? undefined : v);
const flag = (def: boolean) => z.preprocess(
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- env text or a YAML scalar; others fail the enum
  (v) => (v === undefined || v === '' ? undefined : String(v).toLowerCase()),
  z.enum(['true', 'false', '1', '0', 'yes', 'no']).optional(),
).transform((v) => (v === undefined ? def : ['true', '1', 'yes'].includes(v)));
/** A comma-separated list, spaces trimmed, empty items dropped. */
const nameList = (def: string) => z.preprocess((v) => (Array.isArray(v) ? v.join(',') : v), z.string().default(def))
  .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x !== ''));
/** Comma-separated label names (a YAML list in the config file): `ci,instance,host`. '' is none. */
const labelList = (def: string) => z.preprocess((v) => (Array.isArray(v) ? v.join(',') : v), z.string().default(def))
  .transform((s) => s.split(',').map((x) => x.trim()).filter((x) => x !== ''))
  .pipe(z.array(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'expected comma-separated label names')));

export const configSchema = z.object({
  /** HTTP port of the API (and of `quell start`). */
  QUELL_PORT: int(9280, 0),
  QUELL_HOST: z.string().default('0.0.0.0'),
  /** Redis for the BullMQ ingest queue; unset: the embedded in-process queue. */
  REDIS_URL: z.preprocess(empty, z.string()
    .superRefine(urlOf('REDIS_URL', ['redis', 'rediss'], (v) => (/^[\w.-]+:\d+$/.test(v) ? `redis://${v}` : 'redis://127.0.0.1:6379'))).optional()),
  /** PostgreSQL; unset: embedded PGlite in QUELL_DATA_DIR. */
  DATABASE_URL: z.preprocess(empty, z.string()
    .superRefine(urlOf('DATABASE_URL', ['postgres', 'postgresql'],
      (v) => `postgres://USER:PASSWORD@127.0.0.1:5432/${/^\w+$/.test(v) ? v : 'quell'}`)).optional()),
  QUELL_RULES_DIR: z.string().default('./rules'),
  /** Embedded database and generated tokens. */
  QUELL_DATA_DIR: z.string().default('./data'),
  /** Secret. Bearer token connectors must send to /ingest/*; generated into QUELL_DATA_DIR when unset. */
  QUELL_INGEST_TOKEN: z.preprocess(empty, z.string().min(16, 'shorter than 16 characters').optional()),
  /** Secret. An admin bearer token for the API (named `api-token` on timelines); generated when unset. */
  QUELL_API_TOKEN: z.preprocess(empty, z.string().min(16, 'shorter than 16 characters').optional()),
  /**
   * A YAML list of API tokens, `{name, role, sha256}` (role viewer, operator or admin; sha256
   * the token's hash: `quell tokens hash`). Read at start. QUELL_API_TOKEN stays an admin token.
   */
  QUELL_TOKENS_FILE: z.preprocess(empty, z.string().optional()),
  /** `true`: API reads (incidents, alerts, silences, runs, changes) need no token; changes always do. */
  QUELL_OPEN_READS: flag(false),
  /** Largest ingest request body accepted; larger ones get 413. */
  QUELL_MAX_BODY_BYTES: int(5 * 1024 * 1024),
  /**
   * Jobs waiting in the ingest queue above which ingest answers 503 queue_full with Retry-After (a job
   * carries the requests answered together, up to 1,000 alerts); 0: none.
   */
  QUELL_INGEST_MAX_QUEUE_DEPTH: int(0, 0),
  /** How far a source's clock may run ahead of Quell's: alert times later than that are refused (400). */
  QUELL_MAX_CLOCK_SKEW_SECONDS: int(3600, 0),
  /** Largest answer with a list (incidents, an incident's alerts or timeline): longer lists are paged. */
  QUELL_MAX_RESPONSE_BYTES: int(1024 * 1024, 4096),
  /** API reads served at once (four times as many wait); keep it under QUELL_DB_POOL_SIZE. */
  QUELL_API_READ_CONCURRENCY: int(4),
  QUELL_QUEUE_NAME: z.string().regex(/^[a-zA-Z0-9_.-]+$/).default('quell-ingest'),
  /** Jobs one worker process takes from the queue at once. */
  QUELL_WORKER_CONCURRENCY: int(32),
  /** Database transactions one worker process runs at once; jobs waiting meanwhile share the next one. */
  QUELL_WORKER_TRANSACTIONS: int(2),
  /**
   * The scheduling niceness `quell worker` runs at (0-19; 0: as started). On a machine it shares
   * with `quell api`, a higher value serves the API first: ingest stays responsive while the
   * workers apply a storm, at the cost of latency at steady load (the worker waits for a core).
   */
  QUELL_WORKER_NICE: z.coerce.number().int().min(0).max(19).default(0),
  /** Runbook runs one worker process executes at once (jobs of the runbook queue). */
  QUELL_RUNBOOK_CONCURRENCY: int(4),
  /** `false`: no runbook runs (a kill switch beside the API's, PUT /api/v1/runbooks/kill-switch). */
  QUELL_RUNBOOKS_ENABLED: flag(true),
  /** `true`: every runbook run only renders and records its steps; nothing runs. */
  QUELL_RUNBOOKS_DRY_RUN: flag(false),
  /**
   * Hosts, host:port or CIDRs runbook HTTP steps may call although private, loopback or link-local
   * (comma-separated).
   */
  QUELL_HTTP_ALLOW: nameList(''),
  /** Environment variables an exec step may pass to its program (comma-separated names). */
  QUELL_EXEC_ENV_ALLOW: nameList(''),
  /** A directory of secret files (`{{ secret.NAME }}` reads `<dir>/NAME` when QUELL_SECRET_NAME is unset). */
  QUELL_SECRETS_DIR: z.preprocess(empty, z.string().optional()),
  /** Prometheus base URL for runbook `wait_for: { query }` steps. */
  QUELL_PROMETHEUS_URL: z.preprocess(empty, z.url().optional()),
  /** Most bytes of output kept per runbook step (stdout, stderr, bodies). */
  QUELL_RUNBOOK_MAX_OUTPUT_BYTES: int(16 * 1024, 256),
  /** How long a dead worker's job stays locked before another worker takes it (ms). */
  QUELL_LOCK_DURATION_MS: int(30_000, 1000),
  /** Port of `quell worker`'s /healthz, /readyz and /metrics. */
  QUELL_METRICS_PORT: int(9281, 0),
  QUELL_DB_POOL_SIZE: int(10),
  /** A CMDB document (JSON if the name ends in .json, else YAML) applied at start and whenever it changes. */
  QUELL_CMDB_FILE: z.preprocess(empty, z.string().optional()),
  /** Largest CMDB document PUT /api/v1/cmdb takes; larger ones get 413. */
  QUELL_CMDB_MAX_BYTES: int(64 * 1024 * 1024),
  /** Alert labels tried in order to bind an alert to a CI; the first naming one (port stripped if need be) wins. */
  QUELL_CMDB_BIND_LABELS: labelList(DEFAULT_BIND_LABELS.join(',')),
  /** CI labels whose values name the CI too, besides its id (a name several CIs share names none). */
  QUELL_CMDB_ALIAS_LABELS: labelList(DEFAULT_ALIAS_LABELS.join(',')),
  /** Seconds between reconciliation polls of each source with a URL below; 0: no reconciliation. */
  QUELL_RECONCILE_INTERVAL_SECONDS: int(60, 0),
  /** How long an alert stays missing from its source's answers before reconciliation resolves it. */
  QUELL_RECONCILE_GRACE_SECONDS: int(300, 0),
  /** Alertmanager (or Mimir/Cortex alertmanager) base URL polled at /api/v2/alerts for reconciliation. */
  QUELL_RECONCILE_ALERTMANAGER_URL: z.preprocess(empty, z.url().optional()),
  /** Secret. Bearer token for QUELL_RECONCILE_ALERTMANAGER_URL. */
  QUELL_RECONCILE_ALERTMANAGER_TOKEN: z.preprocess(empty, z.string().optional()),
  /** Grafana base URL polled at /api/alertmanager/grafana/api/v2/alerts (the `grafana` connector). */
  QUELL_RECONCILE_GRAFANA_URL: z.preprocess(empty, z.url().optional()),
  /** Secret. Grafana service account token for QUELL_RECONCILE_GRAFANA_URL. */
  QUELL_RECONCILE_GRAFANA_TOKEN: z.preprocess(empty, z.string().optional()),
  /** Zabbix frontend URL whose api_jsonrpc.php answers problem.get (the `zabbix` connector). */
  QUELL_RECONCILE_ZABBIX_URL: z.preprocess(empty, z.url().optional()),
  /** Secret. Zabbix API token for QUELL_RECONCILE_ZABBIX_URL. */
  QUELL_RECONCILE_ZABBIX_TOKEN: z.preprocess(empty, z.string().optional()),
  /**
   * Closed days the hourly report roll-up computes again, for incidents of theirs that still changed
   * (alerts joined, priority moved).
   */
  QUELL_REPORTS_SETTLE_DAYS: int(7, 0),
  QUELL_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof configSchema>;

/** Every setting's name, in the schema's order. */
export const SETTING_NAMES: readonly (keyof Config)[] = Object.keys(configSchema.shape) as (keyof Config)[];

export const SECRET_KEYS: ReadonlySet<keyof Config> = new Set([
  'QUELL_INGEST_TOKEN', 'QUELL_API_TOKEN', 'DATABASE_URL', 'REDIS_URL',
  'QUELL_RECONCILE_ALERTMANAGER_TOKEN', 'QUELL_RECONCILE_GRAFANA_TOKEN', 'QUELL_RECONCILE_ZABBIX_TOKEN',
]);

/**
 * A configuration that cannot work. The message is one line an operator acts on: the setting,
 * what is wrong with it, and the fix. Not retryable; the CLI exits 2 with it and no stack.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** `SETTING: what is wrong; the fix`. */
export function configError(setting: string, problem: string, fix: string): ConfigError {
  return new ConfigError(`${setting}: ${problem}; ${fix}`);
}

/**
 * The settings: the QUELL_CONFIG file (if any) under the environment. A file that is missing,
 * not YAML, or names a setting Quell does not know is a {@link ConfigError} naming its line.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const merged: Record<string, unknown> = env['QUELL_CONFIG'] ? readConfigFile(env['QUELL_CONFIG']) : {};
  for (const key of SETTING_NAMES) if (env[key] !== undefined) merged[key] = env[key];
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const issue = itemAt(result.error.issues, 0, 'config issues');
    const key = String(issue.path[0]);
    // Our own refinements already say value, problem and fix.
    if (issue.code === 'custom') throw new ConfigError(issue.message);
    const path = issue.path.join('.');
    const value = SECRET_KEYS.has(key as keyof Config) ? undefined : merged[key];
    const def = defaultOf(key);
    const fix = FIXES[key as keyof Config]
      ?? (def === undefined ? 'fix the value or unset it' : `fix the value, or unset it for the default ${def}`);
    const got = value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
    throw new ConfigError(`${path}: ${issue.message}${got}; ${fix}`);
  }
  return result.data;
}

const TOKEN_FIX = 'generate one with `openssl rand -hex 24`, or unset it to have one generated into QUELL_DATA_DIR';

/** Fixes more useful than "fix the value". */
const FIXES: Partial<Record<keyof Config, string>> = { QUELL_INGEST_TOKEN: TOKEN_FIX, QUELL_API_TOKEN: TOKEN_FIX };

/** A setting's default as written in the environment, if it has one. */
export function defaultOf(key: string): string | undefined {
  const field = (configSchema.shape as Record<string, z.ZodType>)[key];
  const parsed = field?.safeParse(undefined);
  if (parsed === undefined || !parsed.success || parsed.data === undefined) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- defaults: numbers, booleans, strings, lists
  return Array.isArray(parsed.data) ? parsed.data.join(',') : String(parsed.data);
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code ?? (err as Error).message;
    throw configError('QUELL_CONFIG', `cannot read ${file} (${why})`,
      'point QUELL_CONFIG at a YAML file of settings, or unset it');
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (offset: number | undefined): string => {
    const { line, col } = lines.linePos(offset ?? 0);
    return `${file}:${line}:${col}`;
  };
  const bad = doc.errors[0];
  if (bad !== undefined) {
    throw configError('QUELL_CONFIG', `${at(bad.pos[0])}: not valid YAML (${bad.message.split('\n')[0]})`,
      'fix the file (a mapping of SETTING: value, one per line)');
  }
  if (doc.contents === null) return {};
  if (!isMap(doc.contents)) {
    throw configError('QUELL_CONFIG', `${at(doc.contents.range[0])}: expected a mapping of settings`,
      'write one SETTING: value per line');
  }
  for (const item of doc.contents.items) {
    const key = isScalar(item.key) ? String(item.key.value) : String(item.key);
    if ((SETTING_NAMES as readonly string[]).includes(key)) continue;
    const guess = nearest(key, SETTING_NAMES);
    const where = at(isScalar(item.key) ? item.key.range[0] : undefined);
    throw configError('QUELL_CONFIG', `${where}: unknown setting ${key}`,
      guess === undefined ? 'remove it (quell --help lists the settings)' : `did you mean ${guess}?`);
  }
  return doc.toJS() as Record<string, unknown>;
}

/** A URL setting: one of `schemes`, else a message with an `example` of the right form. */
function urlOf(setting: string, schemes: readonly string[], example: (value: string) => string) {
  return (value: string, ctx: z.RefinementCtx): void => {
    const problem = urlProblem(value, schemes);
    if (problem !== undefined) {
      ctx.addIssue({ code: 'custom', message: `${setting}: ${problem}; use a URL such as ${example(value)}` });
    }
  };
}

function urlProblem(value: string, schemes: readonly string[]): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) return `${JSON.stringify(masked(value))} has no scheme (${schemes[0]}://)`;
  if (!schemes.includes(scheme)) return `${scheme}:// is not supported (Quell takes ${schemes.map((s) => `${s}://`).join(' or ')})`;
  try {
    new URL(value);
  } catch {
    return `${JSON.stringify(masked(value))} is not a valid URL`;
  }
  return undefined;
}

/** A URL with its password hidden, for messages. */
export function masked(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}

/** The configuration with secrets masked, for the start-up log. */
export function redacted(config: Config): Record<string, unknown> {
  const shown = (k: string, v: Config[keyof Config]): unknown => {
    if (!SECRET_KEYS.has(k as keyof Config) || v === undefined) return v;
    // A URL keeps its host, port and database; its password goes.
    return k.endsWith('_URL') ? masked(String(v)) : '<set>';
  };
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, shown(k, v)]));
}
