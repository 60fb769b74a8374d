import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DEFAULT_ALIAS_LABELS, DEFAULT_BIND_LABELS } from './domain/ci-binding';

/**
 * Quell's configuration: environment variables, optionally from a YAML file named by
 * QUELL_CONFIG whose keys are the same names (the environment wins). This schema is the
 * reference; README.md lists it. Secrets are marked and never logged.
 */
const int = (def: number, min = 1) => z.coerce.number().int().min(min).default(def);
const empty = (v: unknown) => (v === '' ? undefined : v);
const flag = (def: boolean) => z.preprocess((v) => (v === undefined || v === '' ? undefined : String(v).toLowerCase()),
  z.enum(['true', 'false', '1', '0', 'yes', 'no']).optional()).transform((v) => (v === undefined ? def : ['true', '1', 'yes'].includes(v)));
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
  REDIS_URL: z.preprocess(empty, z.string().url().optional()),
  /** PostgreSQL; unset: embedded PGlite in QUELL_DATA_DIR. */
  DATABASE_URL: z.preprocess(empty, z.string().optional()),
  QUELL_RULES_DIR: z.string().default('./rules'),
  /** Embedded database and generated tokens. */
  QUELL_DATA_DIR: z.string().default('./data'),
  /** Secret. Bearer token connectors must send to /ingest/*; generated into QUELL_DATA_DIR when unset. */
  QUELL_INGEST_TOKEN: z.preprocess(empty, z.string().min(16, 'use at least 16 characters').optional()),
  /** Secret. An admin bearer token for the API (named `api-token` on timelines); generated when unset. */
  QUELL_API_TOKEN: z.preprocess(empty, z.string().min(16, 'use at least 16 characters').optional()),
  /**
   * A YAML list of API tokens, `{name, role, sha256}` (role viewer, operator or admin; sha256
   * the token's hash: `quell tokens hash`). Read at start. QUELL_API_TOKEN stays an admin token.
   */
  QUELL_TOKENS_FILE: z.preprocess(empty, z.string().optional()),
  /** `true`: API reads (incidents, alerts, silences, runs, changes) need no token; changes always do. */
  QUELL_OPEN_READS: flag(false),
  /** Largest ingest request body accepted; larger ones get 413. */
  QUELL_MAX_BODY_BYTES: int(5 * 1024 * 1024),
  /** Requests (jobs) waiting in the ingest queue above which ingest answers 503 queue_full with Retry-After; 0: no limit. */
  QUELL_INGEST_MAX_QUEUE_DEPTH: int(20_000, 0),
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
  /** Runbook runs one worker process executes at once (jobs of the runbook queue). */
  QUELL_RUNBOOK_CONCURRENCY: int(4),
  /** `false`: no runbook runs (a kill switch beside the API's, PUT /api/v1/runbooks/kill-switch). */
  QUELL_RUNBOOKS_ENABLED: flag(true),
  /** `true`: every runbook run only renders and records its steps; nothing runs. */
  QUELL_RUNBOOKS_DRY_RUN: flag(false),
  /** Hosts, host:port or CIDRs runbook HTTP steps may call although private, loopback or link-local (comma-separated). */
  QUELL_HTTP_ALLOW: nameList(''),
  /** Environment variables an exec step may pass to its program (comma-separated names). */
  QUELL_EXEC_ENV_ALLOW: nameList(''),
  /** A directory of secret files (`{{ secret.NAME }}` reads `<dir>/NAME` when QUELL_SECRET_NAME is unset). */
  QUELL_SECRETS_DIR: z.preprocess(empty, z.string().optional()),
  /** Prometheus base URL for runbook `wait_for: { query }` steps. */
  QUELL_PROMETHEUS_URL: z.preprocess(empty, z.string().url().optional()),
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
  QUELL_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof configSchema>;

export const SECRET_KEYS: ReadonlySet<keyof Config> = new Set(['QUELL_INGEST_TOKEN', 'QUELL_API_TOKEN', 'DATABASE_URL', 'REDIS_URL']);

/** A configuration that cannot work; the message names the variable. Not retryable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  let fromFile: Record<string, unknown> = {};
  if (env['QUELL_CONFIG']) {
    const parsed: unknown = parseYaml(readFileSync(env['QUELL_CONFIG'], 'utf8'));
    if (parsed !== null && typeof parsed !== 'object') throw new ConfigError(`${env['QUELL_CONFIG']}: expected a mapping of settings`);
    fromFile = (parsed ?? {}) as Record<string, unknown>;
  }
  const merged: Record<string, unknown> = { ...fromFile };
  for (const key of Object.keys(configSchema.shape)) if (env[key] !== undefined) merged[key] = env[key];
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(`${issue.path.join('.')}: ${issue.message}`);
  }
  return result.data;
}

/** The configuration with secrets masked, for the start-up log. */
export function redacted(config: Config): Record<string, unknown> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, SECRET_KEYS.has(k as keyof Config) && v !== undefined ? '<set>' : v]));
}
