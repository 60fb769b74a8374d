import type { Kysely } from 'kysely';
import { Gauge, type Registry } from 'prom-client';
import type { IngestQueue, QueueDepth } from '../queue/ingest-queue';
import { runChecks, type ReadinessCheck } from '../readiness';
import type { Database } from '../store/database';
import { countOpenIncidents } from '../store/incident-queries';

const QUEUE_STATES: readonly (keyof QueueDepth)[] = ['waiting', 'active', 'delayed', 'failed'];

/** Gauges read from the database and the queue at scrape time, so every process agrees. */
export function registerStateMetrics(registry: Registry, db: Kysely<Database>, queue: IngestQueue): void {
  new Gauge({
    name: 'quell_incidents_open',
    help: 'Incidents not resolved (open or acknowledged).',
    registers: [registry],
    async collect() {
      // Database down: NaN, not the last count, which would look current (/readyz says why).
      try { this.set(await countOpenIncidents(db)); } catch { this.set(Number.NaN); }
    },
  });
  new Gauge({
    name: 'quell_queue_jobs',
    help: 'Jobs in a queue, by state.',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      try {
        const depth = await queue.depth();
        for (const [state, n] of Object.entries(depth) as [string, number][]) this.set({ queue: 'ingest', state }, n);
      } catch {
        for (const state of QUEUE_STATES) this.set({ queue: 'ingest', state }, Number.NaN); // queue down, as above
      }
    },
  });
  new Gauge({
    name: 'quell_queue_oldest_job_age_seconds',
    help: 'How long the oldest waiting job of a queue has waited (0: none waits).',
    labelNames: ['queue'] as const,
    registers: [registry],
    async collect() {
      try {
        this.set({ queue: 'ingest' }, (await queue.depth()).oldestWaitingSeconds ?? Number.NaN);
      } catch {
        this.set({ queue: 'ingest' }, Number.NaN);
      }
    },
  });
}

/** `quell_dependency_up`: each readiness check, run at scrape time, in every process. */
export function registerDependencyMetrics(registry: Registry, checks: readonly ReadinessCheck[]): void {
  new Gauge({
    name: 'quell_dependency_up',
    help: 'Whether a dependency (database, queue) passes its readiness check: 1 yes, 0 no.',
    labelNames: ['dependency'] as const,
    registers: [registry],
    async collect() {
      for (const c of await runChecks(checks)) this.set({ dependency: c.name }, c.ok ? 1 : 0);
    },
  });
}
