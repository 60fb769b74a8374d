import { Router, type RequestHandler } from 'express';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { ALERT_DISPOSITIONS, type AlertDisposition } from '../domain/alert-disposition';
import { MatcherSyntaxError, parseMatcher, type Matcher } from '../domain/matchers';
import { alertsInOrder } from '../store/alert-queries';
import type { Database } from '../store/database';
import { boundedPage } from './bounded-page';
import { sendValidationError } from '../http/errors';
import { alertListCursor } from './page-cursor';
import { requireRole } from '../http/auth';
import type { RouteDoc } from '../http/route-doc';

export interface AlertsRouterDeps {
  readonly db: Kysely<Database>;
  /** Bounds every read (the API's read gate). */
  readonly gate: RequestHandler;
  /** An answer's byte budget for its list. */
  readonly maxBytes: number;
}

/** Stored alerts one page reads at most, kept or filtered out: a selective filter's page may hold fewer items. */
export const ALERTS_SCANNED_PER_PAGE = 10_000;

/** A comma-separated list of known words, or nothing. */
const wordList = <W extends string>(known: readonly W[], what: string) => z.string().optional().transform((s, ctx) => {
  if (s === undefined || s === '') return undefined;
  const list = s.split(',').map((x) => x.trim());
  const bad = list.find((x) => !known.includes(x as W));
  if (bad !== undefined) {
    ctx.addIssue({ code: 'custom', message: `unknown ${what} ${JSON.stringify(bad)}; expected ${known.join(', ')}` });
    return z.NEVER;
  }
  return list as W[];
});

const listQuery = z.object({
  status: wordList(['firing', 'resolved'] as const, 'status'),
  disposition: wordList<AlertDisposition>(ALERT_DISPOSITIONS, 'disposition'),
  fingerprint: z.string().max(100 * 65).optional().transform((s) => (s ? s.split(',').map((x) => x.trim()) : undefined))
    .refine((l) => l === undefined || l.length <= 100, { error: 'at most 100 fingerprints' }),
  /** Alertmanager matchers, repeatable (`filter=a="1"&filter=b=~"x|y"`), as its `GET /api/v2/alerts`. */
  filter: z.union([z.string(), z.array(z.string())]).optional()
    .transform((f) => (f === undefined ? [] : Array.isArray(f) ? f : [f]))
    .refine((l) => l.length <= 20, { error: 'at most 20 filters' })
    .transform((list, ctx) => {
      const out: Matcher[] = [];
      for (const text of list) {
        try {
          out.push(parseMatcher(text));
        } catch (err) {
          if (!(err instanceof MatcherSyntaxError)) throw err;
          ctx.addIssue({ code: 'custom', message: err.message });
          return z.NEVER;
        }
      }
      return out;
    }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: alertListCursor.param,
});

/**
 * `GET /api/v1/alerts`: every stored alert's latest state and its fate: its incident, or why it
 * has none (its disposition and detail: which silence, which maintenance window, which
 * inhibiting alert, stale, no rule). A read (viewer), like the incidents.
 */
export function alertsRouter(deps: AlertsRouterDeps): Router {
  const router = Router();
  router.get('/api/v1/alerts', requireRole('viewer'), deps.gate, async (req, res) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) { sendValidationError(res, 'invalid_request', q.error); return; }
    const { status, disposition, fingerprint, filter } = q.data;
    const source = alertsInOrder(deps.db, {
      statuses: status, dispositions: disposition, fingerprints: fingerprint, matchers: filter,
    });
    const page = await boundedPage(source, {
      after: q.data.cursor, limit: q.data.limit, maxBytes: deps.maxBytes, maxScanned: ALERTS_SCANNED_PER_PAGE,
    });
    res.json({ alerts: page.items, next: alertListCursor.encode(page.next) });
  });
  return router;
}

/** The routes above as the API description tells them (src/http/openapi-document.ts). */
export const ALERT_ROUTES: readonly RouteDoc[] = [
  {
    method: 'get', path: '/api/v1/alerts', tag: 'alerts', access: 'viewer', query: listQuery,
    summary: 'stored alerts: their latest episode, incident or why none (suppressed, pending...)',
  },
];
