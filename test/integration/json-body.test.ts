import type { AddressInfo } from 'node:net';
import { request, type Server } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import express from 'express';
import { bodyParserErrors } from '../../src/http/errors';
import { jsonBody, rawBodyOf } from '../../src/http/json-body';

/**
 * The API's JSON body reader over real HTTP: what it takes (compressed, with a byte order mark,
 * empty), what it refuses and how (the API's error codes), and that a refused body is drained
 * so that the sender gets the answer rather than a reset connection.
 */
const LIMIT = 1024;
let server: Server;
let port: number;

beforeAll(async () => {
  const app = express();
  const echo = (req: express.Request, res: express.Response): void => {
    res.json({ body: req.body as unknown, raw: rawBodyOf(req)?.length ?? null });
  };
  app.post('/any', jsonBody({ limit: LIMIT, keepRaw: true, anyValue: true }), echo);
  app.post('/strict', jsonBody({ limit: LIMIT }), echo);
  app.use(bodyParserErrors);
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => { await new Promise((r) => server.close(r)); });

interface Answer {
  status: number;
  body: { body?: unknown; raw?: number | null; error?: { code: string; message: string } };
}

function post(path: string, body: Buffer | string, headers: Record<string, string> = {}): Promise<Answer> {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(bytes.length), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Answer['body'] }); });
    });
    req.on('error', reject);
    req.end(bytes);
  });
}

const json = JSON.stringify({ alerts: [{ labels: { alertname: 'A' } }] });

test.each([
  ['gzip', gzipSync(json)], ['deflate', deflateSync(json)], ['br', brotliCompressSync(json)],
])('a %s body is read decompressed; the bytes kept (signatures are checked over them) are the JSON', async (
  encoding, bytes,
) => {
  const res = await post('/any', bytes, { 'content-encoding': encoding });
  expect(res).toEqual({ status: 200, body: { body: JSON.parse(json), raw: Buffer.byteLength(json) } });
});

test('a byte order mark is skipped; an empty body is {}; any JSON value where the route takes one', async () => {
  expect((await post('/any', `\uFEFF${json}`)).body.body).toEqual(JSON.parse(json));
  expect((await post('/strict', '')).body.body).toEqual({});
  expect((await post('/any', 'null')).body.body).toBeNull();
});

test.each([
  ['not JSON', '/any', '{"alerts": [', {}, 400, 'invalid_json'],
  ['a bare value where an object is expected', '/strict', '"text"', {}, 400, 'invalid_json'],
  ['a charset other than UTF-8', '/any', json, { 'content-type': 'application/json; charset=latin1' }, 400,
    'invalid_payload'],
  ['bytes that are not UTF-8', '/any', Buffer.from('{"a":"caf\xe9"}', 'latin1'), {}, 400, 'invalid_payload'],
  ['an unknown Content-Encoding', '/any', json, { 'content-encoding': 'compress' }, 400, 'invalid_payload'],
  ['gzip that is not gzip', '/any', json, { 'content-encoding': 'gzip' }, 400, 'invalid_payload'],
  ['a NUL in a string', '/any', '{"a":"x\\u0000y"}', {}, 400, 'invalid_payload'],
])('%s is refused: %i %s', async (_what, path, body, headers, status, code) => {
  const res = await post(path, body, headers);
  expect(res.status).toBe(status);
  expect(res.body.error?.code).toBe(code);
});

test('over the limit, as sent or once decompressed, is 413; the sender gets the answer', async () => {
  const big = JSON.stringify({ pad: 'x'.repeat(LIMIT * 64) });
  const sent = await post('/any', big);
  expect(sent.status).toBe(413);
  expect(sent.body.error).toMatchObject({
    code: 'payload_too_large', message: `body is over the limit of ${LIMIT} bytes`,
  });
  const bomb = gzipSync(big); // small on the wire, large once decompressed
  expect(bomb.length).toBeLessThan(LIMIT);
  const inflated = await post('/any', bomb, { 'content-encoding': 'gzip' });
  expect(inflated.status).toBe(413);
  expect(inflated.body.error?.code).toBe('payload_too_large');
  // The server still answers on: nothing was left half-read.
  expect((await post('/any', json)).status).toBe(200);
});
