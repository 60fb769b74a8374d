import express, { Router, type RequestHandler } from 'express';
import type { CanonicalAlert } from '../domain/alert';
import { fingerprint } from '../domain/fingerprint';
import { requireBearer } from '../api/auth';
import { sendError, sendValidationError } from '../api/errors';
import { QueueOutcomeUnknownError, QueueUnavailableError, type IngestQueue } from '../queue/ingest-queue';
import type { Connector } from './connector';
import { findUnstorableText, mayHoldUnstorableText } from './storable-text';
import type { IngestMetrics } from './ingest-metrics';
import { RequestIdentity } from './request-identity';

export interface IngestRouterDeps {
  readonly connectors: readonly Connector[];
  readonly queue: IngestQueue;
  readonly token: string;
  readonly maxBodyBytes: number;
  readonly metrics: IngestMetrics;
  readonly onError: (err: unknown) => void;
}

/**
 * `POST /ingest/<connector id>` for every connector. Order: auth (before the body is read),
 * size limit, JSON, text PostgreSQL can store, the connector's schema, normalize + fingerprint, then one queue job for
 * the whole request. 202 only once the job is durably queued; a rejected request stores nothing.
 */
export function ingestRouter(deps: IngestRouterDeps): Router {
  const router = Router();
  const auth = requireBearer(deps.token, 'quell-ingest');
  // Requests whose raw body has escapes that may hide unstorable text (see storable-text.ts).
  const escaped = new WeakSet<object>();
  // Each request's raw body, for its identity if Redis leaves its outcome unknown.
  const raw = new WeakMap<object, Buffer>();
  const json = express.json({
    limit: deps.maxBodyBytes, type: () => true, strict: true,
    verify: (req, _res, body) => { raw.set(req, body); if (mayHoldUnstorableText(body)) escaped.add(req); },
  });
  const identity = new RequestIdentity();
  for (const connector of deps.connectors) {
    const path = `/ingest/${connector.id}`;
    const count: RequestHandler = (_req, res, next) => {
      const stop = deps.metrics.duration.startTimer({ connector: connector.id });
      res.on('finish', () => { stop(); deps.metrics.requests.inc({ connector: connector.id, code: String(res.statusCode) }); });
      next();
    };
    router.post(path, count, auth, json, handle(connector, deps, escaped, raw, identity));
  }
  return router;
}

/** `Idempotency-Key`: printable ASCII, as in the IETF draft and Stripe's API. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function handle(
  connector: Connector, deps: IngestRouterDeps, escaped: WeakSet<object>, raw: WeakMap<object, Buffer>, identity: RequestIdentity,
): RequestHandler {
  return async (req, res) => {
    const idempotencyKey = req.get('idempotency-key');
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      return sendError(res, 'invalid_request', 'Idempotency-Key: expected 1 to 255 printable ASCII characters');
    }
    const unstorable = escaped.has(req) ? findUnstorableText(req.body) : undefined;
    if (unstorable !== undefined) {
      return sendError(res, 'invalid_payload', `${unstorable}: text with a NUL character or a lone surrogate cannot be stored`, { field: unstorable });
    }
    const parsed = connector.schema.safeParse(req.body);
    if (!parsed.success) return sendValidationError(res, 'invalid_payload', parsed.error);
    const receivedAt = new Date();
    const alerts: CanonicalAlert[] = connector.normalize(parsed.data, receivedAt).map((a) => ({
      ...a,
      source: connector.id,
      fingerprint: fingerprint(connector.id, a.labels, connector.fingerprintLabels),
    }));
    const body = raw.get(req);
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
    const truncated = connector.truncated?.(parsed.data) ?? 0;
    if (truncated > 0) deps.metrics.truncated.inc({ connector: connector.id }, truncated);
    res.status(202).json({ status: 'queued', job_id: alerts.length > 0 ? job.id : null, alerts: alerts.length });
  };
}
