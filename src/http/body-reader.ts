import type { IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { itemAt } from '../domain/invariant';

/**
 * A request body that could not be read. `type` and `status` are body-parser's (errors.ts
 * `bodyParserErrors` answers them): `entity.too.large` (413, with `limit`),
 * `encoding.unsupported` and `charset.unsupported` (415), `entity.parse.failed` (json-body.ts),
 * `request.aborted` and `request.size.invalid` (400); a body that does not decompress has status
 * 400 and no type, with zlib's message.
 */
export class BodyReadError extends Error {
  constructor(
    message: string, readonly status: number, readonly type?: string, readonly limit?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'BodyReadError';
  }
}

/** Whether the request has a body at all (a length, even 0, or chunked), as body-parser decides. */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && !Number.isNaN(Number(length)));
}

function decoderFor(encoding: string): Duplex | undefined {
  switch (encoding) {
    case 'gzip': return createGunzip();
    case 'deflate': return createInflate();
    case 'br': return createBrotliDecompress();
    default: return undefined;
  }
}

/**
 * Reads a request's whole body, decompressed (gzip, deflate, br), refusing more than `limit`
 * bytes after decompression (a declared length over it is refused before reading). On any
 * refusal the rest of the request is read and dropped before the promise rejects, so that the
 * answer reaches a sender still writing. Body-parser did this for the API until it showed as a
 * third of a one-alert request's cost; this is the part of it Quell uses.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  return new Promise<Buffer>((resolve, reject) => {
    let source: Readable = req;
    let decoder: Duplex | undefined;
    let settled = false;
    const fail = (err: BodyReadError): void => {
      if (settled) return;
      settled = true;
      if (decoder !== undefined) { req.unpipe(decoder); decoder.destroy(); }
      if (req.readableEnded || req.destroyed) { reject(err); return; }
      req.on('end', () => { reject(err); }).on('close', () => { reject(err); }).on('error', () => { reject(err); });
      req.resume();
    };
    const tooLarge = (): BodyReadError =>
      new BodyReadError(`request entity too large (over ${limit} bytes)`, 413, 'entity.too.large', limit);

    if (encoding !== 'identity') {
      decoder = decoderFor(encoding);
      if (decoder === undefined) {
        fail(new BodyReadError(`unsupported content encoding "${encoding}"`, 415, 'encoding.unsupported'));
        return;
      }
      source = decoder;
      req.pipe(decoder);
    } else if (declared > limit) {
      fail(tooLarge());
      return;
    }

    const chunks: Buffer[] = [];
    let received = 0;
    source.on('data', (chunk: Buffer) => {
      if (settled) return;
      received += chunk.length;
      if (received > limit) { fail(tooLarge()); return; }
      chunks.push(chunk);
    });
    source.on('error', (err: Error) => {
      fail(new BodyReadError(err.message, 400, undefined, undefined, { cause: err }));
    });
    req.on('aborted', () => { fail(new BodyReadError('request aborted', 400, 'request.aborted')); });
    source.on('end', () => {
      if (settled) return;
      if (encoding === 'identity' && !Number.isNaN(declared) && received !== declared) {
        fail(new BodyReadError('request size did not match content length', 400, 'request.size.invalid'));
        return;
      }
      settled = true;
      resolve(chunks.length === 1 ? itemAt(chunks, 0, 'the one chunk') : Buffer.concat(chunks, received));
    });
  });
}
