import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * How a source signs its bodies with a shared secret: hex HMAC-SHA256 over
 * `<timestamp><separator><raw body>` (over the raw body alone when there is no timestamp
 * header), sent in `header`, the Unix time in `timestampHeader`. Grafana's webhook contact
 * point signs this way (separator `:`); any connector can opt in with the `hmac_secret` setting.
 */
export interface HmacScheme {
  /** The header with the hex signature; a `sha256=` prefix (GitHub's style) is accepted. */
  readonly header: string;
  /** The header with the Unix time (seconds) the body was signed at; `''`: none, and no replay window. */
  readonly timestampHeader: string;
  /** Between the timestamp and the body in the signed text. */
  readonly separator: string;
  /** How far the signed time may be from Quell's clock, either way (seconds). */
  readonly windowSeconds: number;
}

export const DEFAULT_HMAC_SCHEME: HmacScheme = {
  header: 'X-Quell-Signature', timestampHeader: 'X-Quell-Timestamp', separator: '.', windowSeconds: 300,
};

export type SignatureVerdict = { readonly ok: true } | { readonly ok: false; readonly message: string };

/**
 * Checks a request's signature in constant time. The message names the header that is
 * missing or wrong, never the secret or the expected signature.
 */
export function verifyHmac(
  secret: string, scheme: HmacScheme, rawBody: Buffer, headers: IncomingHttpHeaders, now: Date,
): SignatureVerdict {
  const sent = single(headers[scheme.header.toLowerCase()]);
  if (sent === undefined) return refused(`${scheme.header}: missing signature header`);
  let timestamp: string | undefined;
  if (scheme.timestampHeader !== '') {
    timestamp = single(headers[scheme.timestampHeader.toLowerCase()]);
    if (timestamp === undefined) return refused(`${scheme.timestampHeader}: missing timestamp header`);
    if (!/^[0-9]{1,13}$/.test(timestamp.trim())) return refused(`${scheme.timestampHeader}: expected Unix seconds`);
    const t = Number(timestamp.trim());
    const ms = t > 1e11 ? t : t * 1000; // milliseconds are taken too
    if (Math.abs(now.getTime() - ms) > scheme.windowSeconds * 1000) {
      return refused(
        `${scheme.timestampHeader}: signed more than ${scheme.windowSeconds} s from Quell's clock (replay window)`);
    }
  }
  const hex = sent.trim().replace(/^sha256=/i, '').toLowerCase();
  const expected = hmacOf(secret, scheme, rawBody, timestamp?.trim());
  if (!/^[0-9a-f]{64}$/.test(hex) || !timingSafeEqual(Buffer.from(hex, 'hex'), expected)) {
    return refused(`${scheme.header}: signature does not match the body`);
  }
  return { ok: true };
}

/** The headers a sender adds to sign `rawBody` at `now` (tests and examples). */
export function signHmac(
  secret: string, scheme: HmacScheme, rawBody: Buffer | string, now: Date,
): Record<string, string> {
  const body = Buffer.isBuffer(rawBody) ? rawBody : Buffer.from(rawBody);
  if (scheme.timestampHeader === '') {
    return { [scheme.header]: hmacOf(secret, scheme, body, undefined).toString('hex') };
  }
  const ts = String(Math.floor(now.getTime() / 1000));
  return { [scheme.header]: hmacOf(secret, scheme, body, ts).toString('hex'), [scheme.timestampHeader]: ts };
}

function hmacOf(secret: string, scheme: HmacScheme, body: Buffer, timestamp: string | undefined): Buffer {
  const mac = createHmac('sha256', secret);
  if (timestamp !== undefined) mac.update(`${timestamp}${scheme.separator}`);
  return mac.update(body).digest();
}

const single = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
const refused = (message: string): SignatureVerdict => ({ ok: false, message });
