/** A dependency that /readyz checks and `quell_dependency_up` reports; `check` throws when not ready. */
export interface ReadinessCheck {
  readonly name: string;
  /** What the dependency is, for anyone (`Redis`): a failure reads `Redis unreachable`. */
  readonly dependency?: string;
  /** Where it is (`host:port`), for the log and API token holders only. */
  readonly address?: string;
  readonly check: () => Promise<void>;
}

/**
 * A check's failure stated in Quell's words, fit for anyone to read (Redis may evict jobs).
 * Any other error a check throws comes from a driver and may name hosts and ports: anonymous
 * callers see only `unreachable` (or `not answering`), the log and API token holders the rest.
 */
export class NotReadyError extends Error {
  override name = 'NotReadyError';
}

export type CheckResult = { readonly name: string; readonly ok: true } | CheckFailure;

export interface CheckFailure {
  readonly name: string;
  readonly ok: false;
  /** Why not, for anyone. */
  readonly reason: string;
  /** Why not, as the driver said it: for the log and API token holders. */
  readonly detail: string;
}

/** How long a check may take before its dependency counts as not answering. */
export const CHECK_TIMEOUT_MS = 2000;

class CheckTimeout extends Error {}

/** Runs the checks side by side, each within {@link CHECK_TIMEOUT_MS}. */
export function runChecks(checks: readonly ReadinessCheck[]): Promise<CheckResult[]> {
  return Promise.all(checks.map(async ({ name, check, dependency, address }): Promise<CheckResult> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CheckTimeout(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
    });
    try {
      await Promise.race([check(), timeout]);
      return { name, ok: true };
    } catch (err) {
      const said = (err as Error).message;
      if (err instanceof NotReadyError) return { name, ok: false, reason: said, detail: said };
      const state = err instanceof CheckTimeout ? 'not answering' : 'unreachable';
      const what = dependency === undefined ? '' : `${dependency} `;
      const at = address === undefined ? '' : ` at ${address}`;
      const where = dependency === undefined ? '' : `${dependency}${at} ${state}: `;
      return { name, ok: false, reason: `${what}${state}`, detail: `${where}${said}` };
    } finally {
      clearTimeout(timer);
    }
  }));
}
