import { commitIncidentEvents, TIMELINE_ONLY, type IncidentEventsDeps } from '../../store/incident-events-commit';
import type { Stage } from '../stage';

/**
 * Writes the transaction's incident events (ctx.events) to their timelines and starts the
 * runbooks they trigger (src/store/incident-events-commit.ts); their jobs are relayed after
 * commit. Last in the pipeline, so that every stage's events are in; its statement carries the
 * writes the stages left for later (ctx.later). It passes the alerts on as they are.
 */
export function recordStage(events: IncidentEventsDeps = TIMELINE_ONLY): Stage {
  return {
    name: 'record',
    async run(alerts, ctx) {
      const outbox = await commitIncidentEvents(ctx.trx, ctx.events.all(), events, ctx.later);
      if (outbox.length > 0) ctx.afterCommit(() => events.relay(outbox));
      return alerts;
    },
  };
}
