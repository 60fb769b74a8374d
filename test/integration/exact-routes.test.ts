import type { AddressInfo } from 'node:net';
import { request, type Server } from 'node:http';
import express, { type ErrorRequestHandler } from 'express';
import { exactRoutes } from '../../src/http/exact-routes';

/**
 * Routes matched by one lookup (the ingest paths) behave as express routes would, over real
 * HTTP: the same paths match, handlers run in order, errors reach the app's error handler, and
 * what they do not take goes on to the app's other routes.
 */
let server: Server;
let port: number;
const seen: string[] = [];

beforeAll(async () => {
  const app = express();
  const mark = (name: string): express.RequestHandler => (_req, _res, next) => { seen.push(name); next(); };
  app.use(exactRoutes([
    { method: 'POST', path: '/ingest/a', handlers: [mark('first'), mark('second'), (_req, res) => { res.send('a'); }] },
    { method: 'POST', path: '/ingest/throws', handlers: [() => { throw new Error('thrown'); }] },
    {
      method: 'POST', path: '/ingest/rejects',
      handlers: [async () => { await Promise.resolve(); throw new Error('rejected'); }],
    },
    { method: 'POST', path: '/ingest/passes', handlers: [(_req, _res, next) => { next(new Error('passed')); }] },
  ]));
  app.post('/ingest/b', (_req, res) => { res.send('b, an express route'); });
  app.use((_req, res) => { res.status(404).send('none'); });
  const onError: ErrorRequestHandler = (err: Error, _req, res, _next) => { res.status(500).send(err.message); };
  app.use(onError);
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => { await new Promise((r) => server.close(r)); });

function send(method: string, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a path matches as an express route does: any case, one trailing slash, a query string', async () => {
  for (const path of ['/ingest/a', '/INGEST/A', '/ingest/a/', '/ingest/a?x=1']) {
    seen.length = 0;
    expect(await send('POST', path)).toEqual({ status: 200, text: 'a' });
    expect(seen).toEqual(['first', 'second']);
  }
});

test('another method, a longer path or another path goes on to the app\'s other routes', async () => {
  expect(await send('GET', '/ingest/a')).toEqual({ status: 404, text: 'none' });
  expect(await send('POST', '/ingest/a/more')).toEqual({ status: 404, text: 'none' });
  expect(await send('POST', '/ingest/a//')).toEqual({ status: 404, text: 'none' });
  expect(await send('POST', '/ingest/b')).toEqual({ status: 200, text: 'b, an express route' });
});

test('a thrown error, a rejected promise and next(err) each reach the error handler', async () => {
  expect(await send('POST', '/ingest/throws')).toEqual({ status: 500, text: 'thrown' });
  expect(await send('POST', '/ingest/rejects')).toEqual({ status: 500, text: 'rejected' });
  expect(await send('POST', '/ingest/passes')).toEqual({ status: 500, text: 'passed' });
});

test('two routes for one method and path are refused when built', () => {
  const route = { method: 'POST' as const, path: '/x', handlers: [] };
  expect(() => exactRoutes([route, { ...route, path: '/X/' }])).toThrow('two routes for POST /X/');
});
