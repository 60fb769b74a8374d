import type { Request, RequestHandler, Response } from 'express';
import { sendError, sendValidationError } from '../http/errors';
import { jsonBody, rawBodyOf } from '../http/json-body';
import { exactRoutes, type ExactRoute, type ExactRoutesHandler } from '../http/exact-routes';
import { sendJson } from '../http/json-response';
import {
  QueueOutcomeUnknownError, QueueUnavailableError, type IngestJob, type IngestQueue,
} from '../queue/ingest-queue';
import type { Connector } from './connector';
import { intake } from './connector-intake';
import { defaultSetups, type ConnectorSetup } from './connector-settings';
import { verifyHmac } from './hmac-signature';
import { credentialsChecker } from './ingest-credentials';
import type { IngestBackpressure } from './ingest-backpressure';
import type { IngestMetrics } from './ingest-metrics';
import { RequestIdentity } from './request-identity';
import { VerificationUnavailableError } from './verification-error';
import { itemAt } from '../domain/invariant';

export interface IngestRouterDeps {
  /** The connectors served, with their settings (connector-settings.ts); a bare connector has none. */
  readonly connectors: readonly (Connector | ConnectorSetup)[];
  readonly queue: IngestQueue;
  /** QUELL_INGEST_TOKEN: valid for every connector. */
  readonly token: string;
  readonly maxBodyBytes: number;
  /** How far a source's clock may run ahead of Quell's (QUELL_MAX_CLOCK_SKEW_SECONDS). */
  readonly maxClockSkewSeconds: number;
  readonly metrics: IngestMetrics;
  /** Refuses requests while the queue is over its configured depth. @defaultValue none: never */
  readonly backpressure?: IngestBackpressure;
  readonly onError: (err: unknown) => void;
}

/**
 * `POST /ingest/<connector id>` for every connector. Order:
 * 1. credentials (bearer, or basic auth's password): QUELL_INGEST_TOKEN or the connector's own
 *    tokens; a wrong one is 401 before the body is read, and so is none, unless the connector
 *    can vouch for a request itself (an `authenticate` hook, or an HMAC secret set);
 * 2. size limit, JSON with text PostgreSQL can store (json-body.ts), the raw bytes kept;
 * 3. the HMAC signature when `hmac_secret` is set, then the connector's `authenticate`: a bad
 *    signature is 401 and nothing is queued;
 * 4. intake (connector-intake.ts: schema, normalize, storable times, fingerprint, acknowledgements);
 * 5. one queue job for the whole request; 202 (or the connector's `respond`) only once the job
 *    is durably queued, and only for alerts the database will take: a rejected request stores nothing.
 * While the queue is over its depth (ingest-backpressure.ts), a request gets 503 `queue_full` with
 * `Retry-After` after its credentials and before its body is read.
 */
export function ingestRouter(deps: IngestRouterDeps): ExactRoutesHandler {
  // keepRaw: each request's raw body, for signatures and for its identity if Redis leaves its outcome unknown.
  const json = jsonBody({ limit: deps.maxBodyBytes, keepRaw: true, anyValue: true });
  const identity = new RequestIdentity();
  const setups = deps.connectors.map((c) =>
    ('connector' in c ? c : itemAt(defaultSetups([c]), 0, 'the default setup')));
  const routes: ExactRoute[] = [];
  for (const setup of setups) {
    const { connector } = setup;
    const count: RequestHandler = (_req, res, next) => {
      const stop = deps.metrics.duration.startTimer({ connector: connector.id });
      res.on('finish', () => {
        stop();
        deps.metrics.requests.inc({ connector: connector.id, code: String(res.statusCode) });
      });
      next();
    };
    const handlers = [
      count, credentials(setup, deps.token), shed(deps.backpressure), json, handle(setup, deps, identity),
    ];
    for (const path of [`/ingest/${connector.id}`, ...(connector.paths ?? [])]) {
      routes.push({ method: 'POST', path, handlers });
    }
  }
  return exactRoutes(routes);
}

/** Step 1: the request's credentials, before its body is read. */
function credentials(setup: ConnectorSetup, token: string): RequestHandler {
  const check = credentialsChecker(token, setup.auth);
  const vouches = setup.connector.authenticate !== undefined || setup.auth.hmac !== undefined;
  return (req, res, next) => {
    const found = check(req.headers);
    if (found.kind === 'wrong') { unauthorized(res, found.message); return; }
    if (found.kind === 'none' && !vouches) {
      unauthorized(res, 'missing bearer token (Authorization: Bearer <token>)');
      return;
    }
    res.locals['ingestSender'] = found.kind === 'valid' ? found.sender : undefined;
    next();
  };
}

function unauthorized(res: Response, message: string, extra: Record<string, unknown> = {}): void {
  res.setHeader('WWW-Authenticate', 'Bearer realm="quell-ingest"');
  sendError(res, 'unauthorized', message, extra);
}

