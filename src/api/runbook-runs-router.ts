import { Router, type RequestHandler, type Response } from 'express';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database, RunbookRunStatus } from '../store/database';
import type { RunAborts } from '../runbooks/run-aborts';
import {
  approveRun, cancelRun, readKillSwitch, rejectRun, runDetail, runsInOrder, setKillSwitch, type Decision,
} from '../runbooks/run-records';
import { requireRole } from '../http/auth';
import { boundedPage } from './bounded-page';
import { sendError, sendValidationError } from '../http/errors';
import { parseId } from './incidents-router';
import { jsonBody } from '../http/json-body';
import { principalOf } from '../http/principal';
import { runCursor } from './page-cursor';
import { decisionBody, enumList } from './runbook-list-query';
import type { RouteDoc } from '../http/route-doc';

export interface RunbookRunsRouterDeps {
  readonly db: Kysely<Database>;
  /** Bounds every read (the API's read gate). */
  readonly gate: RequestHandler;
  /** An answer's byte budget for its list. */
  readonly maxBytes: number;
  /** The runs executing in this process (a cancel aborts their step at once). */
  readonly aborts: RunAborts;
  /** QUELL_RUNBOOKS_ENABLED: when false, runbooks are off whatever the API's switch says. */
  readonly envEnabled: boolean;
}

const RUN_STATUSES: readonly RunbookRunStatus[] = [
  'queued', 'awaiting_approval', 'running', 'verifying', 'succeeded', 'failed', 'ineffective', 'cancelled', 'rejected',
];

const listQuery = z.object({
  incident: z.coerce.number().int().min(1).max(2_147_483_647).optional(),
  runbook: z.string().min(1).max(200).optional(),
  status: enumList('status', RUN_STATUSES),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: runCursor.param,
});

/** `by` is accepted (older clients send it) and ignored: the actor is the token's name. */
const cancelBody = z.object({ by: z.string().max(200).optional() }).default({});
const killSwitchBody = z.object({ enabled: z.boolean(), by: z.string().max(200).optional() });

/** Answers a refused decision (no such run, or not in a state that allows it). */
export function sendRefusal(res: Response, outcome: Extract<Decision, { ok: false }>): void {
  sendError(res, outcome.reason === 'not_found' ? 'not_found' : 'conflict', outcome.message);
}

/**
 * Runbook runs: list and read (viewer, bounded), cancel (operator: stopping automation is
 * working the incident), approve, reject (admin); and the runbooks' kill switch (admin).
 * Parameters, outputs and errors are shown as recorded: secrets masked.
 */
export function runbookRunsRouter(deps: RunbookRunsRouterDeps): Router {
  const router = Router();
  const read = requireRole('viewer');
  const operator = requireRole('operator');
  const admin = requireRole('admin');
  const smallJson = jsonBody({ limit: 16 * 1024 });

  router.get('/api/v1/runbook-runs', read, deps.gate, async (req, res) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) { sendValidationError(res, 'invalid_request', q.error); return; }
    const source = runsInOrder(deps.db,
      { incidentId: q.data.incident, runbook: q.data.runbook, statuses: q.data.status });
    const page = await boundedPage(source, { after: q.data.cursor, limit: q.data.limit, maxBytes: deps.maxBytes });
    res.json({ runs: page.items, next: runCursor.encode(page.next) });
  });

  router.get('/api/v1/runbook-runs/:id', read, deps.gate, async (req, res) => {
    const id = parseId(req.params['id'] as string);
    if (id === undefined) { sendError(res, 'invalid_request', 'run id must be a positive integer'); return; }
    const run = await runDetail(deps.db, id);
    if (run === undefined) { sendError(res, 'not_found', `no runbook run ${id}`); return; }
    res.json(run);
  });

  router.post('/api/v1/runbook-runs/:id/cancel', operator, smallJson, async (req, res) => {
    const id = parseId(req.params['id'] as string);
    if (id === undefined) { sendError(res, 'invalid_request', 'run id must be a positive integer'); return; }
    const body = cancelBody.safeParse(req.body ?? {});
    if (!body.success) { sendValidationError(res, 'invalid_payload', body.error); return; }
    const by = principalOf(res).name;
    const outcome = await cancelRun(deps.db, id, by);
    if (!outcome.ok) { sendRefusal(res, outcome); return; }
    // Running here: its step is aborted now; elsewhere, its executor sees cancel_requested.
    if (!outcome.ended) deps.aborts.abort(id, { kind: 'cancel', by });
    res.status(outcome.ended ? 200 : 202).json(await runDetail(deps.db, id));
  });

  const decide = (decision: typeof approveRun) => async (req: Parameters<RequestHandler>[0], res: Response) => {
    const id = parseId(req.params['id'] as string);
    if (id === undefined) { sendError(res, 'invalid_request', 'run id must be a positive integer'); return; }
    const body = decisionBody.safeParse(req.body ?? {});
    if (!body.success) { sendValidationError(res, 'invalid_payload', body.error); return; }
    const outcome = await decision(deps.db, id, principalOf(res).name, body.data.comment);
    if (!outcome.ok) { sendRefusal(res, outcome); return; }
    res.json(await runDetail(deps.db, id));
  };
  router.post('/api/v1/runbook-runs/:id/approve', admin, smallJson, decide(approveRun));
  router.post('/api/v1/runbook-runs/:id/reject', admin, smallJson, decide(rejectRun));

  const killSwitchJson = async () => {
    const state = await readKillSwitch(deps.db);
    return {
      enabled: deps.envEnabled && state.enabled, api_enabled: state.enabled, env_enabled: deps.envEnabled,
      updated_by: state.updatedBy, updated_at: state.updatedAt,
    };
  };
  router.get('/api/v1/runbooks/kill-switch', read, deps.gate, async (_req, res) => {
    res.json(await killSwitchJson());
  });
  router.put('/api/v1/runbooks/kill-switch', admin, smallJson, async (req, res) => {
    const body = killSwitchBody.safeParse(req.body ?? {});
    if (!body.success) { sendValidationError(res, 'invalid_payload', body.error); return; }
    await setKillSwitch(deps.db, body.data.enabled, principalOf(res).name);
    res.json(await killSwitchJson());
  });
  return router;
}

/** The routes above as the API description tells them (src/http/openapi-document.ts). */
export const RUNBOOK_RUN_ROUTES: readonly RouteDoc[] = [
  {
    method: 'get', path: '/api/v1/runbook-runs', tag: 'runbooks', access: 'viewer', query: listQuery,
    summary: 'list runs, newest first',
  },
  {
    method: 'get', path: '/api/v1/runbook-runs/:id', tag: 'runbooks', access: 'viewer',
    summary: 'a run with its steps and change',
  },
  {
    method: 'post', path: '/api/v1/runbook-runs/:id/cancel', tag: 'runbooks', access: 'operator', body: cancelBody,
    summary: 'cancel',
  },
  {
    method: 'post', path: '/api/v1/runbook-runs/:id/approve', tag: 'runbooks', access: 'admin', body: decisionBody,
    summary: 'approve',
  },
  {
    method: 'post', path: '/api/v1/runbook-runs/:id/reject', tag: 'runbooks', access: 'admin', body: decisionBody,
    summary: 'reject',
  },
  {
    method: 'get', path: '/api/v1/runbooks/kill-switch', tag: 'runbooks', access: 'viewer',
    summary: 'whether runbooks run',
  },
  {
    method: 'put', path: '/api/v1/runbooks/kill-switch', tag: 'runbooks', access: 'admin', body: killSwitchBody,
    summary: 'stop or start runbooks',
  },
];
