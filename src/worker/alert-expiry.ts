import { sql, type Kysely } from 'kysely';
import type { Labels } from '../domain/alert';
import type { Logger } from '../log';
import type { PipelineMetrics } from '../pipeline/pipeline-metrics';
import type { Stage } from '../pipeline/stage';
import type { Database } from '../store/database';
import type { LapseMetrics } from './lapse-metrics';
import { inTransaction, resolveLapsed, type Lapse, type LapsedRow } from './lapsed-alerts';
import { scheduleTicks } from './maintenance';

/** Expired alerts resolved per transaction. */
const BATCH = 500;

/** How often each worker looks for expired alerts. */
export const EXPIRY_INTERVAL_MS = 15_000;

const EXPIRY: Lapse = {
  by: 'expiry', disposition: 'expired',
  reason: 'its source stopped re-sending it: resolved at its endsAt, as Alertmanager resolves it',
};

/**
 * Resolves firing alerts whose `expires_at` passed (their source, e.g. Prometheus posting to
 * `/api/v2/alerts`, stopped re-sending them), each at its expiry, through the pipeline
 * (src/worker/lapsed-alerts.ts). Rows are claimed `for update skip locked`: several workers may
 * run it at once, and a re-send racing it (dedup locks the row too) comes wholly before or after.
 * Returns how many it resolved.
 */
export async function expireAlerts(
  db: Kysely<Database>, stages: readonly Stage[], now: Date,
  metrics: { readonly pipeline?: PipelineMetrics; readonly lapse?: LapseMetrics } = {}, limit = BATCH,
): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await inTransaction(db, async (trx, afterCommit) => {
      const { rows } = await sql<Omit<LapsedRow, 'detail'> & { expires_at: Date; labels: Labels }>`
        select fingerprint, source, labels, annotations, generator_url, starts_at,
          greatest(expires_at, starts_at) as ends_at, expires_at
        from alerts where status = 'firing' and expires_at <= ${now}
        order by expires_at, fingerprint limit ${limit}
        for update skip locked`.execute(trx);
      const lapsed = rows.map((r) => ({ ...r, detail: { expires_at: r.expires_at.toISOString() } }));
      await resolveLapsed(trx, stages, lapsed, EXPIRY, now, metrics.pipeline, afterCommit);
      afterCommit(() => { for (const r of rows) metrics.lapse?.lapsed.inc({ source: r.source, by: 'expiry' }); });
      return rows.length;
    });
    total += n;
    if (n < limit) return total;
  }
}

/** Every {@link EXPIRY_INTERVAL_MS} in each worker: an expired alert resolves within that of its expiry. */
export function scheduleExpiry(
  db: Kysely<Database>, stages: readonly Stage[], metrics: { pipeline: PipelineMetrics; lapse: LapseMetrics },
  log: Logger,
): { stop(): Promise<void> } {
  return scheduleTicks(async () => {
    const n = await expireAlerts(db, stages, new Date(), metrics);
    if (n > 0) log.info({ expired: n }, 'alerts not re-sent by their source resolved at their expiry');
  }, log, EXPIRY_INTERVAL_MS);
}
