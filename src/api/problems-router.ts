import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { PROBLEM_STATUSES, type ProblemAction } from '../domain/problem-lifecycle';
import type { Database } from '../store/database';
import { TIMELINE_ONLY, type IncidentEventsDeps } from '../store/incident-events-commit';
import {
  changeProblemStatus, createProblem, linkChangeToProblem, linkIncidentToProblem, unlinkIncidentFromProblem,
  updateProblem, type ProblemOutcome,
} from '../store/problem-changes';
import {
  changesOfProblem, findProblem, incidentsOfProblem, problemsInOrder, timelineOfProblem,
} from '../store/problem-queries';
import type { KeysetSource } from '../store/keyset';
import { requireRole } from '../http/auth';
import { boundedPage, jsonBytes } from './bounded-page';
import { sendError, sendValidationError } from '../http/errors';
import { parseId } from './incidents-router';
import { jsonBody } from '../http/json-body';
import { problemCursor, problemIncidentCursor, problemTimelineCursor, type CursorCodec } from './page-cursor';
import { principalOf } from '../http/principal';
import { enumList } from './runbook-list-query';
import type { RouteDoc } from '../http/route-doc';

export interface ProblemsRouterDeps {
  readonly db: Kysely<Database>;
  readonly gate: RequestHandler;
  /** The most a list answer takes, in bytes (QUELL_MAX_RESPONSE_BYTES less the envelope). */
  readonly maxBytes: number;
  /** Runbooks (a known error's runbook must exist) and the outbox relay. @defaultValue none: no runbook can be named */
  readonly incidentEvents?: IncidentEventsDeps;
}

const pageLimit = (def: number, min = 1) => z.coerce.number().int().min(min).max(1000).default(def);
const since = z.string().optional().transform((s, ctx) => {
  if (s === undefined || s === '') return undefined;
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) { ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 time' }); return z.NEVER; }
  return new Date(ms);
});
const listQuery = z.object({
  status: enumList('status', PROBLEM_STATUSES),
  signature: z.string().min(1).max(2000).optional(),
  since,
  limit: pageLimit(100),
  cursor: problemCursor.param,
});
const detailQuery = z.object({ incidents_limit: pageLimit(50, 0), timeline_limit: pageLimit(50, 0) });
const incidentsQuery = z.object({ limit: pageLimit(100), cursor: problemIncidentCursor.param });
const timelineQuery = z.object({ limit: pageLimit(100), cursor: problemTimelineCursor.param });

const text = (max: number) => z.string().trim().min(1).max(max);
const runbookName = z.string().regex(/^[a-zA-Z0-9_.-]+$/, 'expected a runbook name').max(100);
const id = z.number().int().min(1).max(2_147_483_647);
const createBody = z.strictObject({
  title: text(300),
  root_cause: text(20_000).optional(),
  incident_ids: z.array(id).max(1000).default([]),
});
const updateBody = z.strictObject({
  title: text(300).optional(),
  root_cause: text(20_000).nullable().optional(),
  workaround: text(20_000).nullable().optional(),
  workaround_runbook: runbookName.nullable().optional(),
});
const knownErrorBody = z.strictObject({ workaround: text(20_000), runbook: runbookName.optional() });
const commentBody = z.strictObject({ comment: z.string().max(4000).optional() }).default({});
const incidentLinkBody = z.strictObject({ incident_id: id });
const changeLinkBody = z.strictObject({ change_id: id });

/**
 * ITIL problems (v1). Reading needs a viewer token (or open reads); every change an operator's,
 * and is on the problem's timeline under the token's name (`principalOf`). A change the problem's
 * status does not allow is 409 `conflict`; a bad body 400 naming the field.
 */
