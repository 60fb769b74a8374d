import { Counter, Gauge, type Registry } from 'prom-client';
import type { Topology } from '../domain/topology';

export type CmdbMetrics = ReturnType<typeof createCmdbMetrics>;

/** The topology a process holds, and the documents refused. */
export function createCmdbMetrics(registry: Registry) {
  const registers = [registry];
  const cis = new Gauge({ name: 'quell_cmdb_cis', help: 'CIs in the topology this process holds.', registers });
  const relations = new Gauge({
    name: 'quell_cmdb_relations', help: 'Relations in the topology this process holds.', registers,
  });
  const version = new Gauge({
    name: 'quell_cmdb_version', help: 'Stored version of the topology this process holds (0: none loaded).', registers,
  });
  return {
    loadFailures: new Counter({
      name: 'quell_cmdb_load_failures_total',
      help: 'CMDB documents refused (the topology in force stays), by source: file or api.',
      labelNames: ['source'] as const,
      registers,
    }),
    /** Shows the topology a process now holds. */
    holding(topology: Topology): void {
      cis.set(topology.ciCount);
      relations.set(topology.relationCount);
      version.set(topology.info.version);
    },
  };
}
