import { Registry } from 'prom-client';
import type { Kysely } from 'kysely';
import { buildPipeline } from '../../src/pipeline/pipeline';
import { createPipelineMetrics, type PipelineMetrics } from '../../src/pipeline/pipeline-metrics';
import { compileRuleText } from '../../src/rules/rule-loader';
import type { Database } from '../../src/store/database';
import { createJobProcessor, createJobsApplier, type JobsApplier } from '../../src/worker/job-processor';
import type { IngestJob, JobHandler } from '../../src/queue/ingest-queue';
import type { TestQueue } from './redis';

/** One rule that takes every alert, grouped by alert name. */
export const CATCH_ALL_RULES = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: all
    matchers: []
    group_by: [alertname]
`;

/** The real job processor (the stages in one transaction, group commit) on `db`, with these rules. */
export function pipelineWorker(db: Kysely<Database>, rules: string = CATCH_ALL_RULES): {
  apply: JobHandler; metrics: PipelineMetrics;
  /** Applies the jobs in one transaction, as group commit does when they arrive together. */
  applyTogether: JobsApplier;
} {
  const metrics = createPipelineMetrics(new Registry());
  const bundle = compileRuleText('rules.yaml', rules);
  const stages = buildPipeline({ rules: () => bundle, metrics });
  return { apply: createJobProcessor(db, stages, metrics), metrics,
    applyTogether: createJobsApplier(db, stages, metrics) };
}

/** Takes the jobs waiting in a test queue (as a worker would) and applies each; returns them. */
export async function applyQueued(q: TestQueue, apply: JobHandler): Promise<IngestJob[]> {
  const jobs = await q.waiting();
  await q.bull.drain(true);
  for (const job of jobs) await apply(job);
  return jobs;
}
