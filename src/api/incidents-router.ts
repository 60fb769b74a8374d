import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Kysely } from 'kysely';
import type { Counter } from 'prom-client';
import { z } from 'zod';
import { HOLD_STATES, INCIDENT_STATUSES, type IncidentStatus } from '../domain/incident-lifecycle';
import { DEFAULT_PRIORITY_POLICY, levelOfNumber, type PriorityPolicy } from '../domain/priority';
import type { ServiceLevelPolicy } from '../domain/service-level';
import type { Database } from '../store/database';
import type { KeysetSource } from '../store/keyset';
import { TIMELINE_ONLY, type IncidentEventsDeps } from '../store/incident-events-commit';
import { changeIncident, type ManualChange } from '../store/incident-store';
import { assignIncident, commentIncident, setImpactUrgency } from '../store/incident-work';
import { alertsOfIncident, findIncident, incidentsInOrder, timelineOfIncident } from '../store/incident-queries';
import { requireRole } from '../http/auth';
import { boundedPage, ENVELOPE_BYTES } from './bounded-page';
import { sendError, sendValidationError } from '../http/errors';
import { jsonBody } from '../http/json-body';
import { readIncidentDetail } from './incident-detail';
import { alertCursor, incidentCursor, timelineCursor, type CursorCodec } from './page-cursor';
import { principalOf } from '../http/principal';
import { readGate } from './read-gate';
import { expectDefined } from '../domain/invariant';
import type { RouteDoc } from '../http/route-doc';

