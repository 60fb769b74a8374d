import { ConfigError, configError, masked } from './config';

/**
 * Start-up failures in an operator's words: which setting, what is wrong, the fix, one line.
 * The driver's own words stay available as `cause` (logged with QUELL_LOG_LEVEL=debug).
 */
export interface DependencyProblem {
  /** One line: setting, problem, fix. */
  readonly message: string;
  /**
   * The server did not answer (refused, timed out, restarting): it may come up, so a
   * long-running process waits for it. Otherwise the setting is wrong and waiting cannot help.
   */
  readonly unreachable: boolean;
}

/** `host:port` of a URL setting, for messages. */
export function addressOf(url: string, defaultPort: number): string {
  try {
    const u = new URL(url);
    return `${u.hostname || '127.0.0.1'}:${u.port || defaultPort}`;
  } catch {
    return masked(url);
  }
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', '57P03',
]);

/** Why PostgreSQL at DATABASE_URL refused to serve Quell, from a pg error. */
export function describeDatabaseError(err: unknown, url: string): DependencyProblem {
  const address = addressOf(url, 5432);
  const e = firstCoded(err);
  const code = e?.code;
  const said = (e ?? (err as Error)).message;
  const user = safeUrl(url)?.username || 'the current user';
  const database = safeUrl(url)?.pathname.slice(1) || user;
  const problem = (text: string, fix: string, unreachable = false): DependencyProblem =>
    ({ message: configError('DATABASE_URL', text, fix).message, unreachable });
  switch (code) {
    case '3D000': return problem(`database "${decodeURIComponent(database)}" does not exist on ${address}`,
      `create it (createdb -h ${hostOf(address)} -p ${portOf(address)} ${decodeURIComponent(database)}) `
        + 'or name an existing one in the URL');
    case '28000': return problem(`PostgreSQL at ${address} refused the role: ${said}`,
      'create the role (createuser), allow it in pg_hba.conf, or fix the user in the URL');
    case '28P01': return problem(`password authentication failed for user "${decodeURIComponent(user)}" at ${address}`,
      'fix the password in the URL');
    case 'ENOTFOUND': return problem(`host "${hostOf(address)}" not found`, 'fix the host in the URL (postgres://USER:PASSWORD@HOST:5432/DATABASE)');
    case 'ECONNREFUSED': return problem(`nothing accepts connections at ${address} (connection refused)`,
      'start PostgreSQL there, or fix the host and port in the URL', true);
    default:
      if (code !== undefined && UNREACHABLE_CODES.has(code) || /timeout|terminated/i.test(said)) {
        return problem(`PostgreSQL at ${address} does not answer (${said})`,
          'start it, or fix the host and port in the URL', true);
      }
      return problem(`PostgreSQL at ${address} failed: ${said}`, 'check the URL and the server log');
  }
}

/** Why Redis at REDIS_URL is not usable, from an ioredis error. */
export function describeRedisError(err: unknown, url: string): DependencyProblem {
  const address = addressOf(url, 6379);
  const e = firstCoded(err);
  const said = (e ?? (err as Error)).message;
  if (e?.code === 'ENOTFOUND') return { message: configError('REDIS_URL', `host "${hostOf(address)}" not found`, 'fix the host in the URL (redis://HOST:6379)').message, unreachable: false };
  if (/NOAUTH|WRONGPASS|invalid password/i.test(said)) {
    return { message: configError('REDIS_URL', `Redis at ${address} refused the credentials (${said})`, 'fix the user or password in the URL (redis://:PASSWORD@HOST:6379)').message, unreachable: false };
  }
  return {
    message: configError('REDIS_URL', `Redis at ${address} unreachable (${said})`,
      'start Redis there, or fix the host and port in the URL').message,
    unreachable: true,
  };
}

/** A listen() failure on a port setting, as a ConfigError naming it. */
export function listenError(
  err: unknown, setting: 'QUELL_PORT' | 'QUELL_METRICS_PORT', host: string, port: number,
): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return configError(setting, `port ${port} on ${host} is already in use`,
      `stop what holds it (ss -ltnp 'sport = :${port}') or set ${setting} to a free port`);
  }
  if (code === 'EACCES') {
    return configError(setting, `no permission to listen on port ${port}`,
      `use a port above 1023 or grant the capability`);
  }
  if (code === 'EADDRNOTAVAIL') {
    return configError('QUELL_HOST', `${host} is not an address of this machine`,
      'use 0.0.0.0, 127.0.0.1 or one of its addresses');
  }
  return err instanceof Error ? err : new Error(String(err));
}

export const isConfigError = (err: unknown): err is ConfigError => err instanceof Error && err.name === 'ConfigError';

interface CodedError { readonly code?: string; readonly message: string }

/** The first error in the chain (cause, AggregateError's errors) that carries a code. */
function firstCoded(err: unknown): CodedError | undefined {
  const queue: unknown[] = [err];
  while (queue.length > 0) {
    const e = queue.shift();
    if (typeof e !== 'object' || e === null) continue;
    const c = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- an error's message, as text whatever it holds
    if (typeof c.code === 'string') return { code: c.code, message: String(c.message ?? '') };
    if (c.cause !== undefined) queue.push(c.cause);
    if (Array.isArray(c.errors)) queue.push(...(c.errors as unknown[]));
  }
  return undefined;
}

function safeUrl(url: string): URL | undefined {
  try { return new URL(url); } catch { return undefined; }
}

const hostOf = (address: string): string => address.slice(0, address.lastIndexOf(':'));
const portOf = (address: string): string => address.slice(address.lastIndexOf(':') + 1);
