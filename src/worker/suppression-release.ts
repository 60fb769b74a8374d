import { sql, type Kysely } from 'kysely';
import cron from 'node-cron';
import type { CanonicalAlert, Labels } from '../domain/alert';
import type { Suppression } from '../domain/alert-disposition';
import type { Logger } from '../log';
import { releaseStages, runPipeline } from '../pipeline/pipeline';
import type { PipelineMetrics } from '../pipeline/pipeline-metrics';
import { stageContext, type Stage, type StagedAlert } from '../pipeline/stage';
import type { Database } from '../store/database';
import { anyOf } from '../store/unnest';

/** Held alerts taken up per transaction. */
const BATCH = 500;

export interface ReleaseResult {
  /** Alerts taken up, by what had held them. */
  readonly released: Readonly<Partial<Record<Suppression, number>>>;
  readonly total: number;
}

interface HeldRow {
  fingerprint: string;
  source: string;
  labels: Labels;
  annotations: Labels;
  generator_url: string | null;
  starts_at: Date;
  last_seen_at: Date;
  disposition: Suppression;
}

/**
 * Takes up again the held alerts that still fire once what held them has ended: a silence that
 * ended or was expired, a maintenance window's occurrence that ended, an inhibiting alert that
 * no longer fires. Each goes through the pipeline from `suppress` on, as a new episode would:
 * it opens (or joins) its incident then, or is held again by whatever holds it now (another
 * silence, the next window, another source).
 *
 * Several processes may run it at once: rows are claimed with `FOR UPDATE SKIP LOCKED` and their
 * new disposition is committed with the claim, so each held alert is taken up exactly once, and
 * a concurrent resolve of the same alert (dedup locks the row too) comes before or after, whole.
 * `now` is the clock (tests pass theirs).
 */
export async function releaseHeldAlerts(
  db: Kysely<Database>, stages: readonly Stage[], metrics: PipelineMetrics, now: Date, limit = BATCH,
): Promise<ReleaseResult> {
  const released: Partial<Record<Suppression, number>> = {};
  let total = 0;
  const after = releaseStages(stages);
  for (;;) {
    const effects: (() => void)[] = [];
    const n = await db.transaction().execute(async (trx) => {
      const { rows } = await sql<HeldRow>`
        select fingerprint, source, labels, annotations, generator_url, starts_at, last_seen_at, disposition
        from alerts a
        where a.status = 'firing' and (a.release_at <= ${now}
          or (a.release_at = 'infinity' and a.disposition = 'inhibited' and not exists (
            select 1 from alerts s
            where s.fingerprint = a.disposition_detail->>'inhibited_by' and s.status = 'firing')))
        order by a.fingerprint limit ${limit}
        for update of a skip locked`.execute(trx);
      if (rows.length === 0) return 0;
      // Held no more: what becomes of them now is the stages' to decide (an incident is not
      // written on the row but read from its link, see alert-queries.ts).
      await sql`update alerts set disposition = null, disposition_detail = null, release_at = null
        where fingerprint = ${anyOf(rows.map((r) => r.fingerprint), 'text')}`.execute(trx);
      const staged: StagedAlert[] = rows.map((r) => {
        const startsAt = r.starts_at.toISOString();
        const alert: CanonicalAlert = {
          source: r.source, fingerprint: r.fingerprint, status: 'firing', labels: r.labels, annotations: r.annotations,
          startsAt, endsAt: null, ...(r.generator_url !== null ? { generatorUrl: r.generator_url } : {}),
        };
        return { alert, receivedAt: r.last_seen_at.toISOString(), event: 'opened', episodeStartsAt: startsAt };
      });
      const afterCommit = (fn: () => void) => effects.push(fn);
      await runPipeline(after, staged, stageContext(trx, () => now, afterCommit), metrics);
      for (const r of rows) released[r.disposition] = (released[r.disposition] ?? 0) + 1;
      return rows.length;
    });
    for (const fn of effects) fn();
    total += n;
    if (n < limit) return { released, total };
  }
}

/** Every minute in each worker process: held alerts whose hold ended open their incidents within a minute. */
export function scheduleRelease(
  db: Kysely<Database>, stages: readonly Stage[], metrics: PipelineMetrics, log: Logger,
): { stop(): void } {
  const task = cron.schedule('* * * * *', async () => {
    try {
      const result = await releaseHeldAlerts(db, stages, metrics, new Date());
      if (result.total > 0) log.info({ released: result.released }, 'held alerts taken up again: their hold ended');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'taking up held alerts failed; will try next minute');
    }
  }, { name: 'quell-release-held', noOverlap: true });
  return { stop: () => { void task.stop(); } };
}
