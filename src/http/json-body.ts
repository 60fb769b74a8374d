import { isUtf8 } from 'node:buffer';
import type { RequestHandler } from 'express';
import { findUnstorableText, mayHoldUnstorableText } from '../connectors/storable-text';
import { BodyReadError, hasBody, readBody } from './body-reader';
import { sendError } from './errors';

export interface JsonBodyOptions {
  /** Largest body in bytes (after decompression); larger gets 413. */
  readonly limit: number;
  /** Keep each request's raw bytes for {@link rawBodyOf} (until the request is collected). @defaultValue false */
  readonly keepRaw?: boolean;
  /**
   * Take any JSON value, not only an object or array: a body `null` or `"text"` is JSON, and
   * then refused by the route's schema naming what is wrong, not as "not valid JSON".
   * @defaultValue false
   */
  readonly anyValue?: boolean;
}

const rawBodies = new WeakMap<object, Buffer>();

/** The raw body of a request read by a `jsonBody({ keepRaw: true })`. */
export function rawBodyOf(req: object): Buffer | undefined {
  return rawBodies.get(req);
}

/**
 * The one way the API reads a JSON body, so that every body it takes holds only text
 * PostgreSQL can store and that was sent as meant:
 * - UTF-8 only (RFC 8259): another charset, or bytes that are not UTF-8, is refused
 *   (400 `invalid_payload`) rather than read with U+FFFD in place of what was sent;
 * - no NUL and no lone surrogate in any string or name (JSON can escape both; PostgreSQL
 *   stores neither): refused naming the field;
 * - gzip, deflate and br bodies are decompressed; one that does not decompress is refused
 *   naming its Content-Encoding (errors.ts `bodyParserErrors`, like the parser's other errors).
 */
export function jsonBody(options: JsonBodyOptions): RequestHandler {
  const strict = options.anyValue !== true;
  return (req, res, next) => {
    // No body at all (no length, not chunked): the route's schema says what is missing.
    if (!hasBody(req)) { next(); return; }
    const charset = charsetOf(req.headers['content-type']);
    if (charset !== 'utf-8' && charset !== 'utf8') {
      next(new BodyReadError(`charset "${charset}": JSON bodies must be UTF-8`, 415, 'charset.unsupported'));
      return;
    }
    readBody(req, options.limit).then((raw) => {
      if (options.keepRaw === true) rawBodies.set(req, raw);
      if (!isUtf8(raw)) {
        sendError(res, 'invalid_payload', 'body is not valid UTF-8, as JSON bodies must be');
        return;
      }
      const parsed = parseJson(raw.toString('utf8'), strict);
      if (!parsed.ok) { next(parsed.error); return; }
      req.body = parsed.value;
      const field = mayHoldUnstorableText(raw) ? findUnstorableText(parsed.value) : undefined;
      if (field !== undefined) {
        const message = `${field}: text with a NUL character or a lone surrogate cannot be stored`;
        sendError(res, 'invalid_payload', message, { field });
        return;
      }
      next();
    }, next);
  };
}

/** The `charset` of a Content-Type, lower-cased; UTF-8 when there is none (RFC 8259). */
function charsetOf(contentType: string | undefined): string {
  const m = contentType === undefined ? null : /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType);
  return m?.[1]?.toLowerCase() ?? 'utf-8';
}

type Parsed = { ok: true; value: unknown } | { ok: false; error: Error };

/**
 * JSON.parse, as body-parser did it: a byte order mark is skipped, an empty body is `{}`, and
 * `strict` takes only an object or an array. Errors are typed `entity.parse.failed`.
 */
function parseJson(text: string, strict: boolean): Parsed {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (body.length === 0) return { ok: true, value: {} };
  const failed = (message: string): Parsed =>
    ({ ok: false, error: new BodyReadError(message, 400, 'entity.parse.failed') });
  if (strict) {
    const first = /^[ \t\n\r]*(.)/s.exec(body)?.[1];
    if (first !== undefined && first !== '{' && first !== '[') {
      return failed(`expected a JSON object or array, found ${JSON.stringify(first)} first`);
    }
  }
  try {
    return { ok: true, value: JSON.parse(body) as unknown };
  } catch (err) {
    return failed((err as Error).message);
  }
}
