import type { RuleBundle } from '../rules/rule-bundle';
import type { PipelineMetrics } from './pipeline-metrics';
import type { Stage, StageContext, StagedAlert } from './stage';
import { correlateStage } from './stages/correlate';
import { dedupStage } from './stages/dedup';
import { flappingStage } from './stages/flapping';
import { incidentStage } from './stages/incident';
import { recordStage } from './stages/record';

/**
 * The whole flow of an alert, in order:
 *
 *   ingest      connectors/<id> through the connector framework (src/connectors): auth, size
 *               limit, validate, normalize to CanonicalAlert, fingerprint, enqueue: 2xx once queued
 *   -- ingest queue (BullMQ, or the embedded queue): the only queue; runbooks will get their own --
 *   dedup       fold into the fingerprint's stored state; only new episodes and resolves go on
 *               (silence / maintenance / inhibit will sit here)
 *   correlate   first matching rule in rules/ gives the group key and the grouping policy
 *   flapping    record the state changes of alerts whose rule detects flapping; note which are
 *               flapping; settle those that stopped (also on ticks: runs with no alerts)
 *   incident    join the group's incident, open or reopen one, or keep the alert pending (the
 *               rule's window, min_alerts, reopen_within); a flapping alert stays in its
 *               incident; resolve an incident when all alerts resolved and none is flapping;
 *               each change is a typed incident event (ctx.events)
 *               (problem and runbook-trigger stages will follow, reading ctx.events)
 *   record      write the transaction's incident events to the timelines
 *
 * The stages run in one database transaction for the jobs a worker applies together
 * (src/worker/job-processor.ts: group commit); a job is applied whole or not at all.
 */
export interface PipelineDeps {
  /** The rules in force, every kind (a function, so that a reload takes effect at the next job). */
  readonly rules: () => RuleBundle;
  readonly metrics: PipelineMetrics;
}

export function buildPipeline(deps: PipelineDeps): readonly Stage[] {
  return [
    dedupStage(deps.metrics),
    correlateStage(deps.rules, deps.metrics),
    flappingStage(deps.rules, deps.metrics),
    incidentStage(deps.metrics),
    recordStage(),
  ];
}

export async function runPipeline(stages: readonly Stage[], alerts: readonly StagedAlert[], ctx: StageContext, metrics?: PipelineMetrics): Promise<readonly StagedAlert[]> {
  let current = alerts;
  // Every stage runs, even with no alerts left: a stage may act on the events of earlier ones.
  for (const stage of stages) {
    const stop = metrics?.stage.startTimer({ stage: stage.name });
    current = await stage.run(current, ctx);
    stop?.();
  }
  return current;
}