export function problemsRouter(deps: ProblemsRouterDeps): Router {
  const router = Router();
  const auth = requireRole('operator');
  const read = requireRole('viewer');
  const events = deps.incidentEvents ?? TIMELINE_ONLY;
  const smallJson = jsonBody({ limit: 64 * 1024 });
  const { db, gate, maxBytes } = deps;

  /** Whether a runbook named in a body is one of the rules in force; else a 400 naming the field is sent. */
  const knownRunbook = (res: Response, field: string, name: string | null | undefined): boolean => {
    if (name === undefined || name === null || events.runbooks().byName(name) !== undefined) return true;
    sendError(res, 'invalid_payload', `${field}: no runbook ${JSON.stringify(name)} in the rules in force`, { field });
    return false;
  };

  router.get('/api/v1/problems', read, gate, async (req, res) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) { sendValidationError(res, 'invalid_request', q.error); return; }
    const source = problemsInOrder(db, { statuses: q.data.status, signature: q.data.signature, since: q.data.since });
    const page = await boundedPage(source, { after: q.data.cursor, limit: q.data.limit, maxBytes });
    res.json({ problems: page.items, next: problemCursor.encode(page.next) });
  });

  const detail = async (problemId: number, limits = { incidents: 50, timeline: 50 }) => {
    const problem = await findProblem(db, problemId);
    if (problem === undefined) return undefined;
    const changes = await changesOfProblem(db, problemId);
    const room = Math.max(0, maxBytes - jsonBytes(problem) - jsonBytes(changes)) / 2;
    const incidents = await boundedPage(incidentsOfProblem(db, problemId), { limit: limits.incidents, maxBytes: room });
    const timeline = await boundedPage(timelineOfProblem(db, problemId), { limit: limits.timeline, maxBytes: room });
    return {
      ...problem, changes,
      incidents: incidents.items, incidents_next: problemIncidentCursor.encode(incidents.next),
      timeline: timeline.items, timeline_next: problemTimelineCursor.encode(timeline.next),
    };
  };

  router.get('/api/v1/problems/:id', read, gate, async (req, res) => {
    const problemId = idOf(req, res);
    if (problemId === undefined) return;
    const q = detailQuery.safeParse(req.query);
    if (!q.success) { sendValidationError(res, 'invalid_request', q.error); return; }
    const found = await detail(problemId, { incidents: q.data.incidents_limit, timeline: q.data.timeline_limit });
    if (found === undefined) { sendError(res, 'not_found', `no problem ${problemId}`); return; }
    res.json(found);
  });

  const list = <K, Q extends { readonly limit: number; readonly cursor?: K | undefined }>(
    name: 'incidents' | 'timeline', query: z.ZodType<Q>, rows: (problemId: number) => KeysetSource<K, unknown>,
    cursor: CursorCodec<K>,
  ) => async (req: Request, res: Response) => {
    const problemId = idOf(req, res);
    if (problemId === undefined) return;
    const q = query.safeParse(req.query);
    if (!q.success) { sendValidationError(res, 'invalid_request', q.error); return; }
    if (await findProblem(db, problemId) === undefined) {
      sendError(res, 'not_found', `no problem ${problemId}`);
      return;
    }
    const page = await boundedPage(rows(problemId), { after: q.data.cursor, limit: q.data.limit, maxBytes });
    res.json({ [name]: page.items, next: cursor.encode(page.next) });
  };
  router.get('/api/v1/problems/:id/incidents', read, gate,
    list('incidents', incidentsQuery, (p) => incidentsOfProblem(db, p), problemIncidentCursor));
  router.get('/api/v1/problems/:id/timeline', read, gate,
    list('timeline', timelineQuery, (p) => timelineOfProblem(db, p), problemTimelineCursor));

  /** Answers a change's outcome: the problem as it now is, or the error. */
  const answer = async (res: Response, problemId: number, outcome: ProblemOutcome) => {
    if (!outcome.ok) {
      sendError(res, outcome.reason, outcome.reason === 'not_found' ? outcome.what : outcome.message);
      return;
    }
    res.json(await detail(problemId));
  };

  router.post('/api/v1/problems', auth, smallJson, async (req, res) => {
    const body = createBody.safeParse(req.body ?? {});
    if (!body.success) { sendValidationError(res, 'invalid_payload', body.error); return; }
    const made = await createProblem(db, {
      title: body.data.title, rootCause: body.data.root_cause, incidentIds: body.data.incident_ids,
    }, principalOf(res).name);
    if (!made.ok) {
      sendError(res, 'invalid_payload', `incident_ids: no incident ${made.missing}`, { field: 'incident_ids' });
      return;
    }
    res.status(201).json(await detail(made.id));
  });

  router.patch('/api/v1/problems/:id', auth, smallJson, async (req, res) => {
    const problemId = idOf(req, res);
    if (problemId === undefined) return;
    const body = updateBody.safeParse(req.body ?? {});
    if (!body.success) { sendValidationError(res, 'invalid_payload', body.error); return; }
    if (!knownRunbook(res, 'workaround_runbook', body.data.workaround_runbook)) return;
    await answer(res, problemId, await updateProblem(db, problemId, body.data, principalOf(res).name));
  });

  router.post('/api/v1/problems/:id/known-error', auth, smallJson, async (req, res) => {
    const problemId = idOf(req, res);
    if (problemId === undefined) return;
    const body = knownErrorBody.safeParse(req.body ?? {});
    if (!body.success) { sendValidationError(res, 'invalid_payload', body.error); return; }
    if (!knownRunbook(res, 'runbook', body.data.runbook)) return;
    await answer(res, problemId,
      await changeProblemStatus(db, problemId, 'mark_known_error', principalOf(res).name, body.data));
  });

  const lifecycle = (action: Exclude<ProblemAction, 'mark_known_error'>) => async (req: Request, res: Response) => {
    const problemId = idOf(req, res);
    if (problemId === undefined) return;
    const body = commentBody.safeParse(req.body ?? {});
    if (!body.success) { sendValidationError(res, 'invalid_payload', body.error); return; }
    await answer(res, problemId, await changeProblemStatus(db, problemId, action, principalOf(res).name, body.data));
  };
  router.post('/api/v1/problems/:id/resolve', auth, smallJson, lifecycle('resolve'));
  router.post('/api/v1/problems/:id/close', auth, smallJson, lifecycle('close'));
  router.post('/api/v1/problems/:id/reopen', auth, smallJson, lifecycle('reopen'));

  router.post('/api/v1/problems/:id/incidents', auth, smallJson, async (req, res) => {
    const problemId = idOf(req, res);
    if (problemId === undefined) return;
    const body = incidentLinkBody.safeParse(req.body ?? {});
    if (!body.success) { sendValidationError(res, 'invalid_payload', body.error); return; }
    await answer(res, problemId,
      await linkIncidentToProblem(db, problemId, body.data.incident_id, principalOf(res).name, events));
  });

  router.delete('/api/v1/problems/:id/incidents/:incidentId', auth, async (req, res) => {
    const problemId = idOf(req, res);
    if (problemId === undefined) return;
    const incidentId = parseId(req.params['incidentId'] as string);
    if (incidentId === undefined) {
      sendError(res, 'invalid_request', 'incident id must be a positive integer');
      return;
    }
    await answer(res, problemId, await unlinkIncidentFromProblem(db, problemId, incidentId, principalOf(res).name));
  });

  router.post('/api/v1/problems/:id/changes', auth, smallJson, async (req, res) => {
    const problemId = idOf(req, res);
    if (problemId === undefined) return;
    const body = changeLinkBody.safeParse(req.body ?? {});
    if (!body.success) { sendValidationError(res, 'invalid_payload', body.error); return; }
    await answer(res, problemId, await linkChangeToProblem(db, problemId, body.data.change_id, principalOf(res).name));
  });
  return router;
}

