import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Kysely } from 'kysely';
import type { Counter } from 'prom-client';
import { z } from 'zod';
import { INCIDENT_STATUSES, type IncidentStatus } from '../domain/incident-lifecycle';
import type { ServiceLevelPolicy } from '../domain/service-level';
import type { Database } from '../store/database';
import type { KeysetSource } from '../store/keyset';
import type { IncidentEventsDeps } from '../store/incident-events-commit';
import { changeIncident, type ManualChange } from '../store/incident-store';
import { alertsOfIncident, findIncident, incidentsInOrder, timelineOfIncident } from '../store/incident-queries';
import { requireBearer } from './auth';
import { boundedPage, ENVELOPE_BYTES } from './bounded-page';
import { sendError, sendValidationError } from './errors';
import { jsonBody } from './json-body';
import { readIncidentDetail } from './incident-detail';
import { alertCursor, incidentCursor, timelineCursor, type CursorCodec } from './page-cursor';
import { readGate } from './read-gate';

export interface IncidentsRouterDeps {
  readonly db: Kysely<Database>;
  readonly apiToken: string;
  readonly resolvedCounter: Counter<'by'>;
  readonly reads: ReadLimits;
  /** The read gate, when the app shares one among its routers. @defaultValue one of its own, from `reads` */
  readonly gate?: RequestHandler;
  /** Runbooks that acknowledge/resolve trigger, and the outbox relay. @defaultValue none: the timeline only */
  readonly incidentEvents?: IncidentEventsDeps;
  /** The service levels in force, for the clocks in an incident's detail. @defaultValue none (no clocks) */
  readonly serviceLevels?: () => ServiceLevelPolicy;
}

/** How much reading the API does at once. */
export interface ReadLimits {
  /** The most an answer with a list takes, in bytes (QUELL_MAX_RESPONSE_BYTES). */
  readonly maxBytes: number;
  /** Reads served at once; four times as many may wait (QUELL_API_READ_CONCURRENCY). */
  readonly concurrency: number;
}

const STATUSES: readonly IncidentStatus[] = INCIDENT_STATUSES;

