import type { Kysely } from 'kysely';
import { ConfigError } from './config';
import type { Logger } from './log';
import { describeDatabaseError } from './startup-errors';
import type { Database } from './store/database';
import { migrateToLatest } from './store/migrate';

/** Waits between tries while PostgreSQL does not answer at start: doubling, up to this. */
const LONGEST_WAIT_MS = 30_000;

export interface SchemaAtStart {
  /** Migrations applied at once, or undefined while the database is awaited. */
  readonly applied?: readonly string[];
  /** Resolves once the schema is current (at once, or when PostgreSQL answered). */
  readonly ready: Promise<void>;
  /** Stops waiting (shutdown); `ready` then never resolves. */
  stop(): void;
}

/**
 * Migrates at start. A database that is wrong (no such database, role or host, a bad password)
 * is a {@link ConfigError}. One that does not answer (refused, timed out) is too, unless `wait`:
 * then a warning names DATABASE_URL and migrations are tried again, one log line per backoff
 * step, while the process serves /healthz (long-running roles: `quell api`, `quell worker`).
 */
export async function migrateAtStart(
  db: Kysely<Database>, url: string | undefined, log: Logger, wait: boolean,
): Promise<SchemaAtStart> {
  try {
    return { applied: await migrateToLatest(db), ready: Promise.resolve(), stop: () => undefined };
  } catch (err) {
    if (url === undefined) throw err;
    const problem = describeDatabaseError(err, url);
    if (!problem.unreachable || !wait) throw new ConfigError(problem.message, { cause: err });
    log.warn({ err: (err as Error).message },
      `${problem.message}. Waiting for it: /healthz answers, /readyz says not ready`);
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const ready = new Promise<void>((resolve) => {
      let attempt = 1;
      let waitMs = 1000;
      const retry = (): void => {
        timer = setTimeout(() => {
          if (stopped) return;
          attempt += 1;
          migrateToLatest(db).then((applied) => {
            log.info({ attempts: attempt, migrations: applied }, 'PostgreSQL answers: schema current, starting');
            resolve();
          }, (e: unknown) => {
            log.warn({ attempts: attempt, next_try_ms: Math.min(waitMs * 2, LONGEST_WAIT_MS) },
              `${describeDatabaseError(e, url).message} (still, after ${attempt} tries)`);
            waitMs = Math.min(waitMs * 2, LONGEST_WAIT_MS);
            retry();
          });
        }, waitMs);
        timer.unref();
      };
      retry();
    });
    return { ready, stop: () => { stopped = true; clearTimeout(timer); } };
  }
}
