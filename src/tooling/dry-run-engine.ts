import { sql, type Kysely } from 'kysely';
import { Registry } from 'prom-client';
import type { AlertStatus, CanonicalAlert, Labels } from '../domain/alert';
import type { CmdbDocument } from '../domain/cmdb';
import { Topology } from '../domain/topology';
import { buildPipeline } from '../pipeline/pipeline';
import { createPipelineMetrics, type PipelineMetrics } from '../pipeline/pipeline-metrics';
import type { RuleBundle } from '../rules/rule-bundle';
import type { Database, IncidentStatus } from '../store/database';
import { incidentsInOrder } from '../store/incident-queries';
import { allIncidentMembers } from '../store/incident-members';
import type { KeysetSource } from '../store/keyset';
import { openMemoryDatabase, resetDatabase } from '../store/memory-database';
import type { Stage } from '../pipeline/stage';
import { createJobsApplier, type JobsApplier } from '../worker/job-processor';
import { releaseHeldAlerts } from '../worker/suppression-release';

/** One webhook payload's alerts (after intake), received at a simulated time. */
export interface DryRunJob {
  readonly at: Date;
  readonly connector: string;
  readonly alerts: readonly CanonicalAlert[];
}

/** An alert episode of an incident, as the store has it. */
export interface DryRunMember {
  readonly fingerprint: string;
  readonly labels: Labels;
  readonly status: AlertStatus;
  /** ISO 8601: with the fingerprint, the episode's identity. */
  readonly startsAt: string;
}

/** An incident the engine formed, with its members. */
export interface DryRunIncident {
  readonly id: number;
  readonly title: string;
  readonly rule: string;
  readonly groupKey: string;
  readonly status: IncidentStatus;
  readonly priority: number;
  readonly firstAlertAt: string;
  readonly members: readonly DryRunMember[];
  /** The root-cause CI (topology: see the root-cause stage); undefined when its alerts bind to no CI. */
  readonly rootCause?: string;
}

/** What the stages did with the alerts, besides incidents (from the pipeline's own metrics). */
export interface DryRunCounts {
  readonly deduplicated: number;
  readonly stale: number;
  readonly uncorrelated: number;
  /** New firing alerts held back by a silence, a maintenance window or an inhibiting alert. */
  readonly suppressed: number;
}

export interface DryRunOptions {
  /**
   * Jobs received within this of a batch's first job are applied in one transaction, as a busy
   * worker's group commit would. 0: each job alone. @defaultValue 0
   */
  readonly batchWindowMs?: number;
  /** Most alerts in one transaction. @defaultValue 5000 */
  readonly maxBatchAlerts?: number;
}

/**
 * The engine itself, run on recorded or made-up alerts with nothing deployed: an in-memory
 * PostgreSQL (PGlite) migrated like a real one, the pipeline the workers run
 * (buildPipeline + createJobsApplier) with its clock set to each batch's simulated time, and the
 * incidents read back through the store's queries. `quell rules test` and `quell replay`
 * share it, so what they show is what the engine would do, not a model of it.
 */
export class DryRunEngine {
  private cmdb: Topology = Topology.empty();
  private simulated = new Date(0);
  private jobs = 0;
  private metrics: PipelineMetrics;
  private stages: readonly Stage[];
  private apply: JobsApplier;

  private constructor(
    private readonly db: Kysely<Database>, private rules: RuleBundle, private readonly opts: DryRunOptions,
  ) {
    ({ metrics: this.metrics, stages: this.stages, apply: this.apply } = this.pipeline());
  }

  /** An engine on a fresh in-memory database (about a second or two: PGlite starts and migrates). */
  static async open(rules: RuleBundle, opts: DryRunOptions = {}): Promise<DryRunEngine> {
    return new DryRunEngine(await openMemoryDatabase(), rules, opts);
  }

  /**
   * Empties the database and counts and takes `rules`: the next run starts from nothing, as a
   * fresh engine would, without the cost of starting one (tests and backtests run many).
   */
  async reset(rules: RuleBundle, cmdb?: CmdbDocument): Promise<void> {
    await resetDatabase(this.db);
    this.rules = rules;
    this.cmdb = cmdb !== undefined ? Topology.build(cmdb) : Topology.empty();
    this.simulated = new Date(0);
    ({ metrics: this.metrics, stages: this.stages, apply: this.apply } = this.pipeline());
  }

