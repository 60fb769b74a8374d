import { Router, type RequestHandler } from 'express';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { matches, MatcherSyntaxError, parseMatcher, type Matcher } from '../domain/matchers';
import { SILENCE_STATES, type SilenceState } from '../domain/silence';
import type { Database, SilenceMatcherJson } from '../store/database';
import {
  createSilence, expireSilence, findSilence, matcherOfJson, silenceJson, silencesInOrder,
} from '../store/silence-store';
import { requireRole } from '../http/auth';
import { boundedPage } from './bounded-page';
import { sendError, sendValidationError } from '../http/errors';
import { jsonBody } from '../http/json-body';
import { principalOf } from '../http/principal';
import { silenceCursor } from './page-cursor';
import type { RouteDoc } from '../http/route-doc';

export interface SilencesRouterDeps {
  readonly db: Kysely<Database>;
  /** Bounds every read (the API's read gate). */
  readonly gate: RequestHandler;
  /** An answer's byte budget for its list. */
  readonly maxBytes: number;
  /** The API's clock. @defaultValue the system clock */
  readonly now?: () => Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A time the database can store, as ISO 8601 (years 1970 to 9999, as alert times). */
const time = z.string().refine((s) => {
  const ms = Date.parse(s);
  return /^\d{4}-\d{2}-\d{2}T/.test(s) && !Number.isNaN(ms) && ms >= 0 && ms < Date.UTC(10000, 0, 1);
}, { error: 'expected an ISO 8601 time between the years 1970 and 9999, e.g. 2026-11-20T10:00:00Z' });

/** Alertmanager's matcher object; `isEqual` defaults to true as in Alertmanager. */
const matcherObject = z.object({
  name: z.string().min(1).max(256),
  value: z.string().max(4096),
  isRegex: z.boolean(),
  isEqual: z.boolean().default(true),
});

/**
 * The body of `POST /api/v1/silences`: Alertmanager's v2 `postableSilence`. A matcher is its
 * object, or a matcher string as rule files write them (`'severity=~"warning|info"'`).
 */
const silenceBody = z.object({
  id: z.unknown().optional().refine((id) => id === undefined, {
    error: 'updating a silence is not supported: expire it (DELETE) and create another',
  }),
  matchers: z.array(z.union([z.string().max(4096), matcherObject])).min(1).max(64),
  startsAt: time.optional(),
  endsAt: time,
  /** Alertmanager's; accepted and ignored: `createdBy` is the token's name. */
  createdBy: z.string().max(200).optional(),
  comment: z.string().min(1).max(4000),
});

const listQuery = z.object({
  state: z.string().optional().transform((s, ctx) => {
    if (s === undefined || s === '') return undefined;
    const list = s.split(',').map((x) => x.trim());
    const bad = list.find((x) => !SILENCE_STATES.includes(x as SilenceState));
    if (bad !== undefined) {
      const message = `unknown state ${JSON.stringify(bad)}; expected ${SILENCE_STATES.join(', ')}`;
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    return list as SilenceState[];
  }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: silenceCursor.param,
});

/**
 * Silences, with Alertmanager's semantics and words: create (`POST`, admin), list, read
 * (viewer), expire (`DELETE`, admin). `createdBy` is the token's name. Stored in PostgreSQL;
 * workers see a change at their next batch.
 */
export function silencesRouter(deps: SilencesRouterDeps): Router {
  const router = Router();
  const read = requireRole('viewer');
  const admin = requireRole('admin');
  const now = deps.now ?? (() => new Date());

  router.post('/api/v1/silences', admin, jsonBody({ limit: 64 * 1024 }), async (req, res) => {
    const body = silenceBody.safeParse(req.body);
    if (!body.success) { sendValidationError(res, 'invalid_payload', body.error); return; }
    const invalid = (field: string, message: string) =>
      sendError(res, 'invalid_payload', `${field}: ${message}`, { field });
    const matchers: SilenceMatcherJson[] = [];
    const compiled: Matcher[] = [];
    for (const [i, given] of body.data.matchers.entries()) {
      try {
        const json = typeof given === 'string' ? jsonOf(parseMatcher(given)) : given;
        compiled.push(matcherOfJson(json));
        matchers.push(json);
      } catch (err) {
        if (!(err instanceof MatcherSyntaxError)) throw err;
        invalid(`matchers[${i}]`, err.message);
        return;
      }
    }
    // As Alertmanager: a silence that would match an alert with no labels would match everything.
    if (compiled.every((m) => matches(m, {}))) {
      invalid('matchers',
        'at least one matcher must not match the empty string (this silence would match every alert)');
      return;
    }
    const at = now();
    const endsAt = Date.parse(body.data.endsAt);
    if (endsAt <= at.getTime()) { invalid('endsAt', 'the end is in the past'); return; }
    // A start in the past is now (as Alertmanager): a silence never reaches back.
    const startsAt = Math.max(body.data.startsAt === undefined ? 0 : Date.parse(body.data.startsAt), at.getTime());
    if (endsAt < startsAt) { invalid('endsAt', 'the end is before the start'); return; }
    const row = await createSilence(deps.db, {
      matchers, startsAt: new Date(startsAt).toISOString(), endsAt: new Date(endsAt).toISOString(),
      createdBy: principalOf(res).name, comment: body.data.comment,
    });
    res.status(201).json({ silenceID: row.id, silence: silenceJson(row, at) });
  });

  router.get('/api/v1/silences', read, deps.gate, async (req, res) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) { sendValidationError(res, 'invalid_request', q.error); return; }
    const page = await boundedPage(silencesInOrder(deps.db, now(), q.data.state),
      { after: q.data.cursor, limit: q.data.limit, maxBytes: deps.maxBytes });
    res.json({ silences: page.items, next: silenceCursor.encode(page.next) });
  });

  router.get('/api/v1/silences/:id', read, deps.gate, async (req, res) => {
    const id = req.params['id'] as string;
    if (!UUID.test(id)) { sendError(res, 'invalid_request', 'a silence id is a UUID (lowercase)'); return; }
    const row = await findSilence(deps.db, id);
    if (row === undefined) { sendError(res, 'not_found', `no silence ${id}`); return; }
    res.json(silenceJson(row, now()));
  });

  router.delete('/api/v1/silences/:id', admin, async (req, res) => {
    const id = req.params['id'] as string;
    if (!UUID.test(id)) { sendError(res, 'invalid_request', 'a silence id is a UUID (lowercase)'); return; }
    const at = now();
    const row = await expireSilence(deps.db, id, at);
    if (row === undefined) { sendError(res, 'not_found', `no silence ${id}`); return; }
    res.json(silenceJson(row, at));
  });
  return router;
}

function jsonOf(m: Matcher): SilenceMatcherJson {
  const isRegex = m.op === '=~' || m.op === '!~';
  return { name: m.name, value: m.value, isRegex, isEqual: m.op === '=' || m.op === '=~' };
}

/** The routes above as the API description tells them (src/http/openapi-document.ts). */
export const SILENCE_ROUTES: readonly RouteDoc[] = [
  {
    method: 'post', path: '/api/v1/silences', tag: 'silences', access: 'admin', body: silenceBody,
    summary: 'create a silence (Alertmanager\'s v2 shape)', success: { status: 201, description: 'the silence' },
  },
  {
    method: 'get', path: '/api/v1/silences', tag: 'silences', access: 'viewer', query: listQuery,
    summary: 'list silences',
  },
  { method: 'get', path: '/api/v1/silences/:id', tag: 'silences', access: 'viewer', summary: 'a silence' },
  { method: 'delete', path: '/api/v1/silences/:id', tag: 'silences', access: 'admin', summary: 'expire it now' },
];
