import { Router, type Request, type Response } from 'express';
import type { Kysely } from 'kysely';
import type { Counter } from 'prom-client';
import { z } from 'zod';
import type { Database, IncidentStatus } from '../store/database';
import { changeIncident, type ManualChange } from '../store/incident-store';
import { getIncident, listIncidents } from '../store/incident-queries';
import { requireBearer } from './auth';
import { sendError, sendValidationError } from './errors';
import { jsonBody } from './json-body';

export interface IncidentsRouterDeps {
  readonly db: Kysely<Database>;
  readonly apiToken: string;
  readonly resolvedCounter: Counter<'by'>;
}

const STATUSES: readonly IncidentStatus[] = ['open', 'acknowledged', 'resolved'];

const listQuery = z.object({
  status: z.string().optional().transform((s, ctx) => {
    if (s === undefined || s === '') return undefined;
    const list = s.split(',').map((x) => x.trim());
    const bad = list.find((x) => !STATUSES.includes(x as IncidentStatus));
    if (bad !== undefined) { ctx.addIssue({ code: 'custom', message: `unknown status ${JSON.stringify(bad)}; expected ${STATUSES.join(', ')}` }); return z.NEVER; }
    return list as IncidentStatus[];
  }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const changeBody = z.object({
  by: z.string().min(1).max(200).optional(),
  comment: z.string().max(4000).optional(),
}).default({});

/** The incidents API (v1): reading is open, changing needs the API token. */
export function incidentsRouter(deps: IncidentsRouterDeps): Router {
  const router = Router();
  const auth = requireBearer(deps.apiToken, 'quell-api');

  router.get('/api/v1/incidents', async (req, res) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) return sendValidationError(res, 'invalid_request', q.error);
    const incidents = await listIncidents(deps.db, { limit: q.data.limit, ...(q.data.status ? { statuses: q.data.status } : {}) });
    res.json({ incidents });
  });

  router.get('/api/v1/incidents/:id', async (req, res) => {
    const id = parseId(req.params.id);
    if (id === undefined) return sendError(res, 'invalid_request', 'incident id must be a positive integer');
    const incident = await getIncident(deps.db, id);
    if (incident === undefined) return sendError(res, 'not_found', `no incident ${id}`);
    res.json(incident);
  });

  const change = (kind: ManualChange) => async (req: Request, res: Response) => {
    const id = parseId(req.params['id'] as string);
    if (id === undefined) return sendError(res, 'invalid_request', 'incident id must be a positive integer');
    const body = changeBody.safeParse(req.body ?? {});
    if (!body.success) return sendValidationError(res, 'invalid_payload', body.error);
    const outcome = await changeIncident(deps.db, id, kind, body.data.by ?? 'api', body.data.comment);
    if (!outcome.ok) {
      return outcome.reason === 'not_found'
        ? sendError(res, 'not_found', `no incident ${id}`)
        : sendError(res, 'conflict', `incident ${id} is ${outcome.status}; cannot ${kind}`);
    }
    if (kind === 'resolve') deps.resolvedCounter.inc({ by: 'manual' });
    res.json(await getIncident(deps.db, id));
  };
  const smallJson = jsonBody({ limit: '16kb' });
  router.post('/api/v1/incidents/:id/acknowledge', auth, smallJson, change('acknowledge'));
  router.post('/api/v1/incidents/:id/resolve', auth, smallJson, change('resolve'));
  return router;
}

function parseId(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 2_147_483_647 ? n : undefined;
}