  private pipeline(): { metrics: PipelineMetrics; stages: readonly Stage[]; apply: JobsApplier } {
    const metrics = createPipelineMetrics(new Registry());
    const stages = buildPipeline({ rules: () => this.rules, metrics, topology: () => this.cmdb });
    return { metrics, stages, apply: createJobsApplier(this.db, stages, metrics, () => this.simulated) };
  }

  /**
   * Applies jobs in the order given, which is time order (jobsOf sorts them); the stages' clock
   * reads each batch's latest receipt time. Before each batch, held alerts whose hold has ended
   * by then are taken up (the workers' minute task; src/worker/suppression-release.ts). `onBatch`
   * hears the number of alerts of each batch once it is committed.
   */
  async run(jobs: readonly DryRunJob[], onBatch?: (alerts: number) => void): Promise<void> {
    const windowMs = this.opts.batchWindowMs ?? 0;
    const maxAlerts = this.opts.maxBatchAlerts ?? 5000;
    for (let i = 0; i < jobs.length;) {
      const first = jobs[i] as DryRunJob;
      let end = i + 1;
      let alerts = first.alerts.length;
      while (end < jobs.length) {
        const next = jobs[end] as DryRunJob;
        if (next.at.getTime() - first.at.getTime() > windowMs || alerts + next.alerts.length > maxAlerts) break;
        alerts += next.alerts.length;
        end++;
      }
      const batch = jobs.slice(i, end).filter((j) => j.alerts.length > 0);
      i = end;
      if (batch.length === 0) continue;
      this.simulated = (batch[batch.length - 1] as DryRunJob).at;
      await releaseHeldAlerts(this.db, this.stages, this.metrics, this.simulated);
      await this.apply(batch.map((j) => ({
        id: `dry-run-${++this.jobs}`, connector: j.connector, receivedAt: j.at.toISOString(), alerts: j.alerts,
      })));
      onBatch?.(alerts);
    }
  }

  /** Every incident, in the order they opened, with every member. */
  async incidents(): Promise<DryRunIncident[]> {
    const summaries = (await drain(incidentsInOrder(this.db))).sort((a, b) => a.id - b.id);
    const members = await allIncidentMembers(this.db);
    const roots = new Map((await this.db.selectFrom('incidents')
      .select(['id', sql<string | null>`root_cause->>'ci'`.as('root')])
      .execute()).map((r) => [r.id, r.root]));
    return summaries.map((s) => ({
      ...(typeof roots.get(s.id) === 'string' ? { rootCause: roots.get(s.id) as string } : {}),
      id: s.id, title: s.title, rule: s.rule, groupKey: s.group_key, status: s.status, priority: s.priority,
      firstAlertAt: s.first_alert_at.toISOString(),
      members: (members.get(s.id) ?? []).map((m) => ({
        fingerprint: m.fingerprint, labels: m.labels, status: m.status, startsAt: m.startsAt.toISOString(),
      })),
    }));
  }

  async counts(): Promise<DryRunCounts> {
    const total = async (c: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> =>
      (await c.get()).values.reduce((sum, v) => sum + v.value, 0);
    const [deduplicated, stale, uncorrelated, suppressed] = await Promise.all([
      total(this.metrics.deduplicated), total(this.metrics.stale), total(this.metrics.uncorrelated),
      total(this.metrics.suppressed),
    ]);
    return { deduplicated, stale, uncorrelated, suppressed };
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}

/** Every row of a keyset source, page after page. */
async function drain<K, T>(source: KeysetSource<K, T>, pageSize = 1000): Promise<T[]> {
  const rows: T[] = [];
  let after: K | undefined;
  for (;;) {
    const page = await source(after, pageSize);
    for (const k of page) rows.push(k.row);
    if (page.length < pageSize) return rows;
    after = (page[page.length - 1] as { key: K }).key;
  }
}
