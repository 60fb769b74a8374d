import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Routes matched by one map lookup of method and path instead of express's walk over its
 * layers, for the paths that take most requests (ingest). A path matches as an express route
 * does by default: case-insensitive, with or without one trailing slash; no parameters.
 * Handlers run in order as a route's do: `next()` goes on, `next(err)` (or a rejected promise)
 * ends in the app's error handlers, and a request no route takes goes on to the app's next layers.
 */
export function exactRoutes(routes: readonly ExactRoute[]): ExactRoutesHandler {
  const byKey = new Map<string, readonly RequestHandler[]>();
  for (const r of routes) {
    const key = keyOf(r.method, r.path);
    if (byKey.has(key)) throw new Error(`two routes for ${r.method} ${r.path}`);
    byKey.set(key, r.handlers);
  }
  const handler: RequestHandler = (req, res, next) => {
    const handlers = byKey.get(keyOf(req.method, req.path));
    if (handlers === undefined) { next(); return; }
    runInOrder(handlers, req, res, next);
  };
  return Object.assign(handler, { routes: routes.map((r) => `${r.method} ${r.path}`) });
}

/** The middleware, with the `METHOD path` it serves (for the API description's check). */
export type ExactRoutesHandler = RequestHandler & { readonly routes: readonly string[] };

export interface ExactRoute {
  readonly method: 'POST' | 'PUT' | 'GET';
  /** A literal path: `/ingest/alertmanager`. */
  readonly path: string;
  readonly handlers: readonly RequestHandler[];
}

function keyOf(method: string, path: string): string {
  const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return `${method} ${p.toLowerCase()}`;
}

function runInOrder(handlers: readonly RequestHandler[], req: Request, res: Response, done: NextFunction): void {
  let i = 0;
  const step = (err?: unknown): void => {
    if (err !== undefined && err !== null) { done(err); return; }
    const handler = handlers[i++];
    if (handler === undefined) { done(); return; }
    try {
      const returned: unknown = handler(req, res, step);
      if (returned instanceof Promise) returned.catch(done);
    } catch (e) {
      done(e);
    }
  };
  step();
}
