import { Topology } from '../domain/topology';
import type { RuleBundle } from '../rules/rule-bundle';
import type { IncidentEventsDeps } from '../store/incident-events-commit';
import type { PipelineMetrics } from './pipeline-metrics';
import type { Stage, StageContext, StagedAlert } from './stage';
import { acknowledgeStage } from './stages/acknowledge';
import { correlateStage } from './stages/correlate';
import { dedupStage } from './stages/dedup';
import { flappingStage } from './stages/flapping';
import { incidentStage } from './stages/incident';
import { problemStage } from './stages/problem';
import { recordStage } from './stages/record';
import { rootCauseStage } from './stages/root-cause';
import { suppressStage } from './stages/suppress';
import { topologyStage } from './stages/topology';

/**
 * The whole flow of an alert, in order:
 *
 *   ingest      connectors/<id> through the connector framework (src/connectors): auth, size
 *               limit, validate, normalize to CanonicalAlert, fingerprint, enqueue: 2xx once queued
 *   -- ingest queue (BullMQ, or the embedded queue); runbook runs have their own queue --
 *   dedup       fold into the fingerprint's stored state; only new episodes and resolves go on
 *   suppress    hold back new episodes that a silence, a maintenance window or an inhibiting alert
 *               suppresses (stored with why; taken up again when that ends: releaseStages)
 *   correlate   first matching rule in rules/ gives the group key and the grouping policy
 *               (binding the alert to its CI)
 *   flapping    record the state changes of alerts whose rule detects flapping; note which are
 *               flapping; settle those that stopped (also on ticks: runs with no alerts)
 *   topology    alerts of topology rules join the incident of related CIs (per-rule lock)
 *   incident    join the group's incident, open or reopen one, or keep the alert pending (the
 *               rule's window, min_alerts, reopen_within); a flapping alert stays in its
 *               incident; resolve an incident when all alerts resolved and none is flapping;
 *               each change is a typed incident event (ctx.events)
 *   acknowledge acknowledge the open incidents of alerts their source says were acknowledged
 *               (IngestJob.acknowledgements: PagerDuty's acknowledge), as the API would
 *   root-cause  the incident's CIs and root-cause candidate (most upstream CI with an alert)
 *   problem     incidents that opened or reopened (ctx.events) count toward their signature's
 *               recurrence (ProblemRules): open a problem, or join the active one; a known
 *               error's workaround goes to the new incident (a `known_error` event)
 *   record      write the transaction's incident events to the timelines, and start the runbooks
 *               they trigger (runs + outbox rows; relayed to the runbook queue after commit)
 *
 * The stages run in one database transaction for the jobs a worker applies together
 * (src/worker/job-processor.ts: group commit); a job is applied whole or not at all.
 */
export interface PipelineDeps {
  /** The rules in force, every kind (a function, so that a reload takes effect at the next job). */
  readonly rules: () => RuleBundle;
  readonly metrics: PipelineMetrics;
  /**
   * The CMDB topology this process holds (a function: a new version takes effect at the next
   * batch). @defaultValue none: no alert binds to a CI, topology rules take nothing
   */
  readonly topology?: () => Topology;
  /** Runbooks the incident events trigger, and the outbox relay. @defaultValue none: the timeline only */
  readonly incidentEvents?: IncidentEventsDeps;
}

const NO_TOPOLOGY = Topology.empty();

export function buildPipeline(deps: PipelineDeps): readonly Stage[] {
  const topology = deps.topology ?? ((): Topology => NO_TOPOLOGY);
  return [
    dedupStage(deps.metrics),
    suppressStage(deps.rules, topology, deps.metrics),
    correlateStage(deps.rules, topology, deps.metrics),
    flappingStage(deps.rules, deps.metrics),
    topologyStage(topology),
    incidentStage(deps.metrics),
    acknowledgeStage(deps.metrics),
    rootCauseStage(topology),
    problemStage(deps.rules),
    recordStage(deps.incidentEvents),
  ];
}

/**
 * The stages a held alert goes through when what held it ends (src/worker/suppression-release.ts):
 * from `suppress` on, as if its episode had just opened (it may be held again).
 */
export function releaseStages(stages: readonly Stage[]): readonly Stage[] {
  const at = stages.findIndex((s) => s.name === 'suppress');
  if (at < 0) throw new Error('the pipeline has no suppress stage');
  return stages.slice(at);
}

export async function runPipeline(
  stages: readonly Stage[], alerts: readonly StagedAlert[], ctx: StageContext, metrics?: PipelineMetrics,
): Promise<readonly StagedAlert[]> {
  let current = alerts;
  // Every stage runs, even with no alerts left: a stage may act on the events of earlier ones.
  for (const stage of stages) {
    const stop = metrics?.stage.startTimer({ stage: stage.name });
    current = await stage.run(current, ctx);
    stop?.();
  }
  await ctx.later?.flush(ctx.trx);
  return current;
}
