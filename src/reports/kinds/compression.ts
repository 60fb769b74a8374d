import { readStats } from '../incident-stats';
import { round, type Report } from '../report';

export const compressionReport: Report = {
  name: 'compression',
  description: 'Alert-to-incident compression: the alerts of the incidents opened in the period, per incident',
  columns: [
    { name: 'alerts', description: 'alerts grouped into the incidents opened in the period' },
    { name: 'incidents', description: 'incidents opened in the period' },
    { name: 'alerts_per_incident', description: 'alerts / incidents (empty: no incident)' },
    {
      name: 'compression_percent',
      description: '1 - incidents / alerts, in percent: the noise an operator did not see (empty: no alert)',
    },
  ],
  async run(ctx, period) {
    let alerts = 0;
    let incidents = 0;
    for (const s of await readStats(ctx.db, period)) {
      alerts += s.alerts;
      incidents += s.opened;
    }
    return [{
      alerts, incidents,
      alerts_per_incident: incidents === 0 ? null : round(alerts / incidents),
      compression_percent: alerts === 0 ? null : round(100 * (1 - incidents / alerts), 2),
    }];
  },
};
