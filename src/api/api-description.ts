import type { Connector } from '../connectors/connector';
import { openApiDocument } from '../http/openapi-document';
import type { RouteDoc } from '../http/route-doc';
import { ALERT_ROUTES } from './alerts-router';
import { CHANGE_ROUTES } from './changes-router';
import { CMDB_ROUTES } from './cmdb-router';
import { HEALTH_ROUTES } from './health-router';
import { INCIDENT_ROUTES } from './incidents-router';
import { PROBLEM_ROUTES } from './problems-router';
import { REPORT_ROUTES } from './reports-router';
import { RUNBOOK_RUN_ROUTES } from './runbook-runs-router';
import { SILENCE_ROUTES } from './silences-router';

/** Where the API description is served. */
export const OPENAPI_PATH = '/api/v1/openapi.json';

/** Each connector's ingest routes: `/ingest/<id>` and its further paths, with its payload schema. */
function ingestRoutes(connector: Connector): RouteDoc[] {
  return [`/ingest/${connector.id}`, ...(connector.paths ?? [])].map((path) => ({
    method: 'post', path, tag: 'ingest', access: 'ingest', body: connector.schema,
    summary: `${connector.description}: queued durably, then 202 (or the source's own answer)`,
    success: { status: 202, description: 'durably queued' },
  }));
}

/**
 * Every route the API serves, as described: the routers' own lists (each beside the schemas
 * its handlers validate with), the connectors' ingest routes, and this description's.
 * test/integration/openapi.test.ts checks it against the routes the app really has.
 */
export function apiRoutes(connectors: readonly Connector[]): RouteDoc[] {
  return [
    ...HEALTH_ROUTES,
    ...connectors.flatMap(ingestRoutes),
    ...INCIDENT_ROUTES, ...PROBLEM_ROUTES, ...ALERT_ROUTES, ...SILENCE_ROUTES,
    ...RUNBOOK_RUN_ROUTES, ...CHANGE_ROUTES, ...CMDB_ROUTES, ...REPORT_ROUTES,
    { method: 'get', path: OPENAPI_PATH, tag: 'health', access: 'open', summary: 'this API description (OpenAPI 3.1)' },
  ];
}

/** The OpenAPI 3.1 document of the API with these connectors. */
export function apiDescription(connectors: readonly Connector[], version: string): Record<string, unknown> {
  return openApiDocument(apiRoutes(connectors), { version });
}
