import type { Kysely } from 'kysely';
import type { ServiceLevelPolicy } from '../domain/service-level';
import type { Database } from '../store/database';
import { topRecurringProblems } from '../store/problem-queries';
import type { ReportContext, SlaTargets } from './report';

/**
 * What the reports read from the other modules: SLA targets of the ServiceLevels in force (in
 * seconds), and the most recurring problems of a period.
 */
export function reportSources(
  db: Kysely<Database>, serviceLevels: () => ServiceLevelPolicy,
): Omit<ReportContext, 'db'> {
  return {
    slaTargets: (): SlaTargets => Object.fromEntries(Object.entries(serviceLevels().targets).map(([p, t]) => [
      Number(p), {
        ...(t?.tta !== undefined ? { ttaSeconds: t.tta / 1000 } : {}),
        ...(t?.ttr !== undefined ? { ttrSeconds: t.ttr / 1000 } : {}),
      },
    ])),
    topProblems: async (period) => (await topRecurringProblems(db, period)).map((p) => ({
      problem_id: p.id, title: p.title, status: p.status, incidents: p.incident_count,
    })),
  };
}
