import { percentile } from '../../domain/duration-histogram';
import { readDurations, readStats, type DurationMeasure } from '../incident-stats';
import { PRIORITIES, round, type Report } from '../report';

const PERCENTILES = [['p50_seconds', 0.5], ['p90_seconds', 0.9], ['p95_seconds', 0.95]] as const;

/**
 * MTTA or MTTR: per priority, the incidents acknowledged (resolved) in the period, the mean of
 * their times from opening, and percentiles (nearest rank, within 2 %: duration-histogram.ts).
 */
export function durationReport(name: string, measure: DurationMeasure, verb: 'acknowledged' | 'resolved'): Report {
  const what = measure === 'tta' ? 'acknowledge' : 'resolve';
  return {
    name,
    description: `Mean time to ${what} by priority: incidents ${verb} in the period, time from opening to ${verb}`,
    columns: [
      { name: 'priority', description: 'ITIL priority, 1 (critical) to 5' },
      { name: verb, description: `incidents ${verb} in the period` },
      { name: 'mean_seconds', description: `mean time from opening to ${verb} (empty: none)` },
      ...PERCENTILES.map(([col, p]) => ({
        name: col, description: `${p * 100}th percentile, within 2 % (empty: none)`,
      })),
    ],
    async run(ctx, period) {
      const [stats, durations] = await Promise.all([readStats(ctx.db, period), readDurations(ctx.db, period, measure)]);
      return PRIORITIES.map((priority) => {
        let n = 0;
        let sum = 0;
        for (const s of stats) {
          if (s.priority !== priority) continue;
          n += measure === 'tta' ? s.acknowledged : s.resolved;
          sum += measure === 'tta' ? s.ttaSeconds : s.ttrSeconds;
        }
        const histogram = durations.get(priority) ?? new Map<number, number>();
        const row: Record<string, number | null> = {
          priority, [verb]: n, mean_seconds: n === 0 ? null : round(sum / n),
        };
        for (const [col, p] of PERCENTILES) row[col] = percentile(histogram, p);
        return row;
      });
    },
  };
}