/** The path's problem id, or undefined once a 400 was sent. */
function idOf(req: Request, res: Response): number | undefined {
  const problemId = parseId(req.params['id'] as string);
  if (problemId === undefined) sendError(res, 'invalid_request', 'problem id must be a positive integer');
  return problemId;
}

/** The routes above as the API description tells them (src/http/openapi-document.ts). */
export const PROBLEM_ROUTES: readonly RouteDoc[] = [
  {
    method: 'get', path: '/api/v1/problems', tag: 'problems', access: 'viewer', query: listQuery,
    summary: 'list problems, newest first',
  },
  {
    method: 'get', path: '/api/v1/problems/:id', tag: 'problems', access: 'viewer', query: detailQuery,
    summary: 'a problem with its changes, first incidents and timeline entries',
  },
  {
    method: 'get', path: '/api/v1/problems/:id/incidents', tag: 'problems', access: 'viewer', query: incidentsQuery,
    summary: 'its incidents',
  },
  {
    method: 'get', path: '/api/v1/problems/:id/timeline', tag: 'problems', access: 'viewer', query: timelineQuery,
    summary: 'its timeline',
  },
  {
    method: 'post', path: '/api/v1/problems', tag: 'problems', access: 'operator', body: createBody,
    summary: 'open a problem by hand', success: { status: 201, description: 'the problem' },
  },
  {
    method: 'patch', path: '/api/v1/problems/:id', tag: 'problems', access: 'operator', body: updateBody,
    summary: 'edit',
  },
  {
    method: 'post', path: '/api/v1/problems/:id/known-error', tag: 'problems', access: 'operator', body: knownErrorBody,
    summary: 'mark a known error with its workaround (and runbook)',
  },
  {
    method: 'post', path: '/api/v1/problems/:id/resolve', tag: 'problems', access: 'operator', body: commentBody,
    summary: 'resolve',
  },
  {
    method: 'post', path: '/api/v1/problems/:id/close', tag: 'problems', access: 'operator', body: commentBody,
    summary: 'close',
  },
  {
    method: 'post', path: '/api/v1/problems/:id/reopen', tag: 'problems', access: 'operator', body: commentBody,
    summary: 'reopen',
  },
  {
    method: 'post', path: '/api/v1/problems/:id/incidents', tag: 'problems', access: 'operator', body: incidentLinkBody,
    summary: 'link an incident',
  },
  {
    method: 'delete', path: '/api/v1/problems/:id/incidents/:incidentId', tag: 'problems', access: 'operator',
    summary: 'unlink',
  },
  {
    method: 'post', path: '/api/v1/problems/:id/changes', tag: 'problems', access: 'operator', body: changeLinkBody,
    summary: 'link a change',
  },
];