/** Step 3: HMAC and the connector's own check. Answers and returns false when the request is refused. */
async function verified(setup: ConnectorSetup, req: Request, res: Response, receivedAt: Date): Promise<boolean> {
  const rawBody = rawBodyOf(req) ?? Buffer.alloc(0);
  let authenticated = res.locals['ingestSender'] !== undefined;
  const { hmac } = setup.auth;
  if (hmac !== undefined) {
    const v = verifyHmac(hmac.secret, hmac.scheme, rawBody, req.headers, receivedAt);
    if (!v.ok) { unauthorized(res, v.message); return false; }
    authenticated = true;
  }
  const { connector } = setup;
  if (connector.authenticate !== undefined) {
    const verdict = await connector.authenticate(
      { rawBody, headers: req.headers, body: req.body, authenticated, now: receivedAt }, setup.settings);
    if (verdict?.ok === false) {
      unauthorized(res, verdict.message, verdict.field !== undefined ? { field: verdict.field } : {});
      return false;
    }
    if (verdict?.ok === true) authenticated = true;
  }
  if (!authenticated) unauthorized(res, 'missing bearer token (Authorization: Bearer <token>)');
  return authenticated;
}


function shed(backpressure: IngestBackpressure | undefined): RequestHandler {
  return (_req, res, next) => {
    if (backpressure === undefined || !backpressure.full) { next(); return; }
    res.setHeader('Retry-After', String(backpressure.retryAfterSeconds));
    // The body is not read: the connection may close once the answer is sent.
    sendError(res, 'queue_full', `the ingest queue has ${backpressure.depth} jobs waiting for the workers; `
      + `nothing was queued; retry after ${backpressure.retryAfterSeconds} s`);
  };
}
/** `Idempotency-Key`: printable ASCII, as in the IETF draft and Stripe's API. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function handle(setup: ConnectorSetup, deps: IngestRouterDeps, identity: RequestIdentity): RequestHandler {
  const { connector } = setup;
  return async (req, res, next) => {
    try {
      const idempotencyKey = req.get('idempotency-key');
      if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
        sendError(res, 'invalid_request', 'Idempotency-Key: expected 1 to 255 printable ASCII characters');
        return;
      }
      const receivedAt = new Date();
      if (!await verified(setup, req, res, receivedAt)) return;
      const body = rawBodyOf(req);
      const jobId = identity.jobIdFor(connector.id, body, idempotencyKey);
      const taken = intake(connector, req.body, receivedAt, deps.maxClockSkewSeconds,
        { id: jobId, settings: setup.settings });
      if (!taken.ok) {
        if ('schemaError' in taken) { sendValidationError(res, 'invalid_payload', taken.schemaError); return; }
        const { field, message } = taken.issue;
        sendError(res, 'invalid_payload', `${field}: ${message}`, { field });
        return;
      }
      const { alerts, acknowledgements } = taken;
      const job: IngestJob = {
        id: jobId, connector: connector.id, receivedAt: receivedAt.toISOString(), alerts,
        ...(acknowledgements.length > 0 ? { acknowledgements } : {}),
      };
      const queued = alerts.length > 0 || acknowledgements.length > 0;
      try {
        if (queued) await deps.queue.add(job);
      } catch (err) {
        if (err instanceof QueueOutcomeUnknownError) {
          deps.onError(err);
          identity.rememberUncertain(connector.id, body, job.id);
          sendError(res, 'queue_unavailable',
            'the ingest queue did not confirm in time: the alerts may be queued; '
              + 'resend the same request, it is applied once',
            { job_id: job.id, queued: 'unknown' });
          return;
        }
        if (err instanceof QueueUnavailableError) {
          deps.onError(err);
          sendError(res, 'queue_unavailable',
            'the ingest queue cannot take alerts now; nothing was queued; retry later');
          return;
        }
        throw err;
      }
      identity.settled(connector.id, body);
      count(deps.metrics, connector, taken);
      const accepted = {
        payload: taken.payload, alerts, acknowledgements: acknowledgements.length, jobId: queued ? job.id : null,
      };
      const answer = await connector.respond?.(accepted, setup.settings);
      if (answer !== undefined) { sendJson(res, answer.status, answer.body); return; }
      sendJson(res, 202, { status: 'queued', job_id: accepted.jobId, alerts: alerts.length });
    } catch (err) {
      if (err instanceof VerificationUnavailableError) {
        deps.onError(err);
        sendError(res, 'verification_unavailable', err.message);
        return;
      }
      next(err);
    }
  };
}

function count(
  metrics: IngestMetrics, connector: Connector, taken: Extract<ReturnType<typeof intake>, { ok: true }>,
): void {
  let firing = 0;
  for (const a of taken.alerts) if (a.status === 'firing') firing++;
  const id = connector.id;
  if (firing > 0) metrics.received.inc({ connector: id, status: 'firing' }, firing);
  if (taken.alerts.length > firing) {
    metrics.received.inc({ connector: id, status: 'resolved' }, taken.alerts.length - firing);
  }
  if (taken.acknowledgements.length > 0) metrics.acknowledgements.inc({ connector: id }, taken.acknowledgements.length);
  const truncated = connector.truncated?.(taken.payload) ?? 0;
  if (truncated > 0) metrics.truncated.inc({ connector: id }, truncated);
}
