import type { DispositionDecision } from '../../domain/alert-disposition';
import { correlationRulesKind } from '../../rules/kinds/correlation-rules-kind';
import { priorityMatrixKind } from '../../rules/kinds/priority-matrix-kind';
import type { Topology } from '../../domain/topology';
import type { RuleBundle } from '../../rules/rule-bundle';
import { setDispositions } from '../../store/alert-store';
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
      const uncorrelated: DispositionDecision[] = [];
      for (const staged of alerts) {
        if (staged.event !== 'opened') { out.push(staged); continue; }
        const correlation = ruleSet.correlate(staged.alert.labels, topo, priority);
        if (correlation === undefined) uncorrelated.push(noRule(staged.alert.fingerprint, bundle.version));
        else out.push({ ...staged, correlation });
      }
      await setDispositions(ctx.trx, uncorrelated);
      ctx.afterCommit(() => metrics.uncorrelated.inc(uncorrelated.length));
      return out;
    },
  };
}

const noRule = (fingerprint: string, rulesVersion: string): DispositionDecision => ({
  fingerprint, disposition: 'uncorrelated',
  detail: { reason: 'no correlation rule takes it', rules_version: rulesVersion },
});
