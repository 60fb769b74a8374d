import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { AlertStatus } from '../domain/alert';
import type { WindowKind } from '../domain/grouping-policy';

/** A timestamptz: read as Date, written as Date or ISO string. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

import type { IncidentStatus } from '../domain/incident-lifecycle';

export type { IncidentStatus };

/** As `quell_incidents_resolved_total{by}` says it. */
export type ResolvedBy = 'auto' | 'manual';

/** The latest state of each fingerprint. */
export interface AlertsTable {
  fingerprint: string;
  source: string;
  status: AlertStatus;
  labels: Json<Record<string, string>>;
  annotations: Json<Record<string, string>>;
  generator_url: string | null;
  starts_at: Timestamp;
  ends_at: Timestamp | null;
  occurrences: number;
  first_seen_at: Timestamp;
  last_seen_at: Timestamp;
}

export interface IncidentsTable {
  id: Generated<number>;
  title: string;
  status: IncidentStatus;
  /** ITIL priority, 1 (critical) to 5. */
  priority: number;
  rule: string;
  group_key: string;
  /** True while new alerts of the group may join; at most one such incident per group key. */
  grouping_open: boolean;
  group_window_seconds: number;
  /** Whether its window runs from its latest alert (`sliding`) or its first (`fixed`). */
  window_kind: ColumnType<WindowKind, WindowKind | undefined, WindowKind>;
  /** Alerts starting up to then join it; null (a row of an older worker): its latest alert plus its window. */
  grouping_until: Timestamp | null;
  alert_count: number;
  opened_at: Generated<Date>;
  first_alert_at: Timestamp;
  last_alert_at: Timestamp;
  acknowledged_at: Timestamp | null;
  resolved_at: Timestamp | null;
  /**
   * How it was resolved: `auto` (Quell, when all its alerts resolved: such an incident may
   * reopen) or `manual` (a person, through the API; the timeline names who).
   */
  resolved_by: ResolvedBy | null;
  updated_at: Generated<Date>;
}

/** One episode of a fingerprint (fingerprint + start) belongs to exactly one incident. */
export interface IncidentAlertsTable {
  fingerprint: string;
  starts_at: Timestamp;
  incident_id: number;
  status: AlertStatus;
  ends_at: Timestamp | null;
  received_at: Timestamp;
  linked_at: Generated<Date>;
}

export interface IncidentEventsTable {
  id: Generated<string>;
  incident_id: number;
  at: Generated<Date>;
  kind: string;
  actor: string;
  detail: Json<Record<string, unknown>>;
}

/** Ingest jobs already applied: makes a redelivered job (after a crash) a no-op. */
export interface ProcessedJobsTable {
  id: string;
  processed_at: Generated<Date>;
}

/** The embedded, in-process queue's jobs (used when no Redis is configured). */
export interface QueueJobsTable {
  id: string;
  payload: Json<unknown>;
  enqueued_at: Generated<Date>;
  attempts: Generated<number>;
  available_at: Generated<Date>;
  last_error: string | null;
}

/** A firing alert waiting for its group's `min_alerts`, linked to no incident yet. */
export interface PendingAlertsTable {
  fingerprint: string;
  /** Its episode. */
  starts_at: Timestamp;
  group_key: string;
  rule: string;
  title: string;
  priority: number;
  received_at: Timestamp;
  pending_since: Timestamp;
  /** Its window passed before the group had `min_alerts`: it opens nothing (until it fires anew). */
  expired: Generated<boolean>;
}

/** A tracked alert's state changes (firings and resolves, at Quell's clock): the flapping history. */
export interface AlertStateChangesTable {
  id: Generated<string>;
  fingerprint: string;
  status: AlertStatus;
  at: Timestamp;
}

/** Flapping state of each alert whose rule detects flapping. */
export interface AlertFlappingTable {
  fingerprint: string;
  /** The policy it is tracked under (its rule's, as of its latest firing). */
  changes: number;
  window_ms: number;
  flapping: boolean;
  flapping_since: Timestamp | null;
  last_change_at: Timestamp;
  /** While flapping: when it settles unless it changes again. */
  settles_at: Timestamp | null;
  /** Its latest episode: the incident that holds it is the one flapping holds open. */
  episode_starts_at: Timestamp;
}

export interface Database {
  alerts: AlertsTable;
  incidents: IncidentsTable;
  incident_alerts: IncidentAlertsTable;
  incident_events: IncidentEventsTable;
  pending_alerts: PendingAlertsTable;
  alert_state_changes: AlertStateChangesTable;
  alert_flapping: AlertFlappingTable;
  processed_jobs: ProcessedJobsTable;
  queue_jobs: QueueJobsTable;
}

export type NewAlertRow = Insertable<AlertsTable>;
export type IncidentRow = Selectable<IncidentsTable>;
