import type { Kysely } from 'kysely';
import { slaClocks, type ServiceLevelPolicy } from '../domain/service-level';
import type { Database } from '../store/database';
import { readPauses } from '../sla/sla-store';
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
  /** The service levels in force and the time the clocks are shown at. @defaultValue no clocks */
  readonly serviceLevels?: ServiceLevelPolicy;
  readonly now?: Date;
}

/**
 * An incident as `GET /api/v1/incidents/{id}` answers it: its fields, `alert_summary` (its
 * alerts counted by status), and the first page of its alerts and of its timeline, each with
 * the cursor of the rest (`alerts_next`, `timeline_next`; `.../alerts` and `.../timeline` take
 * them), and `service_levels`: each service-level clock of its priority (see
 * {@link serviceLevelsOf}). However many alerts an incident has, the answer stays within `maxBytes`: the two
 * lists share what the incident's own fields leave, half each.
 */
export async function readIncidentDetail(db: Kysely<Database>, id: number, limits: DetailLimits) {
  const incident = await findIncident(db, id);
  if (incident === undefined) return undefined;
  const head = {
    ...incident, alert_summary: await alertSummary(db, id),
    service_levels: limits.serviceLevels
      ? await serviceLevelsOf(db, incident, limits.serviceLevels, limits.now ?? new Date()) : [],
  };
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

/**
 * The incident's clocks as the API shows them: `clock` (`tta` time to acknowledge, `ttr` time to
 * resolve), `target_seconds`, `elapsed_seconds` (pauses left out), `remaining_seconds` (negative
 * once breached), `breached`, `near` (past `warn_at`), `stopped` and `paused`.
 */
async function serviceLevelsOf(
  db: Kysely<Database>,
  incident: {
    readonly id: number; readonly priority: number; readonly opened_at: Date;
    readonly acknowledged_at: Date | null; readonly resolved_at: Date | null;
  },
  policy: ServiceLevelPolicy, now: Date,
) {
  if (policy.targets[incident.priority] === undefined) return [];
  const pauses = (await readPauses(db, [incident.id])).get(incident.id) ?? [];
  const clocks = slaClocks(policy, {
    priority: incident.priority, openedAt: incident.opened_at, acknowledgedAt: incident.acknowledged_at,
    resolvedAt: incident.resolved_at, pauses,
  }, now);
  const seconds = (ms: number) => Math.trunc(ms / 1000);
  return clocks.map((c) => ({
    clock: c.clock, target_seconds: seconds(c.targetMs), elapsed_seconds: seconds(c.elapsedMs),
    remaining_seconds: seconds(c.remainingMs),
    breached: c.breached, near: c.near, stopped: c.stopped, paused: c.paused,
  }));
}
