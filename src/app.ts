import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import { cmdbRouter } from './api/cmdb-router';
import { healthRouter, type ReadinessCheck } from './api/health-router';
import { incidentsRouter } from './api/incidents-router';
import { bodyParserErrors, sendError } from './api/errors';
import type { CmdbLoader } from './cmdb/cmdb-loader';
import type { Connector } from './connectors/connector';
import { createIngestMetrics } from './connectors/ingest-metrics';
import { ingestRouter } from './connectors/ingest-router';
import type { Logger } from './log';
import type { PipelineMetrics } from './pipeline/pipeline-metrics';
import type { IngestQueue } from './queue/ingest-queue';
import type { Database } from './store/database';

export interface AppDeps {
  readonly db: Kysely<Database>;
  readonly queue: IngestQueue;
  readonly connectors: readonly Connector[];
  readonly registry: Registry;
  readonly pipelineMetrics: PipelineMetrics;
  readonly tokens: { readonly ingest: string; readonly api: string };
  readonly maxBodyBytes: number;
  readonly checks: readonly ReadinessCheck[];
  readonly log: Logger;
  /** The CMDB's loader and QUELL_CMDB_MAX_BYTES. */
  readonly cmdb: { readonly loader: CmdbLoader; readonly maxBytes: number };
}

/** The HTTP API: health and metrics, ingest, incidents, CMDB. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(healthRouter(deps.registry, deps.checks, (reasons) => deps.log.warn({ reasons }, 'not ready')));
  app.use(ingestRouter({
    connectors: deps.connectors,
    queue: deps.queue,
    token: deps.tokens.ingest,
    maxBodyBytes: deps.maxBodyBytes,
    metrics: createIngestMetrics(deps.registry),
    onError: (err) => deps.log.warn({ err: (err as Error).message }, 'ingest queue unavailable'),
  }));
  app.use(incidentsRouter({ db: deps.db, apiToken: deps.tokens.api, resolvedCounter: deps.pipelineMetrics.incidentsResolved }));
  app.use(cmdbRouter({ db: deps.db, apiToken: deps.tokens.api, ...deps.cmdb }));
  app.use((req, res) => sendError(res, 'not_found', `no route ${req.method} ${req.path}`));
  const onError: ErrorRequestHandler = (err, req, res, _next) => {
    deps.log.error({ err, path: req.path }, 'request failed');
    if (!res.headersSent) sendError(res, 'internal', 'internal error');
  };
  app.use(bodyParserErrors, onError);
  return app;
}
