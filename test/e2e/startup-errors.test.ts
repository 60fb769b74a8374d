import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, REPO } from '../support/quell-process';
import { freePort } from '../support/net';
import { PG_ADMIN_URL } from '../support/postgres';

/**
 * What an operator sees for each mistake at start (the built CLI, as run): one line on stderr
 * naming the setting, what is wrong and the fix; no stack; exit 2.
 */
interface Outcome { readonly code: number | null; readonly stderr: string }

function quell(args: string[], env: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: REPO, env: { PATH: process.env['PATH'] ?? '', QUELL_RULES_DIR: join(REPO, 'rules'),
        ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

const pgUrl = (mutate: (u: URL) => void): string => {
  const u = new URL(PG_ADMIN_URL); mutate(u); return u.toString();
};

function expectOneLine(o: Outcome, ...parts: RegExp[]): void {
  expect(o.code).toBe(2);
  const lines = o.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  for (const p of parts) expect(lines[0]).toMatch(p);
  expect(o.stderr).not.toMatch(/^\s+at /m);
}

const dir = mkdtempSync(join(tmpdir(), 'quell-startup-'));

test.each([
  ['a missing database', { DATABASE_URL: pgUrl((u) => { u.pathname = '/no_such_db_x'; }) },
    [/^quell: DATABASE_URL: database "no_such_db_x" does not exist/, /createdb/]],
  ['a refused port', { DATABASE_URL: pgUrl((u) => { u.port = '1'; }) }, [/^quell: DATABASE_URL: nothing accepts connections at 127\.0\.0\.1:1/, /start PostgreSQL/]],
  ['an unknown role', { DATABASE_URL: pgUrl((u) => { u.username = 'no_such_role_x'; }) }, [/^quell: DATABASE_URL: .*role "no_such_role_x" does not exist/, /createuser/]],
  ['a mysql:// URL', { DATABASE_URL: 'mysql://root:pw@127.0.0.1/quell' }, [/^quell: DATABASE_URL: mysql:\/\/ is not supported/, /postgres:\/\//]],
  ['a bare name', { DATABASE_URL: 'newcomer_x' }, [/^quell: DATABASE_URL: "newcomer_x" has no scheme/, /postgres:\/\/USER:PASSWORD@127\.0\.0\.1:5432\/newcomer_x/]],
  ['a Redis address without scheme', { REDIS_URL: '127.0.0.1:6379' }, [/^quell: REDIS_URL: "127\.0\.0\.1:6379" has no scheme/, /e\.g\.|such as redis:\/\/127\.0\.0\.1:6379/]],
  ['a missing config file', { QUELL_CONFIG: join(dir, 'nope.yaml') }, [/^quell: QUELL_CONFIG: cannot read .*nope\.yaml \(no such file\)/]],
  ['a short token', { QUELL_INGEST_TOKEN: 'change-me' }, [/^quell: QUELL_INGEST_TOKEN: shorter than 16 characters/, /openssl rand -hex 24/]],
])('%s: migrate says so in one line and exits 2', async (_what, env, parts) => {
  const o = await quell(['migrate'], env);
  expectOneLine(o, ...parts);
  expect(o.stderr).not.toContain('pw@');
  expect(o.stderr).not.toContain('change-me');
}, 30_000);

test('bad YAML in the config file names file:line', async () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'QUELL_PORT: 9280\nQUELL_HOST: [unclosed\n');
  expectOneLine(await quell(['migrate'], { QUELL_CONFIG: file }),
    new RegExp(`^quell: QUELL_CONFIG: ${file}:\\d+:\\d+: not valid YAML`));
});

test('an unknown key in the config file names the nearest known one', async () => {
  const file = join(dir, 'typo.yaml');
  writeFileSync(file, 'QUELL_PORT: 9280\nQUELL_WORKER_CONCURENCY: 8\n');
  expectOneLine(await quell(['migrate'], { QUELL_CONFIG: file }),
    new RegExp(`^quell: QUELL_CONFIG: ${file}:2:1: unknown setting QUELL_WORKER_CONCURENCY;`
      + ' did you mean QUELL_WORKER_CONCURRENCY\\?'));
});

test('the stack only at QUELL_LOG_LEVEL=debug', async () => {
  const o = await quell(['migrate'], { DATABASE_URL: pgUrl((u) => { u.port = '1'; }), QUELL_LOG_LEVEL: 'debug' });
  expect(o.code).toBe(2);
  expect(o.stderr).toMatch(/^\s+at /m);
});

describe('a port in use', () => {
  let holder: Server;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    holder = createServer();
    await new Promise<void>((r) => holder.listen(port, '127.0.0.1', r));
  });
  afterAll(() => { holder.close(); });

  test('names QUELL_PORT', async () => {
    const o = await quell(['start'], { QUELL_PORT: String(port), QUELL_HOST: '127.0.0.1',
      QUELL_DATA_DIR: join(dir, 'data'), QUELL_LOG_LEVEL: 'warn' });
    expect(o.code).toBe(2);
    expect(o.stderr.trim()).toMatch(
      new RegExp(`^quell: QUELL_PORT: port ${port} on 127\\.0\\.0\\.1 is already in use;`
        + ' .*set QUELL_PORT to a free port$'));
  }, 60_000);
});

