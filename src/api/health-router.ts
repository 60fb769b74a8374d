import { Router } from 'express';
import type { Registry } from 'prom-client';

/** A dependency /readyz checks; throws with the reason when not ready. */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<void>;
}

/** `/healthz` (the process answers), `/readyz` (its dependencies do), `/metrics`. */
export function healthRouter(registry: Registry, checks: readonly ReadinessCheck[], onNotReady: (reasons: Record<string, string>) => void): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  router.get('/readyz', async (_req, res) => {
    const reasons: Record<string, string> = {};
    await Promise.all(checks.map(async (c) => {
      try {
        await withTimeout(c.check(), 2000);
      } catch (err) {
        reasons[c.name] = (err as Error).message;
      }
    }));
    if (Object.keys(reasons).length === 0) return res.json({ status: 'ready' });
    onNotReady(reasons);
    res.status(503).json({ status: 'not ready', reasons });
  });
  router.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  });
  return router;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e as Error); });
  });
}
