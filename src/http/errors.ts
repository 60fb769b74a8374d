import type { ErrorRequestHandler, Response } from 'express';
import type { z } from 'zod';
import { fieldPath } from '../domain/field-path';
import { itemAt } from '../domain/invariant';
import { sendJson } from './json-response';

/**
 * Every error code the HTTP API answers with. README.md documents each one (a test checks).
 * `retry` says whether sending the same request again later can succeed.
 */
export const API_ERRORS = {
  unauthorized: { status: 401, retry: false, summary: 'missing or wrong bearer token' },
  forbidden: {
    status: 403, retry: false, summary: 'the token\'s role may not do this; `role_needed` names the role that may',
  },
  invalid_json: { status: 400, retry: false, summary: 'the body is not JSON' },
  invalid_payload: { status: 400, retry: false, summary: 'the body is JSON but a field is wrong; `field` names it' },
  invalid_request: { status: 400, retry: false, summary: 'a path or query parameter is wrong' },
  not_found: { status: 404, retry: false, summary: 'no such incident, problem, silence, runbook run, change or route' },
  conflict: {
    status: 409, retry: false,
    summary: 'the incident, problem, runbook run or change is not in a state that allows the change',
  },
  payload_too_large: {
    status: 413, retry: false, summary: 'the body is over QUELL_MAX_BODY_BYTES (QUELL_CMDB_MAX_BYTES for the CMDB)',
  },
  queue_unavailable: {
    status: 503, retry: true, summary: 'the ingest queue (Redis) cannot take the alerts now; nothing was stored',
  },
  verification_unavailable: {
    status: 503, retry: true,
    summary: 'a signature cannot be verified now (the SNS signing certificate cannot be fetched); nothing was queued',
  },
  queue_full: {
    status: 503, retry: true,
    summary: 'the ingest queue holds more than QUELL_INGEST_MAX_QUEUE_DEPTH jobs waiting for the workers; '
      + 'nothing was stored; retry after `Retry-After` seconds',
  },
  database_unavailable: { status: 503, retry: true, summary: 'PostgreSQL cannot be reached now; try again later' },
  busy: { status: 503, retry: true, summary: 'the API is serving as many reads as QUELL_API_READ_CONCURRENCY allows' },
  internal: { status: 500, retry: true, summary: 'an unexpected error; the log has the details' },
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export function sendError(
  res: Response, code: ApiErrorCode, message: string, extra: Record<string, unknown> = {},
): void {
  const spec = API_ERRORS[code];
  if (spec.retry && spec.status === 503 && !res.hasHeader('Retry-After')) res.setHeader('Retry-After', '5');
  sendJson(res, spec.status, { error: { code, message, retryable: spec.retry, ...extra } });
}

/** Answers the JSON body parser's errors (any route) with their API codes; passes others on. */
export const bodyParserErrors: ErrorRequestHandler = (err, req, res, next) => {
  const type = (err as { type?: string }).type;
  if (type === 'entity.too.large') {
    sendError(res, 'payload_too_large', `body is over the limit of ${(err as { limit: number }).limit} bytes`);
    return;
  }
  if (type === 'entity.parse.failed') {
    sendError(res, 'invalid_json', `body is not valid JSON: ${(err as Error).message}`);
    return;
  }
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    sendError(res, 'invalid_payload', (err as Error).message);
    return;
  }
  // The parser passes zlib's error on as it is (no type): the sender's bytes, not our fault.
  const encoding = req.headers['content-encoding'];
  const status = (err as { status?: number }).status;
  if (type === undefined && status === 400 && encoding !== undefined && encoding !== 'identity') {
    const message = `body is not valid ${encoding} (Content-Encoding: ${encoding}): ${(err as Error).message}`;
    sendError(res, 'invalid_payload', message);
    return;
  }
  next(err);
};

/** Answers a failed zod validation: its first issue, with the field as `alerts[3].startsAt`. */
export function sendValidationError(
  res: Response, code: 'invalid_payload' | 'invalid_request', error: z.ZodError,
): void {
  const issue = itemAt(error.issues, 0, 'a failed validation\'s first issue');
  const field = fieldPath(issue.path);
  sendError(res, code, `${field || 'body'}: ${issue.message}`, { field });
}
