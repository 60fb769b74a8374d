import { readStats } from '../incident-stats';
import type { Report } from '../report';

export const incidentsByServiceReport: Report = {
  name: 'incidents-by-service',
  description: 'Incidents opened and resolved in the period, by service (most opened first)',
  columns: [
    { name: 'service', description: "the incident's service (empty: none known)" },
    { name: 'opened', description: 'incidents opened in the period' },
    { name: 'resolved', description: 'incidents resolved in the period' },
  ],
  async run(ctx, period) {
    const byService = new Map<string, { opened: number; resolved: number }>();
    for (const s of await readStats(ctx.db, period)) {
      const t = byService.get(s.service) ?? { opened: 0, resolved: 0 };
      byService.set(s.service, { opened: t.opened + s.opened, resolved: t.resolved + s.resolved });
    }
    return [...byService].filter(([, t]) => t.opened + t.resolved > 0)
      .sort(([a, x], [b, y]) => y.opened - x.opened || y.resolved - x.resolved || (a < b ? -1 : a > b ? 1 : 0))
      .map(([service, t]) => ({ service: service === '' ? null : service, ...t }));
  },
};
