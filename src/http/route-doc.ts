import type { z } from 'zod';

/** Who may call a route: anyone, a token of at least that role, or a connector's ingest credentials. */
export type RouteAccess = 'open' | 'viewer' | 'operator' | 'admin' | 'ingest';

/**
 * One route as the API description tells it. The schemas are the ones the handler validates
 * with, so the OpenAPI document (src/http/openapi-document.ts) cannot drift from the code.
 */
export interface RouteDoc {
  readonly method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express path: `/api/v1/incidents/:id` (written `{id}` in the document). */
  readonly path: string;
  readonly summary: string;
  /** The group it is listed under: `incidents`, `problems`, `ingest`... */
  readonly tag: string;
  readonly access: RouteAccess;
  /** Query parameters, as validated. */
  readonly query?: z.ZodType;
  /** The JSON body, as validated. */
  readonly body?: z.ZodType;
  /** The success answer: status and what it holds. @defaultValue 200, JSON */
  readonly success?: { readonly status: number; readonly description: string; readonly contentType?: string };
}
