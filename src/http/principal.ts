import type { Response } from 'express';

/** What a token may do: read; work incidents and problems; change configuration. Each includes the ones before. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who sent a request, as its token says: `name` is what the timeline records as the actor. */
export interface Principal {
  readonly name: string;
  readonly role: Role;
}

/** The name the single configured API token (QUELL_API_TOKEN) records changes under. */
export const API_TOKEN_PRINCIPAL: Principal = { name: 'api-token', role: 'admin' };

/** Set by the auth middleware once a token matched. */
export function setPrincipal(res: Response, principal: Principal): void {
  res.locals['principal'] = principal;
}

/**
 * The principal of an authenticated request: the actor of every change it makes (never a
 * self-declared `by` from the body). Throws when called on a route without auth: a wiring bug.
 */
export function principalOf(res: Response): Principal {
  const p = res.locals['principal'] as Principal | undefined;
  if (p === undefined) throw new Error('principalOf: no principal on this request (route without auth)');
  return p;
}
