import { Router, type RequestHandler } from 'express';
import { requireBearer } from '../http/auth';
import { sendError, sendValidationError } from '../http/errors';
import { jsonBody, rawBodyOf } from '../http/json-body';
import { QueueOutcomeUnknownError, QueueUnavailableError, type IngestQueue } from '../queue/ingest-queue';
import type { Connector } from './connector';
import { intake } from './connector-intake';
import type { IngestBackpressure } from './ingest-backpressure';
import type { IngestMetrics } from './ingest-metrics';
import { RequestIdentity } from './request-identity';

export interface IngestRouterDeps {
  readonly connectors: readonly Connector[];
  readonly queue: IngestQueue;
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
 * `POST /ingest/<connector id>` for every connector. Order: auth (before the body is read),
 * size limit, JSON with text PostgreSQL can store (json-body.ts), then intake (connector-intake.ts:
 * the connector's schema, normalize, storable times, fingerprint), then one queue job
 * for the whole request. 202 only once the job is durably queued, and only for alerts the
 * database will take; a rejected request stores nothing. While the queue is over its depth
 * (ingest-backpressure.ts), a request gets 503 `queue_full` with `Retry-After` after auth and
 * before its body is read.
 */
export function ingestRouter(deps: IngestRouterDeps): Router {
  const router = Router();
  const auth = requireBearer(deps.token, 'quell-ingest', null);
  // keepRaw: each request's raw body, for its identity if Redis leaves its outcome unknown.
  const json = jsonBody({ limit: deps.maxBodyBytes, keepRaw: true });
  const identity = new RequestIdentity();
  for (const connector of deps.connectors) {
    const path = `/ingest/${connector.id}`;
    const count: RequestHandler = (_req, res, next) => {
      const stop = deps.metrics.duration.startTimer({ connector: connector.id });
      res.on('finish', () => { stop(); deps.metrics.requests.inc({ connector: connector.id, code: String(res.statusCode) }); });
      next();
    };
    router.post(path, count, auth, shed(deps.backpressure), json, handle(connector, deps, identity));
  }
  return router;
}

function shed(backpressure: IngestBackpressure | undefined): RequestHandler {
  return (_req, res, next) => {
    if (backpressure === undefined || !backpressure.full) return next();
    res.setHeader('Retry-After', String(backpressure.retryAfterSeconds));
    // The body is not read: the connection may close once the answer is sent.
    sendError(res, 'queue_full', `the ingest queue has ${backpressure.depth} requests waiting for the workers; nothing was queued; retry after ${backpressure.retryAfterSeconds} s`);
  };
}

/** `Idempotency-Key`: printable ASCII, as in the IETF draft and Stripe's API. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function handle(connector: Connector, deps: IngestRouterDeps, identity: RequestIdentity): RequestHandler {
  return async (req, res) => {
    const idempotencyKey = req.get('idempotency-key');
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      return sendError(res, 'invalid_request', 'Idempotency-Key: expected 1 to 255 printable ASCII characters');
    }
    const receivedAt = new Date();
    const taken = intake(connector, req.body, receivedAt, deps.maxClockSkewSeconds);
    if (!taken.ok) {
      if ('schemaError' in taken) return sendValidationError(res, 'invalid_payload', taken.schemaError);
      const { field, message } = taken.issue;
      return sendError(res, 'invalid_payload', `${field}: ${message}`, { field });
    }
    const { alerts } = taken;
    const body = rawBodyOf(req);
    const job = { id: identity.jobIdFor(connector.id, body, idempotencyKey), connector: connector.id, receivedAt: receivedAt.toISOString(), alerts };
    try {
      if (alerts.length > 0) await deps.queue.add(job);
    } catch (err) {
      if (err instanceof QueueOutcomeUnknownError) {
        deps.onError(err);
        identity.rememberUncertain(connector.id, body, job.id);
        return sendError(res, 'queue_unavailable',
          'the ingest queue did not confirm in time: the alerts may be queued; resend the same request, it is applied once',
          { job_id: job.id, queued: 'unknown' });
      }
      if (err instanceof QueueUnavailableError) {
        deps.onError(err);
        return sendError(res, 'queue_unavailable', 'the ingest queue cannot take alerts now; nothing was queued; retry later');
      }
      throw err;
    }
    identity.settled(connector.id, body);
    let firing = 0;
    for (const a of alerts) if (a.status === 'firing') firing++;
    if (firing > 0) deps.metrics.received.inc({ connector: connector.id, status: 'firing' }, firing);
    if (alerts.length > firing) deps.metrics.received.inc({ connector: connector.id, status: 'resolved' }, alerts.length - firing);
    const truncated = connector.truncated?.(taken.payload) ?? 0;
    if (truncated > 0) deps.metrics.truncated.inc({ connector: connector.id }, truncated);
    res.status(202).json({ status: 'queued', job_id: alerts.length > 0 ? job.id : null, alerts: alerts.length });
  };
}
