import { Router, type RequestHandler, type Response } from 'express';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { ChangesTable, Database } from '../store/database';
import { approveRun, changesInOrder, findChange, rejectRun } from '../runbooks/run-records';
import { requireRole } from '../http/auth';
import { boundedPage } from './bounded-page';
import { sendError, sendValidationError } from '../http/errors';
import { parseId } from './incidents-router';
import { jsonBody } from '../http/json-body';
import { principalOf } from '../http/principal';
import { changeCursor } from './page-cursor';
import { decisionBody, enumList } from './runbook-list-query';
import { sendRefusal } from './runbook-runs-router';
import type { RouteDoc } from '../http/route-doc';

export interface ChangesRouterDeps {
  readonly db: Kysely<Database>;
  readonly gate: RequestHandler;
  readonly maxBytes: number;
}

const CHANGE_STATUSES: readonly ChangesTable['status'][] = [
  'awaiting_approval', 'approved', 'rejected', 'implemented', 'failed', 'cancelled',
];
const CHANGE_TYPES: readonly ChangesTable['type'][] = ['standard', 'normal'];

const listQuery = z.object({
  status: enumList('status', CHANGE_STATUSES),
  type: enumList('type', CHANGE_TYPES),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: changeCursor.param,
});

/**
 * ITIL change records of runbook runs: list and read (viewer, bounded); approve or reject a
 * normal change (admin, `{comment}`: the approver is the token's name): the decision is its run's (approving queues it
 * again, rejecting ends it `rejected`).
 */
export function changesRouter(deps: ChangesRouterDeps): Router {
  const router = Router();
  const read = requireRole('viewer');
  const admin = requireRole('admin');

  router.get('/api/v1/changes', read, deps.gate, async (req, res) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) { sendValidationError(res, 'invalid_request', q.error); return; }
    const page = await boundedPage(changesInOrder(deps.db, { statuses: q.data.status, types: q.data.type }),
      { after: q.data.cursor, limit: q.data.limit, maxBytes: deps.maxBytes });
    res.json({ changes: page.items, next: changeCursor.encode(page.next) });
  });

  router.get('/api/v1/changes/:id', read, deps.gate, async (req, res) => {
    const id = parseId(req.params['id'] as string);
    if (id === undefined) { sendError(res, 'invalid_request', 'change id must be a positive integer'); return; }
    const change = await findChange(deps.db, id);
    if (change === undefined) { sendError(res, 'not_found', `no change ${id}`); return; }
    res.json(change);
  });

  const decide = (decision: typeof approveRun) => async (req: Parameters<RequestHandler>[0], res: Response) => {
    const id = parseId(req.params['id'] as string);
    if (id === undefined) { sendError(res, 'invalid_request', 'change id must be a positive integer'); return; }
    const body = decisionBody.safeParse(req.body ?? {});
    if (!body.success) { sendValidationError(res, 'invalid_payload', body.error); return; }
    const change = await findChange(deps.db, id);
    if (change === undefined) { sendError(res, 'not_found', `no change ${id}`); return; }
    if (change.status !== 'awaiting_approval') {
      sendError(res, 'conflict', `change ${id} is ${change.status}, not awaiting approval`);
      return;
    }
    const outcome = await decision(deps.db, change.run_id, principalOf(res).name, body.data.comment);
    if (!outcome.ok) { sendRefusal(res, outcome); return; }
    res.json(await findChange(deps.db, id));
  };
  router.post('/api/v1/changes/:id/approve', admin, jsonBody({ limit: 16 * 1024 }), decide(approveRun));
  router.post('/api/v1/changes/:id/reject', admin, jsonBody({ limit: 16 * 1024 }), decide(rejectRun));
  return router;
}

/** The routes above as the API description tells them (src/http/openapi-document.ts). */
export const CHANGE_ROUTES: readonly RouteDoc[] = [
  {
    method: 'get', path: '/api/v1/changes', tag: 'changes', access: 'viewer', query: listQuery,
    summary: 'list ITIL changes, newest first',
  },
  { method: 'get', path: '/api/v1/changes/:id', tag: 'changes', access: 'viewer', summary: 'a change' },
  {
    method: 'post', path: '/api/v1/changes/:id/approve', tag: 'changes', access: 'admin', body: decisionBody,
    summary: 'approve (and so its run)',
  },
  {
    method: 'post', path: '/api/v1/changes/:id/reject', tag: 'changes', access: 'admin', body: decisionBody,
    summary: 'reject',
  },
];
