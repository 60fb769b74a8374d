import { createTestDatabase, PG_ADMIN_URL, type TestDatabase } from '../support/postgres';
import { freePort } from '../support/net';
import { startQuell, type QuellProcess } from '../support/quell-process';
import { testRedisServer, type TestRedisServer } from '../support/redis-server';

/**
 * Redis or PostgreSQL gone at start or while running (a Redis of the test's own, stopped by it):
 * the API warns in one line naming the setting and keeps serving /healthz; /readyz names the
 * dependency (its address only to a token holder); reconnect failures are counted, not logged
 * each time; SIGTERM ends a worker within 5 s although Redis is unreachable.
 */
const TOKEN = 'dependencies-token-0123456789';
let t: TestDatabase | undefined;
let redis: TestRedisServer | undefined;
const running: QuellProcess[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  redis = await testRedisServer();
  await redis.kill();
});

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop('SIGKILL')));
  await redis?.kill();
  await t?.drop();
});

const env = (extra: Record<string, string>): Record<string, string> => ({
  DATABASE_URL: t!.url, REDIS_URL: redis!.url, QUELL_HOST: '127.0.0.1', QUELL_QUEUE_NAME: `deps-${Date.now()}`,
  QUELL_INGEST_TOKEN: TOKEN, QUELL_API_TOKEN: TOKEN, ...extra,
});

test('the API starts with Redis down: a warning naming REDIS_URL, /healthz answers, /readyz names Redis', async () => {
  const port = await freePort();
  const api = startQuell('api', env({ QUELL_PORT: String(port) }));
  running.push(api);
  await api.waitForLog('api listening');
  expect(api.output()).toContain(`REDIS_URL: Redis at 127.0.0.1:${redis!.port} unreachable`);
  const base = `http://127.0.0.1:${port}`;
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  const anonymous = await fetch(`${base}/readyz`);
  expect(anonymous.status).toBe(503);
  const body = await anonymous.json() as { reasons: Record<string, string>; details?: unknown };
  expect(body.reasons).toEqual({ queue: 'Redis unreachable' });
  expect(body.details).toBeUndefined();
  const trusted = await (await fetch(`${base}/readyz`,
    { headers: { authorization: `Bearer ${TOKEN}` } })).json() as { details: Record<string, string> };
  expect(trusted.details['queue'])
    .toMatch(new RegExp(`^Redis at 127\\.0\\.0\\.1:${redis!.port} unreachable: .*ECONNREFUSED`));
  await api.stop();
}, 60_000);

test('the API starts with PostgreSQL refusing: a warning naming DATABASE_URL, /healthz answers', async () => {
  const port = await freePort();
  const dead = new URL(PG_ADMIN_URL);
  dead.port = String(await freePort());
  const api = startQuell('api', env({ QUELL_PORT: String(port), DATABASE_URL: dead.toString() }));
  running.push(api);
  await api.waitForLog('api listening', 30_000);
  expect(api.output()).toContain(`DATABASE_URL: nothing accepts connections at 127.0.0.1:${dead.port}`);
  expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  const ready = await (await fetch(`http://127.0.0.1:${port}/readyz`)).json() as { reasons: Record<string, string> };
  expect(ready.reasons['database']).toBe('PostgreSQL unreachable');
  const started = Date.now();
  expect(await api.stop()).toBe(0);
  expect(Date.now() - started).toBeLessThan(5000);
}, 60_000);

test('a worker with Redis gone: a few counted warnings, no stacks; SIGTERM ends it within 5 s', async () => {
  await redis!.start();
  const worker = startQuell('worker', env({ QUELL_METRICS_PORT: String(await freePort()) }));
  running.push(worker);
  await worker.waitForLog('worker started');
  await redis!.kill();
  await new Promise((r) => setTimeout(r, 8000));
  const lines = worker.output().split('\n').filter((l) => l.includes('unreachable'));
  const msgs = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
  console.log(`${lines.length} log lines in 8 s of outage:\n${msgs.join('\n')}`);
  // Reconnects every ~2 s, two connections per queue: dozens of failures, a handful of lines.
  expect(lines.length).toBeGreaterThan(0);
  expect(lines.length).toBeLessThanOrEqual(16);
  expect(lines.join('\n')).toMatch(/failed attempts?/);
  expect(worker.output()).not.toMatch(/\\n\s+at /);
  expect(worker.output()).not.toContain('Unhandled error event');
  const started = Date.now();
  const code = await worker.stop();
  const ms = Date.now() - started;
  console.log(`worker stopped in ${ms} ms with Redis unreachable (exit ${code})`);
  expect(ms).toBeLessThan(5000);
  expect(code).toBe(0);
}, 60_000);