test('--version prints package.json\'s version; --help lists settings with defaults', async () => {
  const version = (JSON.parse((await import('node:fs')).readFileSync(join(REPO, 'package.json'),
    'utf8')) as { version: string }).version;
  const out = await new Promise<string>((resolve) => {
    const child = spawn(process.execPath, [CLI, '--version'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    child.stdout.on('data', (d: Buffer) => { s += d.toString(); });
    child.on('exit', () => resolve(s));
  });
  expect(out.trim()).toBe(version);
  const help = await new Promise<string>((resolve) => {
    const child = spawn(process.execPath, [CLI, 'worker', '--help'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    child.stdout.on('data', (d: Buffer) => { s += d.toString(); });
    child.on('exit', () => resolve(s));
  });
  expect(help).toMatch(/QUELL_WORKER_CONCURRENCY\s+default: 32/);
  expect(help).toMatch(/REDIS_URL\s+default: unset, secret/);
  expect(help).not.toContain('QUELL_MAX_BODY_BYTES');
});

describe('quell config check', () => {
  const run = (env: Record<string, string>): Promise<Outcome & { stdout: string }> => new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'config', 'check'], {
      cwd: REPO, env: { PATH: process.env['PATH'] ?? '', QUELL_RULES_DIR: join(REPO, 'rules'),
        ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
  const withPassword = pgUrl((u) => { u.password = 'sekrit-pw'; });
  const redisUrl = process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

  test('all well: exit 0, the settings it would run with, secrets masked', async () => {
    const o = await run({ DATABASE_URL: withPassword, REDIS_URL: redisUrl,
      QUELL_API_TOKEN: 'api-token-0123456789abcdef' });
    expect({ code: o.code, stderr: o.stderr }).toEqual({ code: 0, stderr: '' });
    expect(o.stdout).toMatch(/^ok {4}database: PostgreSQL \d+/m);
    expect(o.stdout).toMatch(/^ok {4}queue: Redis answers/m);
    expect(o.stdout).toMatch(/^ok {4}rules: /m);
    expect(o.stdout).toContain('QUELL_API_TOKEN=<set>');
    expect(o.stdout).toContain(':***@127.0.0.1');
    expect(o.stdout).not.toContain('sekrit-pw');
    expect(o.stdout).not.toContain('api-token-0123456789abcdef');
  }, 30_000);

  test('a server that does not answer: FAIL naming the setting, exit 2', async () => {
    const port = await freePort();
    const o = await run({ DATABASE_URL: withPassword, REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(o.code).toBe(2);
    expect(o.stderr).toMatch(new RegExp(`^FAIL  queue: REDIS_URL: Redis at 127\\.0\\.0\\.1:${port} unreachable`, 'm'));
  }, 30_000);

  test('invalid settings: exit 2 before connecting', async () => {
    const o = await run({ QUELL_PORT: 'eighty' });
    expect(o.code).toBe(2);
    expect(o.stderr.trim()).toMatch(/^settings: QUELL_PORT: .*default 9280$/);
  });
});
