import { appendTimeline } from '../../store/incident-store';
import type { Stage } from '../stage';

/**
 * Writes the transaction's incident events (ctx.events) to their timelines, in one statement.
 * Last in the pipeline, so that every stage's events are in; it passes the alerts on as they are.
 */
export function recordStage(): Stage {
  return {
    name: 'record',
    async run(alerts, ctx) {
      await appendTimeline(ctx.trx, ctx.events.all());
      return alerts;
    },
  };
}
