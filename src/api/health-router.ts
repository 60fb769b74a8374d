import { Router, type Request } from 'express';
import type { Registry } from 'prom-client';
import { runChecks, type CheckFailure, type ReadinessCheck } from '../readiness';
import type { TokenRegistry } from '../http/api-tokens';
import { bearerOf, hasRole } from '../http/auth';
import type { RouteDoc } from '../http/route-doc';

export interface HealthRouterOptions {
  /** The API's tokens: callers with an admin token also get each failure's `details`. */
  readonly tokens?: TokenRegistry;
  /** Told each failing dependency's detail, for the log. */
  onNotReady(details: Record<string, string>): void;
}

/**
 * `/healthz` (the process answers), `/readyz` (its dependencies do), `/metrics`. A 503 from
 * /readyz names each failing dependency in Quell's words (`{"database":"unreachable"}`);
 * addresses and driver errors go to the log, and to callers holding an admin token.
 */
export function healthRouter(registry: Registry, checks: readonly ReadinessCheck[], opts: HealthRouterOptions): Router {
  const router = Router();
  const trusted = (req: Request): boolean => {
    const sent = bearerOf(req);
    const principal = sent === undefined ? undefined : opts.tokens?.identify(sent);
    return principal !== undefined && hasRole(principal.role, 'admin');
  };
  router.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  router.get('/readyz', async (req, res) => {
    const failed = (await runChecks(checks)).filter((c): c is CheckFailure => !c.ok);
    if (failed.length === 0) return res.json({ status: 'ready' });
    const reasons = Object.fromEntries(failed.map((c) => [c.name, c.reason]));
    const details = Object.fromEntries(failed.map((c) => [c.name, c.detail]));
    opts.onNotReady(details);
    res.status(503).json({ status: 'not ready', reasons, ...(trusted(req) ? { details } : {}) });
  });
  router.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  });
  return router;
}

/** The routes above as the API description tells them (src/http/openapi-document.ts). */
export const HEALTH_ROUTES: readonly RouteDoc[] = [
  { method: 'get', path: '/healthz', tag: 'health', access: 'open', summary: 'the process is up' },
  {
    method: 'get', path: '/readyz', tag: 'health', access: 'open',
    summary: 'its dependencies answer (which one fails; addresses and errors to a token holder)',
  },
  {
    method: 'get', path: '/metrics', tag: 'health', access: 'open', summary: 'Prometheus metrics',
    success: { status: 200, description: 'text exposition format', contentType: 'text/plain' },
  },
];
