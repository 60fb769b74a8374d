import type { Response } from 'express';

/**
 * Answers `status` with `body` as JSON (`application/json; charset=utf-8`, as express's
 * `res.json` does) written straight to the socket: no ETag, no freshness check, no content-type
 * negotiation. For answers that are never cached (ingest acknowledgements, errors), on paths
 * where express's `res.json` showed as a third of a one-alert request's cost.
 */
export function sendJson(res: Response, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