export interface IncidentsRouterDeps {
  readonly db: Kysely<Database>;
  readonly resolvedCounter: Counter<'by'>;
  readonly reads: ReadLimits;
  /** The read gate, when the app shares one among its routers. @defaultValue one of its own, from `reads` */
  readonly gate?: RequestHandler;
  /** Runbooks that incident changes trigger, and the outbox relay. @defaultValue none: the timeline only */
  readonly incidentEvents?: IncidentEventsDeps;
  /** The rules' PriorityMatrix in force (impact x urgency). @defaultValue the ITIL default */
  readonly priorityPolicy?: () => PriorityPolicy;
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
    if (bad !== undefined) {
      ctx.addIssue({
        code: 'custom', message: `unknown status ${JSON.stringify(bad)}; expected ${STATUSES.join(', ')}`,
      });
      return z.NEVER;
    }
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

/** `by` is accepted (older clients send it) and ignored: the actor is the token's name. */
const said = {
  by: z.string().max(200).optional(),
  comment: z.string().max(4000).optional(),
};
const changeBody = z.object(said).default({});
const holdBody = z.object({
  ...said,
  state: z.enum(HOLD_STATES),
  reason: z.string().trim().min(1, 'say why it is held').max(1000),
});
const name = z.string().trim().min(1).max(200).nullable().optional();
const assignBody = z.object({ by: said.by, assignee: name, assignment_group: name })
  .refine((b) => b.assignee !== undefined || b.assignment_group !== undefined,
    { error: 'give assignee or assignment_group (null clears one)', path: ['assignee'] });
const commentBody = z.object({ by: said.by, comment: z.string().trim().min(1).max(4000) });
const level = z.union([z.enum(['high', 'medium', 'low']),
  z.number().int().min(1).max(3).transform((n) => expectDefined(levelOfNumber(n), 'the level of 1 to 3'))],
  { error: () => 'expected high, medium or low (or 1 to 3)' });
const impactUrgencyBody = z.object({ by: said.by, impact: level.optional(), urgency: level.optional() })
  .refine((b) => b.impact !== undefined || b.urgency !== undefined,
    { error: 'give impact and/or urgency', path: ['impact'] });

/**
 * The incidents API (v1). Reads need a viewer token (or QUELL_OPEN_READS); working an
 * incident (acknowledge, resolve, hold, resume, assign, comment, impact/urgency) needs an
 * operator token, and the timeline names the token, not anything the body says.
 */
export function incidentsRouter(deps: IncidentsRouterDeps): Router {
  const router = Router();
  const read = requireRole('viewer');
  const work = requireRole('operator');
  const events = deps.incidentEvents ?? TIMELINE_ONLY;
  const policy = deps.priorityPolicy ?? (() => DEFAULT_PRIORITY_POLICY);

  // Every read is bounded in rows, bytes and concurrency.
  const gate = deps.gate ?? readGate({ concurrency: deps.reads.concurrency, maxWaiting: 4 * deps.reads.concurrency });
  const maxBytes = Math.max(0, deps.reads.maxBytes - ENVELOPE_BYTES);
  const sla = () => (deps.serviceLevels ? { serviceLevels: deps.serviceLevels(), now: new Date() } : {});

  router.get('/api/v1/incidents', read, gate, async (req, res) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) { sendValidationError(res, 'invalid_request', q.error); return; }
    const page = await boundedPage(incidentsInOrder(deps.db, q.data.status),
      { after: q.data.cursor, limit: q.data.limit, maxBytes });
    res.json({ incidents: page.items, next: incidentCursor.encode(page.next) });
  });

  router.get('/api/v1/incidents/:id', read, gate, async (req, res) => {
    const id = parseId(req.params['id'] as string);
    if (id === undefined) { sendError(res, 'invalid_request', 'incident id must be a positive integer'); return; }
    const q = detailQuery.safeParse(req.query);
    if (!q.success) { sendValidationError(res, 'invalid_request', q.error); return; }
    const incident = await readIncidentDetail(deps.db, id,
      { alerts: q.data.alerts_limit, timeline: q.data.timeline_limit, maxBytes: deps.reads.maxBytes, ...sla() });
    if (incident === undefined) { sendError(res, 'not_found', `no incident ${id}`); return; }
    res.json(incident);
  });

  /** One of an incident's own lists, paged: `/api/v1/incidents/{id}/<name>?limit=&cursor=`. */
  const incidentList = <K, T, Q extends { readonly limit: number; readonly cursor?: K | undefined }>(
    name: 'alerts' | 'timeline', query: z.ZodType<Q>, rows: (id: number, q: Q) => KeysetSource<K, T>,
    cursor: CursorCodec<K>,
  ) => async (req: Request, res: Response) => {
    const id = parseId(req.params['id'] as string);
    if (id === undefined) { sendError(res, 'invalid_request', 'incident id must be a positive integer'); return; }
    const q = query.safeParse(req.query);
    if (!q.success) { sendValidationError(res, 'invalid_request', q.error); return; }
    if (await findIncident(deps.db, id) === undefined) { sendError(res, 'not_found', `no incident ${id}`); return; }
    const page = await boundedPage(rows(id, q.data), { after: q.data.cursor, limit: q.data.limit, maxBytes });
    res.json({ [name]: page.items, next: cursor.encode(page.next) });
  };
  router.get('/api/v1/incidents/:id/alerts', read, gate,
    incidentList('alerts', alertsQuery, (id, q) => alertsOfIncident(deps.db, id, q.status), alertCursor));
  router.get('/api/v1/incidents/:id/timeline', read, gate,
    incidentList('timeline', timelineQuery, (id) => timelineOfIncident(deps.db, id), timelineCursor));

  /**
   * A change's route: the id and body checked (400 naming the field, nothing changed), the
   * change made as the token's principal, then 404, 409 naming the status, or the incident.
   */
  const route = <B>(what: string, body: z.ZodType<B>,
    apply: (id: number, body: B, actor: string) =>
      Promise<{ ok: true } | { ok: false; reason: string; status?: string; field?: string }>,
  ) => async (req: Request, res: Response) => {
    const id = parseId(req.params['id'] as string);
    if (id === undefined) { sendError(res, 'invalid_request', 'incident id must be a positive integer'); return; }
    const parsed = body.safeParse(req.body ?? {});
    if (!parsed.success) { sendValidationError(res, 'invalid_payload', parsed.error); return; }
    const outcome = await apply(id, parsed.data, principalOf(res).name);
    if (!outcome.ok) {
      if (outcome.reason === 'not_found') { sendError(res, 'not_found', `no incident ${id}`); return; }
      if (outcome.reason === 'missing') {
        const field = outcome.field ?? 'body';
        sendError(res, 'invalid_payload', `${field}: required: incident ${id} has no ${field} set yet`, { field });
        return;
      }
      sendError(res, 'conflict', `incident ${id} is ${outcome.status}; cannot ${what}`, { status: outcome.status });
      return;
    }
    res.json(await readIncidentDetail(deps.db, id, { maxBytes: deps.reads.maxBytes, ...sla() }));
  };
  const lifecycle = <B extends { readonly comment?: string | undefined }>(changeOf: (b: B) => ManualChange) =>
    async (id: number, b: B, actor: string) => {
      const change = changeOf(b);
      const outcome = await changeIncident(deps.db, id, change, actor, b.comment, events);
      if (outcome.ok && change === 'resolve') deps.resolvedCounter.inc({ by: 'manual' });
      return outcome;
    };
  const smallJson = jsonBody({ limit: 16 * 1024 });
  router.post('/api/v1/incidents/:id/acknowledge', work, smallJson,
    route('acknowledge', changeBody, lifecycle(() => 'acknowledge')));
  router.post('/api/v1/incidents/:id/resolve', work, smallJson,
    route('resolve', changeBody, lifecycle(() => 'resolve')));
  router.post('/api/v1/incidents/:id/hold', work, smallJson,
    route('hold', holdBody, lifecycle((b) => ({ action: 'hold', state: b.state, reason: b.reason }))));
  router.post('/api/v1/incidents/:id/resume', work, smallJson, route('resume', changeBody, lifecycle(() => 'resume')));
  router.post('/api/v1/incidents/:id/assign', work, smallJson, route('assign', assignBody, (id, b, actor) =>
    assignIncident(deps.db, id, {
      ...(b.assignee !== undefined ? { assignee: b.assignee } : {}),
      ...(b.assignment_group !== undefined ? { assignmentGroup: b.assignment_group } : {}),
    }, actor, events)));
  router.post('/api/v1/incidents/:id/comment', work, smallJson, route('comment', commentBody, (id, b, actor) =>
    commentIncident(deps.db, id, b.comment, actor, events)));
  router.post('/api/v1/incidents/:id/impact-urgency', work, smallJson,
    route('set impact and urgency', impactUrgencyBody, (id, b, actor) => setImpactUrgency(deps.db, id, {
      ...(b.impact !== undefined ? { impact: b.impact } : {}),
      ...(b.urgency !== undefined ? { urgency: b.urgency } : {}),
    }, policy(), actor, events)));
  return router;
}

