import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { sendError } from './errors';
import { API_TOKEN_PRINCIPAL, setPrincipal } from './principal';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
const BEARER = /^Bearer\s+(.+)$/i;

/** Whether a request sends `Authorization: Bearer <token>`; compares in constant time. */
export function bearerMatches(token: string): (req: Request) => boolean {
  const expected = digest(token);
  return (req) => {
    const m = BEARER.exec(req.headers.authorization ?? '');
    return m !== null && timingSafeEqual(digest((m[1] as string).trim()), expected);
  };
}

/** Requires `Authorization: Bearer <token>`; the request's principal is then the API token's. */
export function requireBearer(token: string, realm: string): RequestHandler {
  const matches = bearerMatches(token);
  return (req, res, next) => {
    if (matches(req)) { setPrincipal(res, API_TOKEN_PRINCIPAL); return next(); }
    res.setHeader('WWW-Authenticate', `Bearer realm="${realm}"`);
    const sent = BEARER.test(req.headers.authorization ?? '');
    sendError(res, 'unauthorized', sent ? 'wrong bearer token'
      : 'missing bearer token (Authorization: Bearer <token>)');
  };
}
