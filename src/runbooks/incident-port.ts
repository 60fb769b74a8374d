import { sql, type Kysely, type Transaction } from 'kysely';
import type { IncidentEvent } from '../domain/incident-event';
import type { Database } from '../store/database';
import { appendTimeline, changeIncident } from '../store/incident-store';
import { commitIncidentEvents, TIMELINE_ONLY, type IncidentEventsDeps } from '../store/incident-events-commit';
import { StepError, type IncidentPort } from './runbook-action';

/**
 * Where runbook code writes its own runs' events (`runbook`, `runbook_step`: no runbook is
 * triggered by them, so the timeline rows only). Changes to the incident itself (comment,
 * priority, escalation, resolve) go through the incident port, which takes the one path,
 * `commitIncidentEvents`, so that they trigger runbooks as an operator's change does.
 */
export async function writeIncidentEvents(
  trx: Transaction<Database> | Kysely<Database>, events: readonly IncidentEvent[],
): Promise<void> {
  await appendTimeline(trx, events);
}

/**
 * What the `incident` action, `wait_for` and the post-check do to or read of the run's
 * incident, each change with its event on the timeline in one transaction. `by` is the actor
 * the events name: `runbook:<name>`.
 */
export function createIncidentPort(
  db: Kysely<Database>, by: string, events: IncidentEventsDeps = TIMELINE_ONLY,
): IncidentPort {
  /** One change: its event into the transaction (timeline, triggers, outbox), the outbox relayed after commit. */
  const commit = async (
    incidentId: number, change: (trx: Transaction<Database>) => Promise<IncidentEvent | undefined>,
  ) => {
    const outbox = await db.transaction().execute(async (trx) => {
      const event = await change(trx);
      return event === undefined ? [] : commitIncidentEvents(trx, [event], events);
    });
    if (outbox.length > 0) events.relay(outbox);
  };
  return {
    async comment(incidentId, text) {
      await commit(incidentId, async (trx) => {
        await mustExist(trx, incidentId);
        return { kind: 'commented', incidentId, by, comment: text };
      });
    },

    async setPriority(incidentId, priority) {
      if (!Number.isInteger(priority) || priority < 1 || priority > 5) {
        throw new StepError(`priority must be 1 (P1) to 5 (P5), not ${priority}`, false);
      }
      await commit(incidentId, async (trx) => {
        const previous = await mustExist(trx, incidentId);
        if (previous.priority === priority) return undefined;
        await trx.updateTable('incidents').set({ priority, updated_at: sql`now()` }).where('id', '=', incidentId)
          .execute();
        return { kind: 'priority_changed', incidentId, by, priority, previous: previous.priority };
      });
    },

    /** Through the lifecycle, as an operator's resolve; an incident already resolved stays as it is. */
    async resolve(incidentId, comment) {
      const outcome = await changeIncident(db, incidentId, 'resolve', by, comment, events);
      if (!outcome.ok && outcome.reason === 'not_found') throw new StepError(`no incident ${incidentId}`, false);
    },

    async escalate(incidentId, reason) {
      await commit(incidentId, async (trx) => {
        await mustExist(trx, incidentId);
        return { kind: 'escalated', incidentId, by, reason };
      });
    },

    async state(incidentId) {
      const row = await db.selectFrom('incidents').select(['status',
        sql<number>`(select count(*)::int from incident_alerts ia
          where ia.incident_id = incidents.id and ia.status = 'firing')`
          .as('firing')])
        .where('id', '=', incidentId).executeTakeFirst();
      if (row === undefined) throw new StepError(`no incident ${incidentId}`, false);
      return { status: row.status, firingAlerts: row.firing };
    },
  };
}

async function mustExist(trx: Transaction<Database>, incidentId: number): Promise<{ priority: number }> {
  const row = await trx.selectFrom('incidents').select('priority').where('id', '=', incidentId).forUpdate()
    .executeTakeFirst();
  if (row === undefined) throw new StepError(`no incident ${incidentId}`, false);
  return row;
}
