import { sql, type Kysely } from 'kysely';
import type { Connector, PollTarget } from '../connectors/connector';
import { fingerprintOf } from '../connectors/connector-intake';
import type { Logger } from '../log';
import type { PipelineMetrics } from '../pipeline/pipeline-metrics';
import type { Stage } from '../pipeline/stage';
import type { Database } from '../store/database';
import type { LapseMetrics } from './lapse-metrics';
import { resolveLapsed, type LapsedRow } from './lapsed-alerts';
import { anyOf } from '../store/unnest';

/** A connector with a `poll` hook and where to poll it. */
export interface ReconcileSource {
  readonly connector: Connector;
  readonly target: PollTarget;
}

export interface ReconcileOptions {
  /** Polls of one source are at least this far apart, across every process. */
  readonly intervalMs: number;
  /**
   * How long an alert must stay missing from the source's answers before it resolves: two
   * polls at least this far apart must both miss it. Covers a source that restarted and has
   * not heard again yet of what still fires (Alertmanager keeps no alerts across a restart;
   * Prometheus re-sends within its resend delay). 0: the first poll that misses it.
   */
  readonly graceMs: number;
}

export type ReconcileResult =
  | { readonly ran: false }
  | { readonly ran: true; readonly firing: number; readonly missing: number; readonly resolved: number };

/** A firing alert of the source as read: what a lapse needs, and since when its source stopped listing it. */
type FiringRow = Omit<LapsedRow, 'ends_at' | 'detail'> & { readonly missing_since: Date | null };

/**
 * "If Quell opened it, Quell resolves it": asks a source what it still fires (its connector's
 * `poll`) and resolves what Quell holds firing from it that the source no longer lists, once
 * missing for `graceMs` (a lost resolve: a dropped webhook, a receiver down when it was sent).
 * Recorded as `reconciled` on the alert and `alerts_lapsed` on its incident's timeline
 * (src/worker/lapsed-alerts.ts).
 *
 * One process at a time per source, and once per interval between them: a transaction-scoped
 * advisory lock (another process holding it: skipped), then `reconcile_runs` says when it last
 * ran. The poll happens inside that transaction (bounded by the target's timeout). Only alerts
 * last received before the poll began are judged: one received since may be newer than the
 * answer. A poll that fails resolves nothing. `now` is the clock (tests pass theirs).
 */
export async function reconcileSource(
  db: Kysely<Database>, stages: readonly Stage[], source: ReconcileSource, opts: ReconcileOptions, now: Date,
  metrics: { readonly pipeline?: PipelineMetrics; readonly lapse?: LapseMetrics } = {},
): Promise<ReconcileResult> {
  const { connector, target } = source;
  const poll = connector.poll?.bind(connector);
  if (poll === undefined) throw new Error(`connector ${connector.id} has no poll hook`);
  const effects: (() => void)[] = [];
  const result = await db.transaction().execute(async (trx): Promise<ReconcileResult> => {
    const { rows: [lock] } = await sql<{ got: boolean }>`
      select pg_try_advisory_xact_lock(hashtext(${`quell-reconcile:${connector.id}`})) as got`.execute(trx);
    if (lock?.got !== true) return { ran: false };
    const last = await trx.selectFrom('reconcile_runs').select('ran_at').where('connector', '=', connector.id)
      .executeTakeFirst();
    // A little slack, so that processes on the same schedule do not skip every other turn.
    if (last !== undefined && now.getTime() - last.ran_at.getTime() < opts.intervalMs * 0.9) return { ran: false };
    await trx.insertInto('reconcile_runs').values({ connector: connector.id, ran_at: now })
      .onConflict((oc) => oc.column('connector').doUpdateSet({ ran_at: now })).execute();

    const stop = metrics.lapse?.pollDuration.startTimer({ connector: connector.id });
    const polledAt = new Date();
    let still: Set<string>;
    try {
      const answer = await poll(target);
      still = new Set(answer.firing.map((a) => fingerprintOf(connector, a.labels)));
    } finally {
      stop?.();
    }

    const { rows } = await sql<FiringRow>`
      select fingerprint, source, labels, annotations, generator_url, starts_at, missing_since
      from alerts where source = ${connector.id} and status = 'firing' and last_seen_at < ${polledAt}
      order by fingerprint for update skip locked`.execute(trx);
    const seen = rows.filter((r) => still.has(r.fingerprint) && r.missing_since !== null).map((r) => r.fingerprint);
    const missing = rows.filter((r) => !still.has(r.fingerprint));
    const due = missing.filter((r) => now.getTime() - (r.missing_since ?? now).getTime() >= opts.graceMs);
    const newlyMissing = missing.filter((r) => r.missing_since === null && !due.includes(r)).map((r) => r.fingerprint);
    if (seen.length > 0) {
      await sql`update alerts set missing_since = null where fingerprint = ${anyOf(seen, 'text')}`.execute(trx);
    }
    if (newlyMissing.length > 0) {
      await sql`update alerts set missing_since = ${now}
        where fingerprint = ${anyOf(newlyMissing, 'text')}`.execute(trx);
    }
    const lapsed: LapsedRow[] = due.map((r) => ({
      ...r, ends_at: new Date(Math.max(now.getTime(), r.starts_at.getTime())),
      detail: {
        source: connector.id, missing_since: (r.missing_since ?? now).toISOString(), checked_at: now.toISOString(),
      },
    }));
    await resolveLapsed(trx, stages, lapsed, {
      by: 'reconciliation', disposition: 'reconciled',
      reason: `${connector.id} no longer fires it (reconciliation): its resolve never reached Quell`,
    }, now, metrics.pipeline, (fn) => effects.push(fn));
    return { ran: true, firing: rows.length - missing.length, missing: missing.length, resolved: due.length };
  });
  for (const fn of effects) fn();
  if (result.ran && result.resolved > 0) {
    metrics.lapse?.lapsed.inc({ source: connector.id, by: 'reconciliation' }, result.resolved);
  }
  return result;
}

/**
 * Every `intervalMs`, each worker tries each source (the lock and `reconcile_runs` make one
 * of them poll it). A failing poll is logged, counted and tried again at the next interval.
 */
export function scheduleReconcile(
  db: Kysely<Database>, stages: readonly Stage[], sources: readonly ReconcileSource[], opts: ReconcileOptions,
  metrics: { pipeline: PipelineMetrics; lapse: LapseMetrics }, log: Logger,
): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const run = async (): Promise<void> => {
    for (const source of sources) {
      const connector = source.connector.id;
      try {
        const r = await reconcileSource(db, stages, source, opts, new Date(), metrics);
        metrics.lapse.polls.inc({ connector, result: r.ran ? 'ok' : 'skipped' });
        if (r.ran && (r.resolved > 0 || r.missing > 0)) {
          log.info({ connector, missing: r.missing, resolved: r.resolved },
            'reconciliation: alerts the source no longer fires');
        }
      } catch (err) {
        metrics.lapse.polls.inc({ connector, result: 'error' });
        log.warn({ connector, err: (err as Error).message },
          'reconciliation poll failed; nothing resolved; will try next interval');
      }
    }
  };
  const timer = setInterval(() => {
    if (running !== undefined) return;
    running = run().finally(() => { running = undefined; });
  }, opts.intervalMs);
  timer.unref();
  return { stop: async () => { clearInterval(timer); await running; } };
}
