import type { RequestHandler, Router } from 'express';
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

const docsOf = new WeakMap<Router, RouteDoc[]>();

/** Registers a route on `router` and its description beside it: the one way routes are added. */
export function route(router: Router, doc: RouteDoc, ...handlers: RequestHandler[]): void {
  router[doc.method](doc.path, ...handlers);
  const list = docsOf.get(router);
  if (list) list.push(doc); else docsOf.set(router, [doc]);
}

/** The described routes of routers, in the order they were added. */
export function routeDocs(routers: readonly Router[]): RouteDoc[] {
  return routers.flatMap((r) => docsOf.get(r) ?? []);
}
