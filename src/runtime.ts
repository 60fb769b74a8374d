import { once } from 'node:events';
import express from 'express';
import type { Server } from 'node:http';
import { sql, type Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import { createApp } from './app';
import { createRegistry } from './metrics-registry';
import { loadTokensFile, TokenRegistry, TokensFileError, type ApiTokenEntry } from './http/api-tokens';
import { healthRouter } from './api/health-router';
import { registerDependencyMetrics, registerStateMetrics } from './api/state-metrics';
import { CmdbLoader } from './cmdb/cmdb-loader';
import { watchCmdbFile } from './cmdb/cmdb-file-watcher';
import { createCmdbMetrics } from './cmdb/cmdb-metrics';
import { TopologyHolder } from './cmdb/topology-holder';
import { ConfigError, redacted, type Config } from './config';
import { loadConnectors } from './connectors/connector-registry';
import { connectorSetups } from './connectors/connector-settings';
import type { Logger } from './log';
import { NotReadyError, type ReadinessCheck } from './readiness';
import { buildPipeline } from './pipeline/pipeline';
import { createPipelineMetrics, type PipelineMetrics } from './pipeline/pipeline-metrics';
import { OutboxRelay } from './outbox/outbox-relay';
import {
  BullmqConsumer, BullmqIngestConsumer, BullmqIngestQueue, BullmqQueue, notifyQueueName, runbookQueueName,
  type BullmqWorkerOptions,
} from './queue/bullmq-queue';
import { EmbeddedQueue } from './queue/embedded-queue';
import { PermanentJobError, type IngestConsumer, type IngestQueue } from './queue/ingest-queue';
import type { JobConsumer, JobQueue } from './queue/job-queue';
import type { RuleBundle } from './rules/rule-bundle';
import { RulesHolder } from './rules/rules-holder';
import type { RunbookSet } from './runbooks/runbook';
import { RUNBOOK_QUEUE, runbookJobHandler, type RunbookJob } from './runbooks/runbook-queue';
import type { RunExecutor } from './runbooks/run-executor-port';
import { createRunExecutor } from './runbooks/run-executor';
import { RunAborts } from './runbooks/run-aborts';
import { wakeWaitingRuns } from './runbooks/run-records';
import { createRunbookMetrics, type RunbookMetrics } from './runbooks/runbook-metrics';
import { createSecretStore, type SecretStore } from './runbooks/secret-store';
import { createGuardedHttp } from './runbooks/guarded-http';
import { createTemplateRenderer } from './runbooks/template-renderer';
import { actionByName } from './runbooks/actions/action-registry';
import { priorityMatrixKind } from './rules/kinds/priority-matrix-kind';
import { runbooksKind } from './rules/kinds/runbooks-kind';
import { escalationPoliciesKind } from './rules/kinds/escalation-policies-kind';
import { notificationTargetsKind } from './rules/kinds/notification-targets-kind';
import { serviceLevelsKind } from './rules/kinds/service-levels-kind';
import { reportSources } from './reports/report-sources';
import { NOTIFY_QUEUE, type NotifyJob } from './notify/notify-job';
import { notifySender } from './notify/notify-sender';
import { createSlaMetrics, type SlaMetrics } from './sla/sla-metrics';
import { scheduleSlaSweep } from './sla/sla-schedule';
import { sweepServiceLevels } from './sla/sla-sweep';
import { createStillFiringCheck } from './runbooks/still-firing-check';
import type { IncidentEventsDeps } from './store/incident-events-commit';
import { connectDatabase } from './store/connect';
import type { Database } from './store/database';
import { migrateAtStart } from './startup-database';
import { addressOf, describeRedisError, listenError } from './startup-errors';
import { resolveTokens } from './tokens';
import { IngestBackpressure } from './connectors/ingest-backpressure';
import { createJobProcessor, createPipelineTick } from './worker/job-processor';
import { scheduleMaintenance, scheduleTicks } from './worker/maintenance';
import { scheduleRelease } from './worker/suppression-release';
import { scheduleExpiry } from './worker/alert-expiry';
import { createLapseMetrics } from './worker/lapse-metrics';
import { scheduleReconcile } from './worker/reconcile';
import { reconcileSourcesOf } from './worker/reconcile-sources';

export type Role = 'start' | 'api' | 'worker';

/** How often each worker looks for incidents that crossed a still_firing trigger's age. */
const STILL_FIRING_INTERVAL_MS = 5000;

/** Notifications a worker sends at once (each waits on a webhook). */
const NOTIFY_CONCURRENCY = 4;

/** Everything a Quell process holds, built once from the configuration. */
export interface Runtime {
  readonly config: Config;
  readonly log: Logger;
  readonly db: Kysely<Database>;
  readonly queue: IngestQueue;
  /** The runbook queue's producer (the outbox relay hands runs to it). */
  readonly runbookQueue: JobQueue<RunbookJob>;
  /** The notification queue's producer (service-level and escalation messages, through the outbox). */
  readonly notifyQueue: JobQueue<NotifyJob>;
  readonly slaMetrics: SlaMetrics;
  /** Hands outbox rows to their queues after commit; every worker also sweeps what was left. */
  readonly outbox: OutboxRelay;
  /** What incident events need: the runbooks in force and the relay (record stage, API changes). */
  readonly incidentEvents: IncidentEventsDeps;
  readonly registry: Registry;
  readonly pipelineMetrics: PipelineMetrics;
  /** The rules in force, reloaded when the files change or on SIGHUP. */
  readonly rules: RulesHolder;
  readonly checks: readonly ReadinessCheck[];
  /** The CMDB topology this process holds (refreshed when the stored version changes). */
  readonly topology: TopologyHolder;
  /** Stores CMDB documents (the file, PUT /api/v1/cmdb). */
  readonly cmdb: CmdbLoader;
  /** Runs executing in this process: `quell start`'s API cancels its worker's steps at once. */
  readonly runAborts: RunAborts;
  readonly runbookMetrics: RunbookMetrics;
  /** Resolves once the database schema is current: at once, or when PostgreSQL came up (api, worker). */
  readonly schemaReady: Promise<void>;
  close(): Promise<void>;
}

/**
 * Connects to the database (PostgreSQL, or embedded PGlite) and the queue (BullMQ, or the
 * embedded queue), applies migrations and loads the rules. `quell api` and `quell worker`
 * are separate processes and so need the shared servers; `quell start` runs on either.
 */
export interface RuntimeOptions {
  /** The runbooks in force, instead of the rules directory's (tests). */
  readonly runbooks?: () => RunbookSet;
}

export async function openRuntime(config: Config, log: Logger, role: Role, opts: RuntimeOptions = {}): Promise<Runtime> {
  if (role !== 'start' && (!config.REDIS_URL || !config.DATABASE_URL)) {
    throw new ConfigError(`quell ${role} runs beside other processes: set REDIS_URL and DATABASE_URL (or use quell start)`);
  }
  const registry = createRegistry();
  const rules = await RulesHolder.open({ dir: config.QUELL_RULES_DIR, log, registry });
  const { db, kind } = await connectDatabase({
    dataDir: config.QUELL_DATA_DIR, poolSize: config.QUELL_DB_POOL_SIZE, ...(config.DATABASE_URL ? { url: config.DATABASE_URL } : {}),
    onConnectionError: (err) => log.warn({ err: err.message }, 'a database connection failed; it is discarded'),
  });
  const schema = await migrateAtStart(db, config.DATABASE_URL, log, role !== 'start');
  const queue: IngestQueue = config.REDIS_URL
    ? new BullmqIngestQueue({ redisUrl: config.REDIS_URL, queueName: config.QUELL_QUEUE_NAME })
    : new EmbeddedQueue(db, { onError: (err, job) => log.error({ err: err.message, job: job.id, permanent: err instanceof PermanentJobError }, 'job failed') });
  const runbookQueue: JobQueue<RunbookJob> = config.REDIS_URL
    ? new BullmqQueue<RunbookJob>({ redisUrl: config.REDIS_URL, queueName: runbookQueueName(config.QUELL_QUEUE_NAME), jobName: RUNBOOK_QUEUE })
    : new EmbeddedQueue<RunbookJob>(db, {
      queue: RUNBOOK_QUEUE,
      onError: (err, job) => log.error({ err: err.message, job: job.id, permanent: err instanceof PermanentJobError }, 'runbook job failed'),
    });
  const notifyQueue: JobQueue<NotifyJob> = config.REDIS_URL
    ? new BullmqQueue<NotifyJob>({ redisUrl: config.REDIS_URL, queueName: notifyQueueName(config.QUELL_QUEUE_NAME), jobName: NOTIFY_QUEUE })
    : new EmbeddedQueue<NotifyJob>(db, {
      queue: NOTIFY_QUEUE,
      onError: (err, job) => log.warn({ err: err.message, job: job.id }, 'notification job failed; it is retried'),
    });
  const outbox = new OutboxRelay(db, { [RUNBOOK_QUEUE]: runbookQueue, [NOTIFY_QUEUE]: notifyQueue }, { log, registry });
  const incidentEvents: IncidentEventsDeps = {
    runbooks: opts.runbooks ?? (() => runbooksOf(rules.current())),
    rulesVersion: () => rules.current().version,
    relay: (rows) => outbox.relayLater(rows),
  };
  const embedded = kind === 'pglite' || queue.kind === 'embedded';
  log.info({
    role, mode: embedded ? 'embedded' : 'servers', database: kind, queue: queue.kind,
    migrations: schema.applied ?? 'waiting for PostgreSQL', rules: { version: rules.current().version, ...rules.current().counts },
    config: redacted(config),
  }, embedded
    ? `embedded mode: ${kind === 'pglite' ? `PGlite in ${config.QUELL_DATA_DIR}` : 'PostgreSQL'}, ${queue.kind} queue (set REDIS_URL and DATABASE_URL for servers)`
    : 'server mode: BullMQ on Redis, PostgreSQL');

  if (config.REDIS_URL) await warnIfRedisUnreachable(queue, config.REDIS_URL, log);

  rules.watch();
  const checks: ReadinessCheck[] = [
    {
      name: 'database', check: async () => { await sql`select 1`.execute(db); },
      ...(config.DATABASE_URL ? { dependency: 'PostgreSQL', address: addressOf(config.DATABASE_URL, 5432) } : {}),
    },
    {
      name: 'queue', check: () => queue.checkReady(),
      ...(config.REDIS_URL ? { dependency: 'Redis', address: addressOf(config.REDIS_URL, 6379) } : {}),
    },
  ];
  registerDependencyMetrics(registry, checks);
  const cmdbMetrics = createCmdbMetrics(registry);
  const binding = { bindLabels: config.QUELL_CMDB_BIND_LABELS, aliasLabels: config.QUELL_CMDB_ALIAS_LABELS };
  const topology = new TopologyHolder({ db, binding, metrics: cmdbMetrics, log });
  await topology.refresh().catch((err: unknown) => {
    log.warn({ err: (err as Error).message }, 'cannot read the stored CMDB yet; polling');
  });
  topology.start();
  return {
    config, log, db, queue, runbookQueue, notifyQueue, outbox, incidentEvents, registry, rules, checks, topology,
    slaMetrics: createSlaMetrics(registry),
    runAborts: new RunAborts(), runbookMetrics: createRunbookMetrics(registry),
    pipelineMetrics: createPipelineMetrics(registry),
    cmdb: new CmdbLoader({ db, metrics: cmdbMetrics, log, holder: topology }),
    schemaReady: schema.ready,
    async close() {
      schema.stop();
      rules.close();
      topology.stop();
      await queue.close();
      await runbookQueue.close();
      await notifyQueue.close();
      await db.destroy();
    },
  };
}

/** A warning naming REDIS_URL when Redis does not answer at start; the process goes on and /readyz says why. */
async function warnIfRedisUnreachable(queue: IngestQueue, url: string, log: Logger): Promise<void> {
  try {
    await queue.checkReady();
  } catch (err) {
    if (err instanceof NotReadyError) {
      log.warn(`REDIS_URL: ${err.message}; set maxmemory-policy noeviction (/readyz says not ready until then)`);
      return;
    }
    const problem = describeRedisError(err, url);
    if (!problem.unreachable) throw new ConfigError(problem.message, { cause: err });
    log.warn({ err: (err as Error).message }, `${problem.message}. Ingest answers 503 until it does; /readyz says not ready`);
  }
}

/** The runbooks in force: the `Runbooks` documents of the rules directory. */
function runbooksOf(bundle: RuleBundle): RunbookSet {
  return bundle.get(runbooksKind);
}

/** Secrets (`{{ secret.NAME }}`) from the environment and QUELL_SECRETS_DIR. */
function secretStoreOf(rt: Runtime): SecretStore {
  return createSecretStore({ env: process.env, ...(rt.config.QUELL_SECRETS_DIR ? { dir: rt.config.QUELL_SECRETS_DIR } : {}) });
}

/** The run executor of a worker: actions from the registry, secrets from the environment and QUELL_SECRETS_DIR. */
function runExecutorOf(rt: Runtime): RunExecutor {
  const secrets = secretStoreOf(rt);
  return createRunExecutor({
    db: rt.db,
    runbooks: rt.incidentEvents.runbooks,
    actions: actionByName,
    renderer: (scope) => createTemplateRenderer(scope, secrets),
    settings: {
      enabled: rt.config.QUELL_RUNBOOKS_ENABLED,
      dryRun: rt.config.QUELL_RUNBOOKS_DRY_RUN,
      actions: {
        httpAllow: rt.config.QUELL_HTTP_ALLOW,
        execEnvAllow: rt.config.QUELL_EXEC_ENV_ALLOW,
        maxOutputBytes: rt.config.QUELL_RUNBOOK_MAX_OUTPUT_BYTES,
        ...(rt.config.QUELL_PROMETHEUS_URL ? { prometheusUrl: rt.config.QUELL_PROMETHEUS_URL } : {}),
      },
    },
    metrics: rt.runbookMetrics,
    log: rt.log,
    aborts: rt.runAborts,
    incidentEvents: rt.incidentEvents,
  });
}

/** The tokens of QUELL_TOKENS_FILE (none when unset); a bad file stops the start, naming the entry. */
function apiTokensOf(rt: Runtime): ApiTokenEntry[] {
  const file = rt.config.QUELL_TOKENS_FILE;
  if (file === undefined) return [];
  let tokens: ApiTokenEntry[];
  try {
    tokens = loadTokensFile(file);
  } catch (err) {
    if (err instanceof TokensFileError) throw new ConfigError(`QUELL_TOKENS_FILE: ${err.message}`);
    throw err;
  }
  rt.log.info({ file, tokens: tokens.length }, 'API tokens read');
  return tokens;
}

/** Serves the API; resolves once listening. */
export async function startApi(rt: Runtime): Promise<Server> {
  const tokens = resolveTokens(rt.config);
  if (tokens.generatedFile) rt.log.warn({ file: tokens.generatedFile }, 'QUELL_INGEST_TOKEN or QUELL_API_TOKEN unset: the missing one is generated and kept in this file');
  registerStateMetrics(rt.registry, rt.db, rt.queue);
  const backpressure = new IngestBackpressure(rt.queue, { maxDepth: rt.config.QUELL_INGEST_MAX_QUEUE_DEPTH });
  const app = createApp({
    backpressure,
    db: rt.db, queue: rt.queue, connectors: connectorSetups(loadConnectors()), registry: rt.registry, pipelineMetrics: rt.pipelineMetrics,
    tokens: { ...tokens, apiTokens: apiTokensOf(rt) }, openReads: rt.config.QUELL_OPEN_READS,
    priorityPolicy: () => rt.rules.current().get(priorityMatrixKind),
    maxBodyBytes: rt.config.QUELL_MAX_BODY_BYTES, maxClockSkewSeconds: rt.config.QUELL_MAX_CLOCK_SKEW_SECONDS,
    checks: rt.checks, log: rt.log,
    reads: { maxBytes: rt.config.QUELL_MAX_RESPONSE_BYTES, concurrency: rt.config.QUELL_API_READ_CONCURRENCY },
    cmdb: { loader: rt.cmdb, maxBytes: rt.config.QUELL_CMDB_MAX_BYTES },
    incidentEvents: rt.incidentEvents,
    runbooks: { aborts: rt.runAborts, envEnabled: rt.config.QUELL_RUNBOOKS_ENABLED },
    reports: reportSources(rt.db, () => rt.rules.current().get(serviceLevelsKind)),
    serviceLevels: () => rt.rules.current().get(serviceLevelsKind),
  });
  // The API processes apply the CMDB file (several store it once: same hash); workers follow the stored version.
  const file = rt.config.QUELL_CMDB_FILE;
  const cmdbFile = file ? watchCmdbFile({ file, loader: rt.cmdb, log: rt.log }) : undefined;
  await cmdbFile?.ready;
  const server = await listen(app, rt.config.QUELL_PORT, rt.config.QUELL_HOST, rt.log, 'api', 'QUELL_PORT');
  server.on('close', () => { cmdbFile?.close(); backpressure.stop(); });
  backpressure.start();
  return server;
}

export interface WorkerOptions {
  /** Executes runbook runs. @defaultValue the runtime's (createRunExecutor) */
  readonly executor?: RunExecutor;
}

/**
 * Starts applying queued jobs (ingest and runbook runs), the pipeline's ticks, the outbox
 * sweeper, the still-firing check and the hourly housekeeping; `close` finishes the jobs in hand.
 */
export function startWorker(rt: Runtime, opts: WorkerOptions = {}): { close(): Promise<void> } {
  const stages = buildPipeline({
    rules: () => rt.rules.current(), metrics: rt.pipelineMetrics, topology: () => rt.topology.current(), incidentEvents: rt.incidentEvents,
  });
  const handler = createJobProcessor(rt.db, stages, rt.pipelineMetrics, { transactions: rt.config.QUELL_WORKER_TRANSACTIONS });
  const consumer: IngestConsumer = rt.queue instanceof EmbeddedQueue
    ? rt.queue
    : new BullmqIngestConsumer({
      redisUrl: rt.config.REDIS_URL as string,
      queueName: rt.config.QUELL_QUEUE_NAME,
      concurrency: rt.config.QUELL_WORKER_CONCURRENCY,
      lockDurationMs: rt.config.QUELL_LOCK_DURATION_MS,
      ...redisOutageLog(rt, 'ingest worker'),
      onFailed: (job, err, final) => (final
        ? rt.log.error({ job, err: err.message }, 'job failed for good; kept in the failed set')
        : rt.log.warn({ job, err: err.message }, 'job failed; will retry')),
      onPause: (err, ms) => rt.log.warn(
        { err: (err.cause as Error | undefined)?.message ?? err.message, pause_ms: ms },
        `${err.dependency} unavailable: the worker takes no jobs for ${ms} ms; they wait, their attempts untouched`,
      ),
      onResume: (dependency) => rt.log.info(`${dependency} reachable again: the worker takes jobs`),
    });
  consumer.start(handler);
  const runbookConsumer: JobConsumer<RunbookJob> = rt.runbookQueue instanceof EmbeddedQueue
    ? rt.runbookQueue
    : new BullmqConsumer<RunbookJob>({
      redisUrl: rt.config.REDIS_URL as string,
      queueName: runbookQueueName(rt.config.QUELL_QUEUE_NAME),
      concurrency: rt.config.QUELL_RUNBOOK_CONCURRENCY,
      lockDurationMs: rt.config.QUELL_LOCK_DURATION_MS,
      ...redisOutageLog(rt, 'runbook worker'),
      onFailed: (job, err, final) => (final
        ? rt.log.error({ job, err: err.message }, 'runbook job failed for good; kept in the failed set')
        : rt.log.warn({ job, err: err.message }, 'runbook job failed; will retry')),
    });
  runbookConsumer.start(runbookJobHandler(opts.executor ?? runExecutorOf(rt)));
  const notifyConsumer: JobConsumer<NotifyJob> = rt.notifyQueue instanceof EmbeddedQueue
    ? rt.notifyQueue
    : new BullmqConsumer<NotifyJob>({
      redisUrl: rt.config.REDIS_URL as string,
      queueName: notifyQueueName(rt.config.QUELL_QUEUE_NAME),
      concurrency: NOTIFY_CONCURRENCY,
      lockDurationMs: rt.config.QUELL_LOCK_DURATION_MS,
      onError: (err) => rt.log.error({ err }, 'notify worker error'),
      onFailed: (job, err, final) => (final
        ? rt.log.error({ job, err: err.message }, 'notification job failed for good; kept in the failed set')
        : rt.log.info({ job, err: err.message }, 'notification job failed; will retry')),
    });
  notifyConsumer.start(notifySender({
    db: rt.db, targets: () => rt.rules.current().get(notificationTargetsKind), secrets: secretStoreOf(rt),
    http: createGuardedHttp({ allow: rt.config.QUELL_HTTP_ALLOW, maxBodyBytes: 64 * 1024 }),
    incidentEvents: rt.incidentEvents, registry: rt.registry, log: rt.log,
  }));
  const slaSweep = scheduleSlaSweep((now) => sweepServiceLevels({
    db: rt.db, incidentEvents: rt.incidentEvents, metrics: rt.slaMetrics, log: rt.log,
    serviceLevels: () => rt.rules.current().get(serviceLevelsKind),
    escalationPolicies: () => rt.rules.current().get(escalationPoliciesKind),
  }, now), rt.log);
  const maintenance = scheduleMaintenance(rt.db, rt.log, rt.config.QUELL_REPORTS_SETTLE_DAYS);
  const release = scheduleRelease(rt.db, stages, rt.pipelineMetrics, rt.log);
  const ticks = scheduleTicks(createPipelineTick(rt.db, stages), rt.log);
  const lapseMetrics = { pipeline: rt.pipelineMetrics, lapse: createLapseMetrics(rt.registry) };
  const expiry = scheduleExpiry(rt.db, stages, lapseMetrics, rt.log);
  const sources = reconcileSourcesOf(rt.config, loadConnectors());
  const reconcile = rt.config.QUELL_RECONCILE_INTERVAL_SECONDS > 0 && sources.length > 0
    ? scheduleReconcile(rt.db, stages, sources, {
      intervalMs: rt.config.QUELL_RECONCILE_INTERVAL_SECONDS * 1000, graceMs: rt.config.QUELL_RECONCILE_GRACE_SECONDS * 1000,
    }, lapseMetrics, rt.log)
    : undefined;
  const sweeper = rt.outbox.schedule();
  const stillFiring = createStillFiringCheck(rt.db, rt.incidentEvents);
  const stillFiringTicks = scheduleTicks(async () => { await stillFiring(); await wakeWaitingRuns(rt.db); }, rt.log, STILL_FIRING_INTERVAL_MS);
  rt.log.info({
    concurrency: rt.config.QUELL_WORKER_CONCURRENCY, transactions: rt.config.QUELL_WORKER_TRANSACTIONS,
    runbook_concurrency: rt.config.QUELL_RUNBOOK_CONCURRENCY,
  }, 'worker started');
  return {
    async close() {
      maintenance.stop();
      release.stop();
      slaSweep.stop();
      // Side by side: with Redis unreachable each waits its bounded time for its jobs in hand.
      // The embedded mode's runbook and notify queues are the runtime's (closed with it).
      await Promise.all([
        consumer.close(),
        rt.runbookQueue instanceof EmbeddedQueue ? undefined : runbookConsumer.close(),
        rt.notifyQueue instanceof EmbeddedQueue ? undefined : notifyConsumer.close(),
      ]);
      await ticks.stop();
      await expiry.stop();
      await reconcile?.stop();
      await stillFiringTicks.stop();
      await sweeper.stop();
    },
  };
}

/**
 * A consumer's error callbacks: Redis outages as a few lines naming REDIS_URL with a count of
 * failed attempts; other errors one line each (with the stack at QUELL_LOG_LEVEL=debug).
 */
function redisOutageLog(rt: Runtime, what: string): Pick<BullmqWorkerOptions, 'onError' | 'onConnectionError' | 'onReconnected'> {
  const url = rt.config.REDIS_URL as string;
  const debug = rt.log.isLevelEnabled('debug');
  return {
    onError: (err) => rt.log.error({ err: debug ? err : err.message }, `${what} error`),
    onConnectionError: (err, failures) => rt.log.warn({ failures, err: err.message },
      `${describeRedisError(err, url).message} (${what}: ${failures} failed ${failures === 1 ? 'attempt' : 'attempts'}; retrying, next line at ${failures * 2})`),
    onReconnected: (failures) => rt.log.info({ failures }, `Redis at ${addressOf(url, 6379)} reachable again after ${failures} failed attempts (${what})`),
  };
}

/** A worker process's own /healthz, /readyz and /metrics. */
export async function startWorkerMetrics(rt: Runtime): Promise<Server> {
  const app = express();
  // The API token only if configured: a worker does not generate tokens, so without it the details stay in the log.
  app.use(healthRouter(rt.registry, rt.checks, {
    tokens: new TokenRegistry(rt.config.QUELL_API_TOKEN, apiTokensOf(rt)),
    onNotReady: (details) => rt.log.warn({ reasons: details }, 'not ready'),
  }));
  return listen(app, rt.config.QUELL_METRICS_PORT, rt.config.QUELL_HOST, rt.log, 'worker metrics', 'QUELL_METRICS_PORT');
}

async function listen(
  app: express.Express, port: number, host: string, log: Logger, what: string, setting: 'QUELL_PORT' | 'QUELL_METRICS_PORT',
): Promise<Server> {
  const server = app.listen(port, host);
  try {
    await once(server, 'listening');
  } catch (err) {
    throw listenError(err, setting, host, port);
  }
  const address = server.address();
  log.info({ address }, `${what} listening`);
  return server;
}
