import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { TokenRegistry } from './api-tokens';
import { sendError } from './errors';
import { API_TOKEN_PRINCIPAL, ROLES, setPrincipal, type Principal, type Role } from './principal';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
const BEARER = /^Bearer\s+(.+)$/i;
const REALM = 'quell-api';

/** The token a request sends as `Authorization: Bearer <token>`, or undefined. */
export const bearerOf = (req: Request): string | undefined => BEARER.exec(req.headers.authorization ?? '')?.[1]?.trim();

/** Whether a request sends `Authorization: Bearer <token>`; compares in constant time. */
export function bearerMatches(token: string): (req: Request) => boolean {
  const expected = digest(token);
  return (req) => {
    const sent = bearerOf(req);
    return sent !== undefined && timingSafeEqual(digest(sent), expected);
  };
}

/**
 * Requires `Authorization: Bearer <token>`, one token (the ingest token; the API's routes use
 * {@link requireRole}). The request's principal is then `principal`: by default the API token's,
 * none (`null`) for a token that is not an API token.
 */
export function requireBearer(
  token: string, realm: string, principal: Principal | null = API_TOKEN_PRINCIPAL,
): RequestHandler {
  const matches = bearerMatches(token);
  return (req, res, next) => {
    if (matches(req)) {
      if (principal !== null) setPrincipal(res, principal);
      next();
      return;
    }
    res.setHeader('WWW-Authenticate', `Bearer realm="${realm}"`);
    const sent = BEARER.test(req.headers.authorization ?? '');
    sendError(res, 'unauthorized', sent ? 'wrong bearer token'
      : 'missing bearer token (Authorization: Bearer <token>)');
  };
}

/** What {@link identify} found of a request's token. */
type Identity =
  | { readonly principal: Principal }
  | { readonly failure: 'missing' | 'wrong'; readonly openReads: boolean };
const IDENTITY = 'identity';

export interface IdentifyOptions {
  /** Reads (`requireRole('viewer')`) without a token (QUELL_OPEN_READS). @defaultValue false */
  readonly openReads?: boolean;
}

/**
 * Finds who sent each request from its bearer token, for the {@link requireRole} checks of
 * the routes after it (mounted once, app-wide). Answers nothing itself.
 */
export function identify(tokens: TokenRegistry, opts: IdentifyOptions = {}): RequestHandler {
  const openReads = opts.openReads ?? false;
  return (req, res, next) => {
    const sent = bearerOf(req);
    const principal = sent === undefined ? undefined : tokens.identify(sent);
    if (principal !== undefined) setPrincipal(res, principal);
    res.locals[IDENTITY] = principal !== undefined ? { principal }
      : { failure: sent === undefined ? 'missing' : 'wrong', openReads };
    next();
  };
}

/** Whether `role` may do what `needed` may (each role includes the ones before it in ROLES). */
export const hasRole = (role: Role, needed: Role): boolean => ROLES.indexOf(role) >= ROLES.indexOf(needed);

/** The principal {@link identify} found, if any. */
export function identityOf(res: Response): Principal | undefined {
  const id = res.locals[IDENTITY] as Identity | undefined;
  return id !== undefined && 'principal' in id ? id.principal : undefined;
}

/**
 * Lets a request on only with a token of at least `role` (viewer < operator < admin): else 401
 * (no token, or one Quell does not know) or 403 naming the role needed; nothing is changed.
 * `requireRole('viewer')` guards reads: with open reads it lets requests without a token on
 * (a wrong token is still refused). Needs {@link identify} before it.
 */
export function requireRole(role: Role): RequestHandler {
  return (_req, res, next) => {
    const id = res.locals[IDENTITY] as Identity | undefined;
    if (id === undefined) throw new Error('requireRole: identify() is not mounted before this route');
    if ('principal' in id) {
      if (hasRole(id.principal.role, role)) { next(); return; }
      sendError(res, 'forbidden',
        `this needs a token with role ${role} (or above); ${id.principal.name} is ${id.principal.role}`,
        { role_needed: role });
      return;
    }
    if (role === 'viewer' && id.openReads && id.failure === 'missing') { next(); return; }
    res.setHeader('WWW-Authenticate', `Bearer realm="${REALM}"`);
    sendError(res, 'unauthorized', id.failure === 'wrong' ? 'wrong bearer token'
      : `missing bearer token (Authorization: Bearer <token>); this needs role ${role} or above`);
  };
}
