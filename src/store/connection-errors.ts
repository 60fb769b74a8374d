/** SQLSTATE class 08 (connection exception), 57P01-57P03 (shut down by an admin or a crash, not accepting yet). */
const CONNECTION_SQLSTATE = /^(08...|57P0[123])$/;
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN',
]);
/** What node-postgres and its pool say when the socket went away or never came. */
const DRIVER_MESSAGES = [/^Connection terminated/, /is not queryable/, /^timeout exceeded when trying to connect/];

/**
 * Whether `err` says PostgreSQL cannot be reached or went away, as opposed to rejecting what
 * was asked: the same statement can succeed once the server is back. Workers then pause
 * without spending a job's attempts, and the API answers 503 `database_unavailable`.
 * Looks through `cause` and an AggregateError's `errors` (a connect to several addresses).
 */
export function isConnectionError(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 4) return false;
  const { code, message, cause, errors } = err as Partial<Record<'code' | 'message' | 'cause' | 'errors', unknown>>;
  if (typeof code === 'string' && (CONNECTION_SQLSTATE.test(code) || NETWORK_CODES.has(code))) return true;
  if (typeof message === 'string' && DRIVER_MESSAGES.some((m) => m.test(message))) return true;
  if (Array.isArray(errors) && errors.some((e) => isConnectionError(e, depth + 1))) return true;
  return isConnectionError(cause, depth + 1);
}
