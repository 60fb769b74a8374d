import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import { alertsRouter } from './api/alerts-router';
import { apiDescription, OPENAPI_PATH } from './api/api-description';
import { TokenRegistry, type ApiTokenEntry } from './http/api-tokens';
import { identify } from './http/auth';
import { ENVELOPE_BYTES } from './api/bounded-page';
import { cmdbRouter } from './api/cmdb-router';
import { healthRouter } from './api/health-router';
import { incidentsRouter, type ReadLimits } from './api/incidents-router';
import { readGate } from './api/read-gate';
import { changesRouter } from './api/changes-router';
import { problemsRouter } from './api/problems-router';
import { reportsRouter } from './api/reports-router';
import { runbookRunsRouter } from './api/runbook-runs-router';
import { silencesRouter } from './api/silences-router';
import { bodyParserErrors, sendError } from './http/errors';
import type { CmdbLoader } from './cmdb/cmdb-loader';
import type { Connector } from './connectors/connector';
import type { PriorityPolicy } from './domain/priority';
import type { ReportContext } from './reports/report';
import type { ConnectorSetup } from './connectors/connector-settings';
import { createIngestMetrics } from './connectors/ingest-metrics';
import type { IngestBackpressure } from './connectors/ingest-backpressure';
import { ingestRouter } from './connectors/ingest-router';
import type { Logger } from './log';
import { packageVersion } from './package-version';
import type { ReadinessCheck } from './readiness';
import type { PipelineMetrics } from './pipeline/pipeline-metrics';
import type { IngestQueue } from './queue/ingest-queue';
import { RunAborts } from './runbooks/run-aborts';
import { isConnectionError } from './store/pg-errors';
import type { Database } from './store/database';
import type { IncidentEventsDeps } from './store/incident-events-commit';
import type { ServiceLevelPolicy } from './domain/service-level';

export interface AppDeps {
  readonly db: Kysely<Database>;
  readonly queue: IngestQueue;
  /** The connectors, with their settings (connector-settings.ts); a bare connector has none. */
  readonly connectors: readonly (Connector | ConnectorSetup)[];
  readonly registry: Registry;
  readonly pipelineMetrics: PipelineMetrics;
  /**
   * The ingest token (connectors), QUELL_API_TOKEN (an admin token) and the tokens of
   * QUELL_TOKENS_FILE (hashed, each with its role).
   */
  readonly tokens: { readonly ingest: string; readonly api: string; readonly apiTokens?: readonly ApiTokenEntry[] };
  /** QUELL_OPEN_READS: reads need no token. @defaultValue false */
  readonly openReads?: boolean;
  /** The rules' PriorityMatrix in force. @defaultValue the ITIL default */
  readonly priorityPolicy?: () => PriorityPolicy;
  readonly maxBodyBytes: number;
  readonly maxClockSkewSeconds: number;
  /** Ingest's 503 while the queue is over its depth. @defaultValue none: never */
  readonly backpressure?: IngestBackpressure;
  readonly reads: ReadLimits;
  readonly checks: readonly ReadinessCheck[];
  readonly log: Logger;
  /** The CMDB's loader and QUELL_CMDB_MAX_BYTES. */
  readonly cmdb: { readonly loader: CmdbLoader; readonly maxBytes: number };
  /**
   * Runbook runs: the runs executing in this process (shared with its executor, so that a
   * cancel aborts a step at once) and QUELL_RUNBOOKS_ENABLED. @defaultValue none here, enabled
   */
  readonly runbooks?: { readonly aborts: RunAborts; readonly envEnabled: boolean };
  /** Runbooks that acknowledge/resolve trigger, and the outbox relay. @defaultValue none: the timeline only */
  readonly incidentEvents?: IncidentEventsDeps;
  /** The service levels in force: an incident's detail shows its clocks. @defaultValue none */
  readonly serviceLevels?: () => ServiceLevelPolicy;
  /** Sources the KPI reports plug in (SLA compliance, top problems). @defaultValue none */
  readonly reports?: Omit<ReportContext, 'db'>;
}

