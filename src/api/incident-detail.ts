import type { Kysely } from 'kysely';
import type { Database } from '../store/database';
import { alertSummary, alertsOfIncident, findIncident, timelineOfIncident } from '../store/incident-queries';
import { boundedPage, ENVELOPE_BYTES, jsonBytes } from './bounded-page';
import { alertCursor, timelineCursor } from './page-cursor';

export interface DetailLimits {
  /** Alerts in the answer. @defaultValue 50 */
  readonly alerts?: number;
  /** Timeline entries in the answer. @defaultValue 50 */
  readonly timeline?: number;
  /** The answer's size (QUELL_MAX_RESPONSE_BYTES). */
  readonly maxBytes: number;
}

/**
 * An incident as `GET /api/v1/incidents/{id}` answers it: its fields, `alert_summary` (its
 * alerts counted by status), and the first page of its alerts and of its timeline, each with
 * the cursor of the rest (`alerts_next`, `timeline_next`; `.../alerts` and `.../timeline` take
 * them). However many alerts an incident has, the answer stays within `maxBytes`: the two
 * lists share what the incident's own fields leave, half each.
 */
export async function readIncidentDetail(db: Kysely<Database>, id: number, limits: DetailLimits) {
  const incident = await findIncident(db, id);
  if (incident === undefined) return undefined;
  const head = { ...incident, alert_summary: await alertSummary(db, id) };
  const maxBytes = Math.max(0, limits.maxBytes - ENVELOPE_BYTES - jsonBytes(head)) / 2;
  const alerts = await boundedPage(alertsOfIncident(db, id), { limit: limits.alerts ?? 50, maxBytes });
  const timeline = await boundedPage(timelineOfIncident(db, id), { limit: limits.timeline ?? 50, maxBytes });
  return {
    ...head,
    alerts: alerts.items,
    alerts_next: alertCursor.encode(alerts.next),
    timeline: timeline.items,
    timeline_next: timelineCursor.encode(timeline.next),
  };
}
