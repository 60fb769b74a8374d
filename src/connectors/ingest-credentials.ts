import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ConnectorAuth } from './connector-settings';
import { expectDefined } from '../domain/invariant';

/** What a request's `Authorization` header says, before its body is read. */
export type Credentials =
  | { readonly kind: 'none' }
  | { readonly kind: 'valid'; readonly sender: string }
  | { readonly kind: 'wrong'; readonly message: string };

/** The sender name of QUELL_INGEST_TOKEN, valid for every connector. */
export const INGEST_TOKEN_SENDER = 'ingest-token';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
const BEARER = /^Bearer\s+(.+)$/i;
const BASIC = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i;

/**
 * Checks `Authorization: Bearer <token>`, or basic auth whose password is the token (SNS and
 * Grafana can send only that), against QUELL_INGEST_TOKEN and the connector's own tokens
 * (`token`, `tokens`), in constant time per token. A valid token names its sender.
 */
export function credentialsChecker(
  ingestToken: string, auth: ConnectorAuth,
): (headers: IncomingHttpHeaders) => Credentials {
  const known = [{ sender: INGEST_TOKEN_SENDER, token: ingestToken }, ...auth.tokens]
    .map((t) => ({ sender: t.sender, digest: digest(t.token) }));
  return (headers) => {
    const header = headers.authorization ?? '';
    if (header === '') return { kind: 'none' };
    let token: string | undefined;
    const bearer = BEARER.exec(header);
    if (bearer !== null) token = expectDefined(bearer[1], 'the bearer token').trim();
    const basic = BASIC.exec(header);
    if (basic !== null) {
      const decoded = Buffer.from(expectDefined(basic[1], 'the basic credentials'), 'base64').toString('utf8');
      token = decoded.slice(decoded.indexOf(':') + 1);
    }
    if (token === undefined) {
      return { kind: 'wrong', message: 'Authorization: expected Bearer <token> or Basic credentials' };
    }
    const sent = digest(token);
    let sender: string | undefined;
    for (const k of known) if (timingSafeEqual(sent, k.digest) && sender === undefined) sender = k.sender;
    return sender !== undefined ? { kind: 'valid', sender }
      : { kind: 'wrong', message: bearer !== null ? 'wrong bearer token' : 'wrong credentials' };
  };
}
