import { correlationRulesKind } from '../../rules/kinds/correlation-rules-kind';
import { priorityMatrixKind } from '../../rules/kinds/priority-matrix-kind';
import type { Topology } from '../../domain/topology';
import type { RuleBundle } from '../../rules/rule-bundle';
import type { PipelineMetrics } from '../pipeline-metrics';
import type { Stage, StagedAlert } from '../stage';

/**
 * Gives each opened alert its rule and group key, and its CI in the topology held for the batch;
 * resolves pass through (their incident is known).
 */
export function correlateStage(rules: () => RuleBundle, topology: () => Topology, metrics: PipelineMetrics): Stage {
  return {
    name: 'correlate',
    async run(alerts, ctx) {
      const bundle = rules();
      const ruleSet = bundle.get(correlationRulesKind);
      const priority = bundle.get(priorityMatrixKind);
      const topo = topology();
      const out: StagedAlert[] = [];
      let uncorrelated = 0;
      for (const staged of alerts) {
        if (staged.event !== 'opened') { out.push(staged); continue; }
        const correlation = ruleSet.correlate(staged.alert.labels, topo, priority);
        if (correlation === undefined) uncorrelated++;
        else out.push({ ...staged, correlation });
      }
      ctx.afterCommit(() => metrics.uncorrelated.inc(uncorrelated));
      return out;
    },
  };
}
