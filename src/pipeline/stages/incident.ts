import {
  linkAlerts, openOrJoinIncidents, resolveIncidentsWithoutFiringAlerts, resolveLinks, type GroupOpening,
} from '../../store/incident-store';
import { QUELL_ACTOR, type IncidentEvent } from '../../domain/incident-event';
import { markInIncident } from '../../store/alert-store';
import type { PipelineMetrics } from '../pipeline-metrics';
import { isCorrelated, type AlertChange, type CorrelatedAlert, type Stage, type StagedAlert } from '../stage';

/**
 * Opened alerts join their group's open incident or open one; resolved alerts end their
 * episode, and an incident with no firing alert left resolves itself. Every change is an
 * incident event (ctx.events), which the `record` stage writes to the timeline.
 */
export function incidentStage(metrics: PipelineMetrics): Stage {
  return {
    name: 'incident',
    async run(alerts, ctx) {
      const events: IncidentEvent[] = [];
      const out: StagedAlert[] = [];

      const groups = collectGroups(alerts.filter(isCorrelated));

      const created = new Map<string, number>();
      if (groups.size > 0) {
        const { incidents, closed } = await openOrJoinIncidents(ctx.trx, [...groups.values()].map((g) => g.opening));
        for (const c of closed) events.push({ kind: 'grouping_closed', incidentId: c.id, reason: 'group_window passed' });
        const links = [];
        for (const [key, { opening, members }] of groups) {
          const incident = incidents.get(key)!;
          const fingerprints = members.map((m) => m.alert.fingerprint);
          if (incident.created) {
            created.set(opening.rule, (created.get(opening.rule) ?? 0) + 1);
            events.push({
              kind: 'opened', incidentId: incident.id, rule: opening.rule, groupKey: key, title: opening.title,
              priority: opening.priority, fingerprints,
            });
          } else {
            events.push({ kind: 'alerts_linked', incidentId: incident.id, fingerprints });
          }
          for (const m of members) {
            links.push({ fingerprint: m.alert.fingerprint, startsAt: m.episodeStartsAt, incidentId: incident.id, receivedAt: m.receivedAt });
            out.push({ ...m, incidentId: incident.id });
          }
        }
        await linkAlerts(ctx.trx, links);
        await markInIncident(ctx.trx, links);
      }

      const ended = alerts.filter((a): a is AlertChange => a.event === 'resolved');
      let autoResolved = 0;
      if (ended.length > 0) {
        const resolvedLinks = await resolveLinks(ctx.trx, ended.map((a) => ({
          fingerprint: a.alert.fingerprint, startsAt: a.episodeStartsAt, endsAt: a.alert.endsAt ?? a.alert.startsAt,
        })));
        const byIncident = new Map<number, string[]>();
        for (const l of resolvedLinks) byIncident.set(l.incidentId, [...(byIncident.get(l.incidentId) ?? []), l.fingerprint]);
        for (const [incidentId, fingerprints] of byIncident) events.push({ kind: 'alerts_resolved', incidentId, fingerprints });
        const incidentOf = new Map(resolvedLinks.map((l) => [l.fingerprint, l.incidentId]));
        for (const a of ended) {
          const incidentId = incidentOf.get(a.alert.fingerprint);
          out.push(incidentId === undefined ? a : { ...a, incidentId });
        }
        const resolved = await resolveIncidentsWithoutFiringAlerts(ctx.trx, [...byIncident.keys()].sort((a, b) => a - b));
        autoResolved = resolved.length;
        for (const id of resolved) events.push({ kind: 'resolved', incidentId: id, by: QUELL_ACTOR, reason: 'all alerts resolved' });
      }

      ctx.events.emit(...events);
      ctx.afterCommit(() => {
        for (const [rule, n] of created) metrics.incidentsCreated.inc({ rule }, n);
        if (autoResolved > 0) metrics.incidentsResolved.inc({ by: 'auto' }, autoResolved);
      });
      return out;
    },
  };
}

/** Gathers the opened alerts of a batch by group: one opening per group key. */
function collectGroups(opened: readonly CorrelatedAlert[]): Map<string, { opening: GroupOpening; members: CorrelatedAlert[] }> {
  const groups = new Map<string, { opening: GroupOpening; members: CorrelatedAlert[] }>();
  for (const staged of opened) {
    const c = staged.correlation;
    const at = staged.episodeStartsAt;
    const g = groups.get(c.groupKey);
    if (g === undefined) {
      const opening = { groupKey: c.groupKey, rule: c.rule, title: c.title, priority: c.priority, groupWindowSeconds: Math.ceil(c.groupWindowMs / 1000), count: 1, firstAlertAt: at, lastAlertAt: at };
      groups.set(c.groupKey, { opening, members: [staged] });
      continue;
    }
    const o = g.opening;
    g.opening = {
      ...o, count: o.count + 1, priority: Math.min(o.priority, c.priority),
      firstAlertAt: Date.parse(at) < Date.parse(o.firstAlertAt) ? at : o.firstAlertAt,
      lastAlertAt: Date.parse(at) > Date.parse(o.lastAlertAt) ? at : o.lastAlertAt,
    };
    g.members.push(staged);
  }
  return groups;
}
