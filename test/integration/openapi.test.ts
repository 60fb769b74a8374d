import type { Express } from 'express';
import { Registry } from 'prom-client';
import { apiRoutes } from '../../src/api/api-description';
import { createApp } from '../../src/app';
import { CmdbLoader } from '../../src/cmdb/cmdb-loader';
import { createCmdbMetrics } from '../../src/cmdb/cmdb-metrics';
import { loadConnectors } from '../../src/connectors/connector-registry';
import { createLogger } from '../../src/log';
import { createPipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import { EmbeddedQueue } from '../../src/queue/embedded-queue';
import { serveTestApp, TEST_API_TOKEN, TEST_INGEST_TOKEN, type TestApp } from '../support/app';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

let t: TestDatabase;
let app: TestApp;
const connectors = loadConnectors();

beforeAll(async () => {
  t = await createTestDatabase();
  app = await serveTestApp({ db: t.db, queue: new EmbeddedQueue(t.db), connectors });
});
afterAll(async () => {
  app.close();
  await t.drop();
});

/** Every `METHOD path` the express app really routes (routers and exact routes mounted at the root). */
function routesOf(express: Express): Set<string> {
  const out = new Set<string>();
  interface Layer {
    route?: { path: string; methods: Record<string, boolean> };
    handle?: { stack?: Layer[]; routes?: readonly string[] };
  }
  const walk = (stack: readonly Layer[]): void => {
    for (const layer of stack) {
      if (layer.route) {
        for (const m of Object.keys(layer.route.methods)) out.add(`${m.toUpperCase()} ${layer.route.path}`);
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      } else if (layer.handle?.routes) {
        for (const r of layer.handle.routes) out.add(r); // exact-routes.ts (ingest)
      }
    }
  };
  walk((express as unknown as { router: { stack: Layer[] } }).router.stack);
  return out;
}

test('the description names exactly the routes the app serves, each once', () => {
  const registry = new Registry();
  const express = createApp({
    db: t.db, queue: new EmbeddedQueue(t.db), connectors, registry, pipelineMetrics: createPipelineMetrics(registry),
    tokens: { ingest: TEST_INGEST_TOKEN, api: TEST_API_TOKEN }, maxBodyBytes: 1024, maxClockSkewSeconds: 60,
    reads: { maxBytes: 1 << 20, concurrency: 1 }, checks: [], log: createLogger('silent'),
    cmdb: {
      loader: new CmdbLoader({ db: t.db, metrics: createCmdbMetrics(registry), log: createLogger('silent') }),
      maxBytes: 1024,
    },
  });
  const served = routesOf(express);
  const described = apiRoutes(connectors).map((r) => `${r.method.toUpperCase()} ${r.path}`);
  expect(new Set(described).size).toBe(described.length);
  expect([...served].filter((r) => !described.includes(r)).sort()).toEqual([]);
  expect(described.filter((r) => !served.has(r)).sort()).toEqual([]);
  expect(served.size).toBeGreaterThan(40);
});

test('GET /api/v1/openapi.json is an OpenAPI 3.1 document built from the request schemas', async () => {
  const res = await fetch(`${app.base}/api/v1/openapi.json`);
  expect(res.status).toBe(200);
  const doc = await res.json() as {
    openapi: string; info: { version: string };
    paths: Record<string, Record<string, {
      operationId: string; security: unknown[]; parameters: { name: string; in: string }[];
      requestBody?: {
        content: { 'application/json': { schema: { properties?: Record<string, unknown>; required?: string[] } } };
      };
      responses: Record<string, unknown>;
    }>>;
  };
  expect(doc.openapi).toBe('3.1.0');
  expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+/);
  const ops = Object.entries(doc.paths)
    .flatMap(([path, methods]) => Object.entries(methods).map(([m, op]) => ({ path, m, op })));
  // Unique operation ids; every {param} of a path declared as a path parameter.
  expect(new Set(ops.map((o) => o.op.operationId)).size).toBe(ops.length);
  for (const { path, op } of ops) {
    const params = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    expect(op.parameters.filter((p) => p.in === 'path').map((p) => p.name)).toEqual(params);
  }
  // The hold body as its zod schema validates it: state required, one of the hold states.
  const hold = doc.paths['/api/v1/incidents/{id}/hold']?.['post'];
  const holdSchema = hold?.requestBody?.content['application/json'].schema;
  expect(holdSchema?.required).toContain('state');
  expect(holdSchema?.properties?.['state']).toMatchObject({ enum: ['on_hold', 'awaiting_change'] });
  expect(hold?.security).toEqual([{ bearer: ['operator'] }]);
  expect(Object.keys(hold?.responses ?? {}))
    .toEqual(expect.arrayContaining(['200', '400', '401', '403', '404', '409']));
  // Query parameters from the list schema; ingest bodies from each connector's schema.
  expect(doc.paths['/api/v1/incidents']?.['get']?.parameters.map((p) => p.name))
    .toEqual(expect.arrayContaining(['status', 'limit', 'cursor']));
  const am = doc.paths['/ingest/alertmanager']?.['post']?.requestBody?.content['application/json'].schema;
  expect(am?.required).toContain('alerts');
  expect(doc.paths['/healthz']?.['get']?.security).toEqual([]);
});