/** A path's id: a positive integer that fits PostgreSQL's integer. */
export function parseId(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 2_147_483_647 ? n : undefined;
}

/** The routes above as the API description tells them (src/http/openapi-document.ts). */
export const INCIDENT_ROUTES: readonly RouteDoc[] = [
  {
    method: 'get', path: '/api/v1/incidents', tag: 'incidents', access: 'viewer', query: listQuery,
    summary: 'list incidents, newest first',
  },
  {
    method: 'get', path: '/api/v1/incidents/:id', tag: 'incidents', access: 'viewer', query: detailQuery,
    summary: 'an incident with its first alerts and timeline entries, root cause and service-level clocks',
  },
  {
    method: 'get', path: '/api/v1/incidents/:id/alerts', tag: 'incidents', access: 'viewer', query: alertsQuery,
    summary: 'its alerts',
  },
  {
    method: 'get', path: '/api/v1/incidents/:id/timeline', tag: 'incidents', access: 'viewer', query: timelineQuery,
    summary: 'its timeline',
  },
  {
    method: 'post', path: '/api/v1/incidents/:id/acknowledge', tag: 'incidents', access: 'operator', body: changeBody,
    summary: 'acknowledge',
  },
  {
    method: 'post', path: '/api/v1/incidents/:id/resolve', tag: 'incidents', access: 'operator', body: changeBody,
    summary: 'resolve',
  },
  {
    method: 'post', path: '/api/v1/incidents/:id/hold', tag: 'incidents', access: 'operator', body: holdBody,
    summary: 'put on hold or awaiting change (its service-level clocks pause)',
  },
  {
    method: 'post', path: '/api/v1/incidents/:id/resume', tag: 'incidents', access: 'operator', body: changeBody,
    summary: 'off hold',
  },
  {
    method: 'post', path: '/api/v1/incidents/:id/assign', tag: 'incidents', access: 'operator', body: assignBody,
    summary: 'assign',
  },
  {
    method: 'post', path: '/api/v1/incidents/:id/comment', tag: 'incidents', access: 'operator', body: commentBody,
    summary: 'comment',
  },
  {
    method: 'post', path: '/api/v1/incidents/:id/impact-urgency', tag: 'incidents', access: 'operator',
    body: impactUrgencyBody,
    summary: 'set impact and urgency: the priority is recomputed through the PriorityMatrix',
  },
];
