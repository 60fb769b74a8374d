import type { Topology } from '../../domain/topology';
import type { RootCauseRecord } from '../../store/database';
import { addIncidentCis, setRootCauses } from '../../store/topology-store';
import type { Stage } from '../stage';

/** How many alert CIs' paths an incident's `root_cause` keeps, and a timeline entry shows. */
const MAX_PATHS = 200;
const EVENT_PATHS = 20;

/**
 * Records the CIs of the alerts that joined incidents, and each such incident's root-cause
 * candidate: the most upstream of its CIs, the path from each to it, and the CI's labels (owner,
 * environment, assignment group: the incident's enrichment). A new or moved root is a
 * `root_cause` event on the timeline. Alerts bound to no CI change nothing here.
 */
export function rootCauseStage(topology: () => Topology): Stage {
  return {
    name: 'root-cause',
    async run(alerts, ctx) {
      const added = new Map<number, string[]>();
      for (const a of alerts) {
        if (a.event !== 'opened' || a.incidentId === undefined || a.correlation?.ci === undefined) continue;
        const list = added.get(a.incidentId);
        if (list) list.push(a.correlation.ci); else added.set(a.incidentId, [a.correlation.ci]);
      }
      if (added.size === 0) return alerts;

      const topo = topology();
      const changed = new Map<number, RootCauseRecord>();
      for (const incident of await addIncidentCis(ctx.trx, added)) {
        const found = topo.rootCause(incident.cis);
        if (found === undefined) continue;
        const record: RootCauseRecord = {
          ci: found.root.id, type: found.root.type, labels: found.root.labels,
          paths: found.paths.slice(0, MAX_PATHS).map((p) => ({ ci: p.ci, path: p.path })),
        };
        if (JSON.stringify(record) === JSON.stringify(incident.rootCause)) continue;
        changed.set(incident.id, record);
        if (incident.rootCause?.ci !== record.ci) {
          ctx.events.emit({
            kind: 'root_cause', incidentId: incident.id, ci: record.ci, type: record.type,
            previous: incident.rootCause?.ci ?? null, paths: record.paths.slice(0, EVENT_PATHS),
          });
        }
      }
      await setRootCauses(ctx.trx, changed);
      return alerts;
    },
  };
}