/** The HTTP API: health and metrics, ingest, incidents, silences, alerts, runbook runs and changes, CMDB. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  const tokens = new TokenRegistry(deps.tokens.api, deps.tokens.apiTokens);
  // Ingest first: most requests are ingest, and its routes are matched by one lookup (exact-routes.ts).
  app.use(ingestRouter({
    connectors: deps.connectors,
    queue: deps.queue,
    token: deps.tokens.ingest,
    maxBodyBytes: deps.maxBodyBytes,
    maxClockSkewSeconds: deps.maxClockSkewSeconds,
    metrics: createIngestMetrics(deps.registry),
    backpressure: deps.backpressure,
    onError: (err) => deps.log.warn({ err: (err as Error).message }, 'ingest queue unavailable'),
  }));
  app.use(healthRouter(deps.registry, deps.checks, {
    tokens,
    onNotReady: (details) => deps.log.warn({ reasons: details }, 'not ready'),
  }));
  // Who sent each API request (the routes' requireRole checks read it); ingest has its own token.
  app.use(identify(tokens, { openReads: deps.openReads ?? false }));
  // One gate for every read, so that QUELL_API_READ_CONCURRENCY bounds them all together.
  const gate = readGate({ concurrency: deps.reads.concurrency, maxWaiting: 4 * deps.reads.concurrency });
  const maxBytes = Math.max(0, deps.reads.maxBytes - ENVELOPE_BYTES);
  app.use(incidentsRouter({
    db: deps.db, resolvedCounter: deps.pipelineMetrics.incidentsResolved,
    reads: deps.reads, gate, ...(deps.incidentEvents ? { incidentEvents: deps.incidentEvents } : {}),
    ...(deps.priorityPolicy ? { priorityPolicy: deps.priorityPolicy } : {}),
    ...(deps.serviceLevels ? { serviceLevels: deps.serviceLevels } : {}),
  }));
  app.use(silencesRouter({ db: deps.db, gate, maxBytes }));
  app.use(alertsRouter({ db: deps.db, gate, maxBytes }));
  app.use(runbookRunsRouter({
    db: deps.db, gate, maxBytes,
    aborts: deps.runbooks?.aborts ?? new RunAborts(), envEnabled: deps.runbooks?.envEnabled ?? true,
  }));
  app.use(changesRouter({ db: deps.db, gate, maxBytes }));
  app.use(problemsRouter({
    db: deps.db, gate, maxBytes, ...(deps.incidentEvents ? { incidentEvents: deps.incidentEvents } : {}),
  }));
  app.use(cmdbRouter({ db: deps.db, ...deps.cmdb }));
  app.use(reportsRouter({ db: deps.db, gate, ...deps.reports }));
  // The API description, built once from the routers' route lists and the connectors' schemas.
  let description: Record<string, unknown> | undefined;
  app.get(OPENAPI_PATH, (_req, res) => {
    description ??= apiDescription(deps.connectors.map((c) => ('connector' in c ? c.connector : c)), packageVersion());
    res.json(description);
  });
  app.use((req, res) => sendError(res, 'not_found', `no route ${req.method} ${req.path}`));
  // Every route's errors end here: the database being down is one answer for all of them,
  // logged at most every 10 s with the count, not once per request of a busy dashboard.
  let unavailableLoggedAt = 0;
  let unavailableAnswers = 0;
  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    if (isConnectionError(err)) {
      unavailableAnswers++;
      if (Date.now() - unavailableLoggedAt >= 10_000) {
        deps.log.warn({ err: (err as Error).message, path: req.path, answers: unavailableAnswers },
          'database unavailable: reads and changes answer 503, ingest goes on');
        unavailableLoggedAt = Date.now();
        unavailableAnswers = 0;
      }
      if (!res.headersSent) sendError(res, 'database_unavailable', 'the database cannot be reached now; retry later');
      return;
    }
    deps.log.error({ err, path: req.path }, 'request failed');
    if (!res.headersSent) sendError(res, 'internal', 'internal error');
  };
  app.use(bodyParserErrors, onError);
  return app;
}
