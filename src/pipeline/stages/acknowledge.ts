import { changeIncidentIn } from '../../store/incident-store';
import type { PipelineMetrics } from '../pipeline-metrics';
import type { Stage } from '../stage';

/**
 * Acknowledges the incidents of alerts their source says were acknowledged (ctx.acknowledgements,
 * carried by the ingest jobs): the open incident holding each alert's firing episode, through
 * the lifecycle as an operator's acknowledge would go, its `acknowledged` event emitted to
 * ctx.events for the record stage. After `incident`, so that an alert triggered and
 * acknowledged in one batch finds its new incident. An incident already acknowledged or
 * resolved is left as it is; an alert in no incident (pending, suppressed, unknown) changes nothing.
 */
export function acknowledgeStage(metrics: PipelineMetrics): Stage {
  return {
    name: 'acknowledge',
    async run(alerts, ctx) {
      const acks = ctx.acknowledgements ?? [];
      if (acks.length === 0) return alerts;
      const rows = await ctx.trx.selectFrom('incident_alerts').select(['fingerprint', 'incident_id'])
        .where('fingerprint', 'in', [...new Set(acks.map((a) => a.fingerprint))]).where('status', '=', 'firing')
        .execute();
      const incidentsOf = new Map<string, number[]>();
      for (const r of rows) incidentsOf.set(r.fingerprint, [...(incidentsOf.get(r.fingerprint) ?? []), r.incident_id]);
      const counts = { acknowledged: 0, unchanged: 0, no_incident: 0 };
      // Incidents in id order, each once (its first acknowledgement names who), so that concurrent batches lock alike.
      const firstAck = new Map<number, (typeof acks)[number]>();
      for (const ack of acks) {
        const ids = incidentsOf.get(ack.fingerprint) ?? [];
        if (ids.length === 0) counts.no_incident++;
        for (const id of ids) if (!firstAck.has(id)) firstAck.set(id, ack);
      }
      for (const [id, ack] of [...firstAck].sort((a, b) => a[0] - b[0])) {
        const outcome = await changeIncidentIn(ctx.trx, id, 'acknowledge', ack.by, ack.comment);
        if (outcome.ok) { ctx.events.emit(outcome.event); counts.acknowledged++; } else counts.unchanged++;
      }
      ctx.afterCommit(() => {
        for (const [result, n] of Object.entries(counts)) if (n > 0) metrics.sourceAcknowledgements.inc({ result }, n);
      });
      return alerts;
    },
  };
}
