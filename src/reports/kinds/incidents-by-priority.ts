import { readStats } from '../incident-stats';
import { PRIORITIES, type Report } from '../report';

export const incidentsByPriorityReport: Report = {
  name: 'incidents-by-priority',
  description: 'Incidents opened and resolved in the period, by priority',
  columns: [
    { name: 'priority', description: 'ITIL priority, 1 (critical) to 5' },
    { name: 'opened', description: 'incidents opened in the period' },
    { name: 'resolved', description: 'incidents resolved in the period' },
  ],
  async run(ctx, period) {
    const stats = await readStats(ctx.db, period);
    return PRIORITIES.map((priority) => {
      const mine = stats.filter((s) => s.priority === priority);
      return {
        priority,
        opened: mine.reduce((n, s) => n + s.opened, 0),
        resolved: mine.reduce((n, s) => n + s.resolved, 0),
      };
    });
  },
};
