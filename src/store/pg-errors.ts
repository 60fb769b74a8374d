/**
 * What a database error means for the work that met it: the one place that reads SQLSTATEs.
 *
 * - `conflict`: another transaction got in the way; running the same transaction again at
 *   once can succeed (serialization failure, deadlock, and see 23505 below).
 * - `data`: the values sent are ones the database will never take; no retry helps.
 * - `connection`: the database cannot be reached or cannot serve now; retry later, with backoff.
 * - `other`: anything else (a missing table before migration, a statement timeout, a bug);
 *   treated as operational: retried later.
 */
export type PgErrorKind = 'conflict' | 'data' | 'connection' | 'other';

/**
 * 23505 unique_violation is both `conflict` and `data`: every insert that can meet a unique index
 * says `ON CONFLICT`, so a 23505 is either a race the code did not foresee (a concurrent commit;
 * running again at once sees it and passes, as after a serialization failure) or a bug that
 * fails the same way every time (then retrying for an hour helps no more than failing at once,
 * and the failed job stays in the queue's failed set for a look). So: retried at once a few
 * times ({@link isConflict}), then permanent ({@link isDataError}).
 */
const UNIQUE_VIOLATION = '23505';

const CONFLICT_CODES: ReadonlySet<string> = new Set(['40001', '40P01', UNIQUE_VIOLATION]);

/**
 * SQLSTATE classes about the values, not the moment: 21 cardinality violation (one statement
 * touching a row twice), 22 data exception (a time out of range, bad text), 23 integrity
 * constraint violation, 54 program limit exceeded (an index row over the btree maximum,
 * a statement too complex).
 */
const DATA_CLASSES: ReadonlySet<string> = new Set(['21', '22', '23', '54']);

/**
 * Classes and codes that say the server is unreachable or cannot serve now: 08 connection
 * exception, 53 insufficient resources (disk full, out of memory, too many connections),
 * 58 system error (I/O), 57P01-57P05 (shutdown, crash, starting up, database dropped, idle
 * session timeout). Not the rest of 57 (57014 is a cancelled statement: `other`).
 */
const CONNECTION_CLASSES: ReadonlySet<string> = new Set(['08', '53', '58']);
const CONNECTION_CODES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03', '57P04', '57P05']);

/** Node's socket and name-lookup errors on the way to the server. */
const SOCKET_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN',
  'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'ENOTCONN', 'ERR_SOCKET_CLOSED', 'ERR_STREAM_DESTROYED',
]);

/** node-postgres's own errors for a lost or unobtainable connection carry no code, only these words. */
const PG_CLIENT_CONNECTION_MESSAGE = new RegExp('^(Connection terminated|timeout exceeded when trying to connect'
  + '|Client (has encountered a connection error|was closed) and is not queryable)');

const SQLSTATE = /^[0-9A-Z]{5}$/;

export function classifyPgError(err: unknown): PgErrorKind {
  for (const e of causes(err)) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code !== undefined && SOCKET_CODES.has(code)) return 'connection';
    if (code !== undefined && SQLSTATE.test(code)) {
      if (CONFLICT_CODES.has(code)) return 'conflict';
      const cls = code.slice(0, 2);
      if (DATA_CLASSES.has(cls)) return 'data';
      if (CONNECTION_CLASSES.has(cls) || CONNECTION_CODES.has(code)) return 'connection';
      return 'other';
    }
    if (typeof e.message === 'string' && PG_CLIENT_CONNECTION_MESSAGE.test(e.message)) return 'connection';
  }
  return 'other';
}

/** Running the same transaction again at once may pass (see {@link PgErrorKind}). */
export const isConflict = (err: unknown): boolean => classifyPgError(err) === 'conflict';

/** The database will never take these values: fail the work for good, do not retry. */
export function isDataError(err: unknown): boolean {
  const kind = classifyPgError(err);
  return kind === 'data' || (kind === 'conflict' && sqlstate(err) === UNIQUE_VIOLATION);
}

/** The database is unreachable or cannot serve now: operational, retry later with backoff. */
export const isConnectionError = (err: unknown): boolean => classifyPgError(err) === 'connection';

function sqlstate(err: unknown): string | undefined {
  for (const e of causes(err)) if (typeof e.code === 'string' && SQLSTATE.test(e.code)) return e.code;
  return undefined;
}

interface ErrorLike { readonly code?: unknown; readonly message?: unknown }

/** The error, its `cause` chain and an AggregateError's errors (Node's connect to several addresses). */
function causes(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  const todo: unknown[] = [err];
  while (todo.length > 0 && out.length < 20) {
    const e = todo.shift();
    if (e === null || typeof e !== 'object') continue;
    out.push(e);
    const { cause, errors } = e as { cause?: unknown; errors?: unknown };
    if (cause !== undefined) todo.push(cause);
    if (Array.isArray(errors)) todo.push(...(errors as unknown[]));
  }
  return out;
}
