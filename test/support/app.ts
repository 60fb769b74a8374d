import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { connector as alertmanager } from '../../connectors/alertmanager';
import { createApp, type AppDeps } from '../../src/app';
import { CmdbLoader } from '../../src/cmdb/cmdb-loader';
import { createCmdbMetrics } from '../../src/cmdb/cmdb-metrics';
import { createLogger } from '../../src/log';
import { createPipelineMetrics } from '../../src/pipeline/pipeline-metrics';

export const TEST_INGEST_TOKEN = 'test-ingest-token-0123456789';
export const TEST_API_TOKEN = 'test-api-token-0123456789';

export interface TestApp {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** Stops listening and drops kept-alive connections, so jest is not held open. */
  close(): void;
}

/**
 * The real HTTP API on a free loopback port. Defaults: the Alertmanager connector, the test
 * tokens, a 64 KiB body limit, an hour of clock skew, 1 MiB answers and 4 reads at once, no readiness
 * checks, silent logs, a fresh metrics registry, a CMDB loader on `db` (64 MiB limit) with no topology holder.
 * Reads need a token, as in production: a test that is not about auth may pass `openReads: true`
 * (or send TEST_API_TOKEN); tests of roles must not.
 */
export async function serveTestApp(deps: Pick<AppDeps, 'db' | 'queue'> & Partial<AppDeps>): Promise<TestApp> {
  const registry = deps.registry ?? new Registry();
  const app = createApp({
    connectors: [alertmanager],
    pipelineMetrics: createPipelineMetrics(registry),
    tokens: { ingest: TEST_INGEST_TOKEN, api: TEST_API_TOKEN },
    maxBodyBytes: 64 * 1024,
    maxClockSkewSeconds: 3600,
    reads: { maxBytes: 1024 * 1024, concurrency: 4 },
    checks: [],
    log: createLogger('silent'),
    cmdb: deps.cmdb ?? {
      loader: new CmdbLoader({ db: deps.db, metrics: createCmdbMetrics(registry), log: createLogger('silent') }),
      maxBytes: 64 * 1024 * 1024,
    },
    ...deps,
    registry,
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close() {
      server.close();
      server.closeAllConnections();
    },
  };
}
