import type { Kysely } from 'kysely';
import { Gauge, type Registry } from 'prom-client';
import type { IngestQueue } from '../queue/ingest-queue';
import type { Database } from '../store/database';
import { countOpenIncidents } from '../store/incident-queries';

/** Gauges read from the database and the queue at scrape time, so every process agrees. */
export function registerStateMetrics(registry: Registry, db: Kysely<Database>, queue: IngestQueue): void {
  new Gauge({
    name: 'quell_incidents_open',
    help: 'Incidents not resolved (open or acknowledged).',
    registers: [registry],
    async collect() {
      try { this.set(await countOpenIncidents(db)); } catch { /* database down: /readyz says so */ }
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
        for (const [state, n] of Object.entries(depth)) this.set({ queue: 'ingest', state }, n);
      } catch { /* queue down: /readyz says so */ }
    },
  });
}
