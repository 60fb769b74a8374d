import { z } from 'zod';
import type { RouteAccess, RouteDoc } from './route-doc';

/** The error answer every route shares (src/api/errors.ts sendError). */
const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'retryable'],
      properties: {
        code: { type: 'string' }, message: { type: 'string' }, retryable: { type: 'boolean' },
        field: { type: 'string', description: 'the bad field, for invalid_payload and invalid_request' },
      },
    },
  },
} as const;

/** A request schema as JSON Schema (draft 2020-12, OpenAPI 3.1's): what the sender may send. */
const jsonSchemaOf = (schema: z.ZodType): Record<string, unknown> => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', cycles: 'ref' });
  return rest;
};

/** Express `:id` segments to OpenAPI `{id}`, with the names. */
function pathOf(expressPath: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = expressPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => { params.push(name); return `{${name}}`; });
  return { path, params };
}

function queryParameters(schema: z.ZodType): Record<string, unknown>[] {
  const json = jsonSchemaOf(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name, in: 'query', required: json.required?.includes(name) ?? false, schema: s,
  }));
}

const SECURITY: Readonly<Record<RouteAccess, readonly Record<string, string[]>[]>> = {
  open: [], viewer: [{ bearer: ['viewer'] }], operator: [{ bearer: ['operator'] }], admin: [{ bearer: ['admin'] }],
  ingest: [{ ingest: [] }],
};

/** The error answers a route may give, by what it takes and who may call it. */
function errorResponses(doc: RouteDoc, hasParams: boolean): Record<string, unknown> {
  const ref = {
    description: 'see `error.code` (README, error codes)',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  };
  const codes = new Set<number>([500, 503]);
  if (doc.access !== 'open') codes.add(401);
  if (doc.access !== 'open' && doc.access !== 'ingest') codes.add(403);
  if (doc.body !== undefined || doc.query !== undefined || hasParams) codes.add(400);
  if (hasParams) codes.add(404);
  if (doc.method !== 'get' && doc.access !== 'ingest' && hasParams) codes.add(409);
  if (doc.body !== undefined) codes.add(413);
  return Object.fromEntries([...codes].sort().map((c) => [String(c), ref]));
}

/** An OpenAPI 3.1 document of `routes`. */
export function openApiDocument(
  routes: readonly RouteDoc[], info: { readonly version: string },
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const doc of routes) {
    const { path, params } = pathOf(doc.path);
    const success = doc.success ?? { status: 200, description: 'OK' };
    const operation: Record<string, unknown> = {
      operationId: doc.method + path.replace(/[{}]/g, '').split(/[/-]/).filter(Boolean)
        .map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(''),
      summary: doc.summary,
      tags: [doc.tag],
      security: SECURITY[doc.access],
      parameters: [
        ...params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
        ...(doc.query ? queryParameters(doc.query) : []),
      ],
      ...(doc.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchemaOf(doc.body) } } } }
        : {}),
      responses: {
        [String(success.status)]: {
          description: success.description,
          ...(success.status === 204 ? {} : { content: { [success.contentType ?? 'application/json']: {} } }),
        },
        ...errorResponses(doc, params.length > 0),
      },
    };
    (paths[path] ??= {})[doc.method] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Quell API', version: info.version,
      description: 'Alerts in through connectors, ITIL incidents, problems and runbook runs out. '
        + 'Errors answer `{"error":{"code","message","retryable"}}`.',
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http', scheme: 'bearer',
          description: 'an API token (QUELL_API_TOKEN or QUELL_TOKENS_FILE); its role decides',
        },
        ingest: { type: 'http', scheme: 'bearer', description: 'the ingest token, or a connector\'s own credentials' },
      },
      schemas: { Error: ERROR_SCHEMA },
    },
    paths,
  };
}
