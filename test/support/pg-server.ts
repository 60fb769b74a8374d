import { execFile } from 'node:child_process';
import { appendFileSync, chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { freePort } from './net';

const run = promisify(execFile);

/** Where Debian keeps the PostgreSQL 15 server binaries; `PG_BIN` overrides. */
export const PG_BIN = process.env['PG_BIN'] ?? '/usr/lib/postgresql/15/bin';

/** How `pg_ctl stop` ends the server: `fast` ends sessions cleanly (57P01), `immediate` crashes it. */
export type PgStopMode = 'smart' | 'fast' | 'immediate';

/** A PostgreSQL server of a test's own, on a free loopback port, to stop and start at will. */
export interface PgServer {
  readonly port: number;
  /** The temporary directory: the data directory `data/`, the socket and the server log `server.log`. */
  readonly dir: string;
  /** `postgres://postgres@127.0.0.1:<port>/<database>` (trust authentication). */
  url(database?: string): string;
  /** Creates a database and answers its URL. */
  createDatabase(name: string): Promise<string>;
  /** Starts the server and waits until it accepts connections. */
  start(): Promise<void>;
  /** `pg_ctl stop -m <mode>`, waiting until the server is gone. @defaultValue fast */
  stop(mode?: PgStopMode): Promise<void>;
  restart(mode?: PgStopMode): Promise<void>;
  /** Whether the server accepts connections now. */
  isUp(): Promise<boolean>;
  /** The server's log so far. */
  log(): string;
  /** Stops the server (immediate) and removes its directory. */
  destroy(): Promise<void>;
}

/**
 * initdb into a fresh temporary directory and start the server. initdb and postgres refuse
 * to run as root, so as root they run as the `postgres` user, which then owns the directory.
 * `fsync=off` is safe here: an `immediate` stop kills processes, not the machine, and commits
 * still reach the operating system before they are acknowledged (synchronous_commit stays on).
 */
export async function startPgServer(): Promise<PgServer> {
  const dir = mkdtempSync(join(tmpdir(), 'quell-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const uid = Number(stdout.trim());
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
    chownSync(dir, uid, gid);
  }
  const pg = async (binary: string, args: string[]): Promise<string> => {
    const command = [join(PG_BIN, binary), ...args];
    const { stdout } = asRoot
      ? await run('runuser', ['-u', 'postgres', '--', ...command], { timeout: 60_000 })
      : await run(command[0]!, args, { timeout: 60_000 });
    return stdout;
  };
  const port = await freePort();
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  await pg('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale', 'C']);
  appendFileSync(join(data, 'postgresql.conf'), [
    '', `port = ${port}`, "listen_addresses = '127.0.0.1'", `unix_socket_directories = '${dir}'`,
    'fsync = off', 'full_page_writes = off', 'max_connections = 100', 'shared_buffers = 32MB', '',
  ].join('\n'));
  const url = (database = 'postgres'): string => `postgres://postgres@127.0.0.1:${port}/${database}`;

  const server: PgServer = {
    port, dir, url,
    async createDatabase(name) {
      const client = new Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`create database "${name.replace(/"/g, '""')}"`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    async start() {
      await pg('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', 'start']);
    },
    async stop(mode = 'fast') {
      await pg('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
    },
    async restart(mode = 'fast') {
      await server.stop(mode);
      await server.start();
    },
    async isUp() {
      const client = new Client({ connectionString: url(), connectionTimeoutMillis: 1000 });
      client.on('error', () => { /* reported by connect */ });
      try {
        await client.connect();
        await client.end();
        return true;
      } catch {
        return false;
      }
    },
    log() {
      try { return readFileSync(logFile, 'utf8'); } catch { return ''; }
    },
    async destroy() {
      await server.stop('immediate').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
