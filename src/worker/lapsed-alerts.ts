import { sql, type Kysely, type Transaction } from 'kysely';
import type { CanonicalAlert, Labels } from '../domain/alert';
import type { IncidentEvent } from '../domain/incident-event';
import { runPipeline } from '../pipeline/pipeline';
import type { PipelineMetrics } from '../pipeline/pipeline-metrics';
import { IncidentEventLog, stageContext, type Stage, type StagedAlert } from '../pipeline/stage';
import type { Database } from '../store/database';
import { anyOf, unnest } from '../store/unnest';

/** A firing alert Quell resolves on its own side, as locked by the caller's select. */
export interface LapsedRow {
  readonly fingerprint: string;
  readonly source: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly generator_url: string | null;
  readonly starts_at: Date;
  /** When it ended: the expiry, or the reconciliation's clock. Not before `starts_at`. */
  readonly ends_at: Date;
  /** What the alert's disposition detail says besides `reason` and `incident_id`. */
  readonly detail: Readonly<Record<string, unknown>>;
}

/** Why these alerts lapsed: the disposition written on them and the timeline's `alerts_lapsed`. */
export interface Lapse {
  readonly by: 'reconciliation' | 'expiry';
  readonly disposition: 'reconciled' | 'expired';
  readonly reason: string;
}

/**
 * Resolves `rows` (firing alerts the transaction holds locked: the caller selected them `for
 * update`) through the whole pipeline, as if their source had sent the resolve: their incidents
 * resolve the usual way (`alerts_resolved`, then `resolved` when none fires), runbooks and
 * everything after it see the same events. Before those, each incident's timeline says why
 * (`alerts_lapsed`), and each alert's disposition records it with its incident.
 */
export async function resolveLapsed(
  trx: Transaction<Database>, stages: readonly Stage[], rows: readonly LapsedRow[], lapse: Lapse,
  now: Date, metrics: PipelineMetrics | undefined, afterCommit: (fn: () => void) => void,
): Promise<void> {
  if (rows.length === 0) return;
  const fingerprints = rows.map((r) => r.fingerprint);
  const { rows: links } = await sql<{ fingerprint: string; incident_id: number }>`
    select ia.fingerprint, ia.incident_id from incident_alerts ia
    join alerts a on a.fingerprint = ia.fingerprint and a.starts_at = ia.starts_at
    where a.fingerprint = ${anyOf(fingerprints, 'text')}`.execute(trx);
  const incidentOf = new Map(links.map((l) => [l.fingerprint, l.incident_id]));
  const byIncident = new Map<number, string[]>();
  for (const { fingerprint, incident_id } of links) {
    byIncident.set(incident_id, [...(byIncident.get(incident_id) ?? []), fingerprint]);
  }

  const events = new IncidentEventLog();
  for (const [incidentId, fps] of [...byIncident].sort((a, b) => a[0] - b[0])) {
    const event: IncidentEvent = {
      kind: 'alerts_lapsed', incidentId, fingerprints: fps.sort(), by: lapse.by, reason: lapse.reason,
    };
    events.emit(event);
  }
  const receivedAt = now.toISOString();
  const staged: StagedAlert[] = rows.map((r) => {
    const alert: CanonicalAlert = {
      source: r.source, fingerprint: r.fingerprint, status: 'resolved', labels: r.labels, annotations: r.annotations,
      startsAt: r.starts_at.toISOString(), endsAt: r.ends_at.toISOString(),
      ...(r.generator_url !== null ? { generatorUrl: r.generator_url } : {}),
    };
    return { alert, receivedAt };
  });
  await runPipeline(stages, staged, stageContext(trx, () => now, afterCommit, events), metrics);

  const details = rows.map((r) => ({
    fingerprint: r.fingerprint,
    detail: {
      reason: lapse.reason, ...r.detail,
      ...(incidentOf.has(r.fingerprint) ? { incident_id: incidentOf.get(r.fingerprint) } : {}),
    },
  }));
  await sql`update alerts a
    set disposition = ${lapse.disposition}, disposition_detail = v.detail, missing_since = null
    from (${unnest(details, [['fingerprint', 'text'], ['detail', 'jsonb']])}) as v(fingerprint, detail)
    where a.fingerprint = v.fingerprint and a.status = 'resolved'`.execute(trx);
}

/** Runs `fn` in a transaction of its own and its after-commit effects once it committed. */
export async function inTransaction<T>(
  db: Kysely<Database>, fn: (trx: Transaction<Database>, afterCommit: (fn: () => void) => void) => Promise<T>,
): Promise<T> {
  const effects: (() => void)[] = [];
  const out = await db.transaction().execute((trx) => fn(trx, (e) => effects.push(e)));
  for (const e of effects) e();
  return out;
}
