import { isUtf8 } from 'node:buffer';
import express, { type RequestHandler } from 'express';
import { findUnstorableText, mayHoldUnstorableText } from '../connectors/storable-text';
import { sendError } from './errors';

export interface JsonBodyOptions {
  /** Largest body in bytes (after decompression); larger gets 413. */
  readonly limit: number | string;
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
  // What the raw bytes said, for the check after parsing (verify sees the bytes, not the value).
  const notUtf8 = new WeakSet<object>();
  // Bodies with escapes that may hide unstorable text: only these need the walk (storable-text.ts).
  const escaped = new WeakSet<object>();
  const parse = express.json({
    limit: options.limit, type: () => true, strict: options.anyValue !== true,
    verify: (req, _res, raw, encoding) => {
      if (encoding !== 'utf-8' && encoding !== 'utf8') {
        const err = new Error(`charset "${encoding}": JSON bodies must be UTF-8`);
        throw Object.assign(err, { type: 'charset.unsupported' });
      }
      if (options.keepRaw === true) rawBodies.set(req, raw);
      if (!isUtf8(raw)) notUtf8.add(req);
      else if (mayHoldUnstorableText(raw)) escaped.add(req);
    },
  });
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment -- a Request is an IncomingMessage
  return (req, res, next) => parse(req, res, (err?: unknown) => {
    if (err !== undefined) { next(err); return; }
    if (notUtf8.has(req)) {
      sendError(res, 'invalid_payload', 'body is not valid UTF-8, as JSON bodies must be');
      return;
    }
    const field = escaped.has(req) ? findUnstorableText(req.body) : undefined;
    if (field !== undefined) {
      const message = `${field}: text with a NUL character or a lone surrogate cannot be stored`;
      sendError(res, 'invalid_payload', message, { field });
      return;
    }
    next();
  });
}
