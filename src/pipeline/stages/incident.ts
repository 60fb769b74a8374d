import { QUELL_ACTOR, type IncidentEvent } from '../../domain/incident-event';
import { updateIncidents } from '../../store/group-store';
import { resolveIncidentsWithoutFiringAlerts, resolveLinks } from '../../store/incident-store';
import { removePendingAlerts } from '../../store/pending-alert-store';
import type { PipelineMetrics } from '../pipeline-metrics';
import { isCorrelated, type AlertChange, type CorrelatedAlert, type Stage, type StagedAlert } from '../stage';
import { placeInGroups } from './incident-grouping';

/**
 * Opened alerts join their group's incident, open or reopen one, or wait for the group's
 * `min_alerts` (incident-grouping.ts); a flapping alert's firing joins the incident it flaps in,
 * whatever the window. Resolved alerts end their episode, and an incident with no firing alert
 * left, and no flapping one, resolves itself. Every change is an incident event (ctx.events),
 * which the `record` stage writes to the timeline.
 */
export function incidentStage(metrics: PipelineMetrics): Stage {
  return {
    name: 'incident',
    async run(alerts, ctx) {
      const now = ctx.now();
      const events: IncidentEvent[] = [];
      const incidentOf = new Map<StagedAlert, number>();

      const opened = alerts.filter(isCorrelated);
      const flapping = opened.filter((a) => a.flap?.flapping === true && a.flap.incidentId !== undefined);
      const flapped = await joinFlappingIncidents(ctx, flapping);
      events.push(...flapped.events);
      for (const [a, id] of flapped.incidentOf) incidentOf.set(a, id);

      const placement = await placeInGroups(ctx.trx, opened.filter((a) => !flapped.incidentOf.has(a)), now);
      events.push(...placement.events);
      for (const [a, id] of placement.incidentOf) incidentOf.set(a, id);

      const ended = alerts.filter((a): a is AlertChange => a.event === 'resolved');
      let autoResolved = 0;
      if (ended.length > 0) {
        const resolvedLinks = await resolveLinks(ctx.trx, ended.map((a) => ({
          fingerprint: a.alert.fingerprint, startsAt: a.episodeStartsAt, endsAt: a.alert.endsAt ?? a.alert.startsAt,
        })));
        const byIncident = new Map<number, string[]>();
        for (const l of resolvedLinks) {
          byIncident.set(l.incidentId, [...(byIncident.get(l.incidentId) ?? []), l.fingerprint]);
        }
        for (const [incidentId, fingerprints] of byIncident) {
          events.push({ kind: 'alerts_resolved', incidentId, fingerprints });
        }
        const linkOf = new Map(resolvedLinks.map((l) => [l.fingerprint, l.incidentId]));
        for (const a of ended) {
          const id = linkOf.get(a.alert.fingerprint);
          if (id !== undefined) incidentOf.set(a, id);
        }
        // An episode in no incident may be pending: it resolved before its group reached min_alerts.
        await removePendingAlerts(ctx.trx, ended.filter((a) => !incidentOf.has(a))
          .map((a) => ({ fingerprint: a.alert.fingerprint, startsAt: a.episodeStartsAt })));
        const candidates = [...byIncident.keys()].sort((a, b) => a - b);
        const resolved = await resolveIncidentsWithoutFiringAlerts(ctx.trx, candidates, now);
        autoResolved = resolved.length;
        for (const id of resolved) {
          events.push({ kind: 'resolved', incidentId: id, by: QUELL_ACTOR, reason: 'all alerts resolved' });
        }
      }
      events.push(...flappingEvents(alerts, incidentOf));

      ctx.events.emit(...events);
      ctx.afterCommit(() => {
        for (const [rule, n] of placement.created) metrics.incidentsCreated.inc({ rule }, n);
        for (const [rule, n] of placement.reopened) metrics.incidentsReopened.inc({ rule }, n);
        if (autoResolved > 0) metrics.incidentsResolved.inc({ by: 'auto' }, autoResolved);
      });
      return alerts.map((a) => {
        const id = incidentOf.get(a);
        return id === undefined ? a : { ...a, incidentId: id };
      });
    },
  };
}

/**
 * Links firings of flapping alerts to the incident they flap in (their previous episode's),
 * outside their group's window, with the incident's update. One that a person resolved
 * meanwhile is not joined: those alerts go to their group as usual.
 */
async function joinFlappingIncidents(ctx: Parameters<Stage['run']>[1], alerts: readonly CorrelatedAlert[]) {
  const events: IncidentEvent[] = [];
  const incidentOf = new Map<CorrelatedAlert, number>();
  const byIncident = new Map<number, CorrelatedAlert[]>();
  for (const a of alerts) {
    const id = a.flap?.incidentId as number;
    byIncident.set(id, [...(byIncident.get(id) ?? []), a]);
  }
  const updated = await updateIncidents(ctx.trx, [...byIncident].map(([id, list]) => {
    const starts = list.map((a) => a.episodeStartsAt).sort((x, y) => Date.parse(x) - Date.parse(y));
    return {
      id, count: list.length, firstAlertAt: starts[0] as string, lastAlertAt: starts[starts.length - 1] as string,
      priority: Math.min(...list.map((a) => a.correlation.priority)), groupingUntil: null, groupingOpen: null,
    };
  }), false, [...byIncident].flatMap(([id, list]) => list.map((a) => ({
    fingerprint: a.alert.fingerprint, startsAt: a.episodeStartsAt, receivedAt: a.receivedAt, key: String(id),
  }))));
  for (const [id, list] of byIncident) {
    if (!updated.has(id)) continue;
    events.push({ kind: 'alerts_linked', incidentId: id, fingerprints: list.map((a) => a.alert.fingerprint) });
    for (const a of list) incidentOf.set(a, id);
  }
  return { events, incidentOf };
}

/**
 * `flapping` on an incident's timeline when one of its alerts starts flapping, or a flapping
 * alert's firing lands in an incident other than the one it flapped in (once per incident and
 * alert in a batch).
 */
function flappingEvents(alerts: readonly StagedAlert[], incidentOf: ReadonlyMap<StagedAlert, number>): IncidentEvent[] {
  const events: IncidentEvent[] = [];
  const seen = new Set<string>();
  for (const a of alerts) {
    if (a.event === undefined || a.flap?.flapping !== true) continue;
    const id = incidentOf.get(a);
    const moved = a.event === 'opened' && id !== a.flap.incidentId;
    if (id === undefined || !(a.flap.started || moved)) continue;
    const key = `${id} ${a.alert.fingerprint}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const { changes, windowMs } = a.flap.policy;
    events.push({ kind: 'flapping', incidentId: id, fingerprint: a.alert.fingerprint, changes, windowMs });
  }
  return events;
}