const listQuery = z.object({
  status: z.string().optional().transform((s, ctx) => {
    if (s === undefined || s === '') return undefined;
    const list = s.split(',').map((x) => x.trim());
    const bad = list.find((x) => !STATUSES.includes(x as IncidentStatus));
    if (bad !== undefined) { ctx.addIssue({ code: 'custom', message: `unknown status ${JSON.stringify(bad)}; expected ${STATUSES.join(', ')}` }); return z.NEVER; }
    return list as IncidentStatus[];
  }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: incidentCursor.param,
});

const pageLimit = (def: number, min = 1) => z.coerce.number().int().min(min).max(1000).default(def);
const detailQuery = z.object({ alerts_limit: pageLimit(50, 0), timeline_limit: pageLimit(50, 0) });
const alertsQuery = z.object({
  status: z.enum(['firing', 'resolved']).optional(),
  limit: pageLimit(100),
  cursor: alertCursor.param,
});
const timelineQuery = z.object({ limit: pageLimit(100), cursor: timelineCursor.param });

const changeBody = z.object({
  by: z.string().min(1).max(200).optional(),
  comment: z.string().max(4000).optional(),
}).default({});

/** The incidents API (v1): reading is open, changing needs the API token. */
export function incidentsRouter(deps: IncidentsRouterDeps): Router {
  const router = Router();
  const auth = requireBearer(deps.apiToken, 'quell-api');

  // Reading is open to anyone: every read is bounded in rows, bytes and concurrency.
  const gate = deps.gate ?? readGate({ concurrency: deps.reads.concurrency, maxWaiting: 4 * deps.reads.concurrency });
  const maxBytes = Math.max(0, deps.reads.maxBytes - ENVELOPE_BYTES);
  const sla = () => (deps.serviceLevels ? { serviceLevels: deps.serviceLevels(), now: new Date() } : {});

  router.get('/api/v1/incidents', gate, async (req, res) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) return sendValidationError(res, 'invalid_request', q.error);
    const page = await boundedPage(incidentsInOrder(deps.db, q.data.status),
      { after: q.data.cursor, limit: q.data.limit, maxBytes });
    res.json({ incidents: page.items, next: incidentCursor.encode(page.next) });
  });

  router.get('/api/v1/incidents/:id', gate, async (req, res) => {
    const id = parseId(req.params['id'] as string);
    if (id === undefined) return sendError(res, 'invalid_request', 'incident id must be a positive integer');
    const q = detailQuery.safeParse(req.query);
    if (!q.success) return sendValidationError(res, 'invalid_request', q.error);
    const incident = await readIncidentDetail(deps.db, id,
      { alerts: q.data.alerts_limit, timeline: q.data.timeline_limit, maxBytes: deps.reads.maxBytes, ...sla() });
    if (incident === undefined) return sendError(res, 'not_found', `no incident ${id}`);
    res.json(incident);
  });

  /** One of an incident's own lists, paged: `/api/v1/incidents/{id}/<name>?limit=&cursor=`. */
  const incidentList = <K, T, Q extends { readonly limit: number; readonly cursor?: K | undefined }>(
    name: 'alerts' | 'timeline', query: z.ZodType<Q>, rows: (id: number, q: Q) => KeysetSource<K, T>, cursor: CursorCodec<K>,
  ) => async (req: Request, res: Response) => {
    const id = parseId(req.params['id'] as string);
    if (id === undefined) return sendError(res, 'invalid_request', 'incident id must be a positive integer');
    const q = query.safeParse(req.query);
    if (!q.success) return sendValidationError(res, 'invalid_request', q.error);
    if (await findIncident(deps.db, id) === undefined) return sendError(res, 'not_found', `no incident ${id}`);
    const page = await boundedPage(rows(id, q.data), { after: q.data.cursor, limit: q.data.limit, maxBytes });
    res.json({ [name]: page.items, next: cursor.encode(page.next) });
  };
  router.get('/api/v1/incidents/:id/alerts', gate,
    incidentList('alerts', alertsQuery, (id, q) => alertsOfIncident(deps.db, id, q.status), alertCursor));
  router.get('/api/v1/incidents/:id/timeline', gate,
    incidentList('timeline', timelineQuery, (id) => timelineOfIncident(deps.db, id), timelineCursor));

  const change = (kind: ManualChange) => async (req: Request, res: Response) => {
    const id = parseId(req.params['id'] as string);
    if (id === undefined) return sendError(res, 'invalid_request', 'incident id must be a positive integer');
    const body = changeBody.safeParse(req.body ?? {});
    if (!body.success) return sendValidationError(res, 'invalid_payload', body.error);
    const outcome = await changeIncident(deps.db, id, kind, body.data.by ?? 'api', body.data.comment, deps.incidentEvents);
    if (!outcome.ok) {
      return outcome.reason === 'not_found'
        ? sendError(res, 'not_found', `no incident ${id}`)
        : sendError(res, 'conflict', `incident ${id} is ${outcome.status}; cannot ${kind}`);
    }
    if (kind === 'resolve') deps.resolvedCounter.inc({ by: 'manual' });
    res.json(await readIncidentDetail(deps.db, id, { maxBytes: deps.reads.maxBytes, ...sla() }));
  };
  const smallJson = jsonBody({ limit: '16kb' });
  router.post('/api/v1/incidents/:id/acknowledge', auth, smallJson, change('acknowledge'));
  router.post('/api/v1/incidents/:id/resolve', auth, smallJson, change('resolve'));
  return router;
}

/** A path's id: a positive integer that fits PostgreSQL's integer. */
export function parseId(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 2_147_483_647 ? n : undefined;
}
