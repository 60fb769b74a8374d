import { readStats } from '../incident-stats';
import { round, type Report } from '../report';

export const reopenRateReport: Report = {
  name: 'reopen-rate',
  description: 'Reopenings (`reopened` timeline events) in the period per incident resolved in it',
  columns: [
    { name: 'resolved', description: 'incidents resolved in the period' },
    { name: 'reopened', description: 'reopenings in the period' },
    { name: 'reopen_rate_percent', description: 'reopened / resolved, in percent (empty: nothing resolved)' },
  ],
  async run(ctx, period) {
    let resolved = 0;
    let reopened = 0;
    for (const s of await readStats(ctx.db, period)) {
      resolved += s.resolved;
      reopened += s.reopened;
    }
    return [{ resolved, reopened, reopen_rate_percent: resolved === 0 ? null : round((100 * reopened) / resolved, 2) }];
  },
};
