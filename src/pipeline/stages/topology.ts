import type { Topology } from '../../domain/topology';
import { assignTopologyGroups, nearCis, type TopologyMember, type TopologyScope } from '../../domain/topology-grouping';
import { groupingIncidentsNear, lockTopologyRules } from '../../store/topology-store';
import { isCorrelated, type CorrelatedAlert, type Stage, type StagedAlert } from '../stage';

/**
 * Gives the alerts of topology rules their incident: those whose CIs are related, to each other
 * or to the CIs of an incident still grouping, share its key (see assignTopologyGroups). The
 * decision reads the grouping incidents near the alerts' CIs (index lookups: milliseconds), so it
 * is taken under a per-rule lock held to the commit: two workers never place related alerts in
 * two new incidents. Other alerts pass as they came.
 */
export function topologyStage(topology: () => Topology): Stage {
  return {
    name: 'topology',
    async run(alerts, ctx) {
      const byRule = new Map<string, { scope: TopologyScope; at: number[] }>();
      alerts.forEach((a, i) => {
        if (!isCorrelated(a) || a.correlation.topology === undefined || a.correlation.ci === undefined) return;
        const entry = byRule.get(a.correlation.rule);
        if (entry) entry.at.push(i); else byRule.set(a.correlation.rule, { scope: a.correlation.topology, at: [i] });
      });
      if (byRule.size === 0) return alerts;

      const topo = topology();
      const ciOf = (i: number): string => (alerts[i] as CorrelatedAlert).correlation.ci as string;
      await lockTopologyRules(ctx.trx, [...byRule.keys()]);
      const out: StagedAlert[] = [...alerts];
      for (const [rule, { scope, at }] of byRule) {
        const members: TopologyMember[] = at.map((i) => {
          const a = alerts[i] as CorrelatedAlert;
          return { ci: ciOf(i), base: a.correlation.groupKey, at: Date.parse(a.episodeStartsAt) };
        });
        const open = await groupingIncidentsNear(ctx.trx, rule, [...nearCis(topo, scope, members.map((m) => m.ci))]);
        const keys = assignTopologyGroups(topo, scope, members, open);
        at.forEach((i, k) => {
          const a = alerts[i] as CorrelatedAlert;
          out[i] = { ...a, correlation: { ...a.correlation, groupKey: keys[k] as string } };
        });
      }
      return out;
    },
  };
}
