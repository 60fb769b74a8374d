import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { sendError } from './errors';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Requires `Authorization: Bearer <token>`; compares in constant time. */
export function requireBearer(token: string, realm: string): RequestHandler {
  const expected = digest(token);
  return (req, res, next) => {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    if (m && timingSafeEqual(digest((m[1] as string).trim()), expected)) return next();
    res.setHeader('WWW-Authenticate', `Bearer realm="${realm}"`);
    sendError(res, 'unauthorized', m ? 'wrong bearer token' : 'missing bearer token (Authorization: Bearer <token>)');
  };
}
