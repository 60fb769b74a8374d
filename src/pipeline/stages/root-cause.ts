import type { Topology } from '../../domain/topology';
import type { RootCauseRecord } from '../../store/database';
import { readIncidentTopology, writeIncidentTopology, type IncidentTopology } from '../../store/topology-store';
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
      // Incidents this transaction opened hold no CI yet: only the others are read.
      const fresh = new Set(ctx.events.all().filter((e) => e.kind === 'opened').map((e) => e.incidentId));
      const stored = new Map((await readIncidentTopology(ctx.trx, [...added.keys()].filter((id) => !fresh.has(id))))
        .map((x) => [x.id, x]));
      const writes: IncidentTopology[] = [];
      for (const [id, cis] of added) {
        const before = stored.get(id) ?? { id, cis: [], rootCause: null };
        const merged = [...new Set([...before.cis, ...cis])].sort();
        const found = topo.rootCause(merged);
        const record: RootCauseRecord | null = found === undefined ? before.rootCause : {
          ci: found.root.id, type: found.root.type, labels: found.root.labels,
          paths: found.paths.slice(0, MAX_PATHS).map((p) => ({ ci: p.ci, path: p.path })),
        };
        const sameCis = merged.length === before.cis.length;
        const sameRoot = JSON.stringify(record) === JSON.stringify(before.rootCause);
        if (sameCis && sameRoot) continue;
        writes.push({ id, cis: merged, rootCause: record });
        if (record !== null && before.rootCause?.ci !== record.ci) {
          ctx.events.emit({
            kind: 'root_cause', incidentId: id, ci: record.ci, type: record.type,
            previous: before.rootCause?.ci ?? null, paths: record.paths.slice(0, EVENT_PATHS),
          });
        }
      }
      await writeIncidentTopology(ctx.trx, writes);
      return alerts;
    },
  };
}
