import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';
import type { AlertStatus } from '../domain/alert';
import type { AlertDisposition } from '../domain/alert-disposition';
import type { WindowKind } from '../domain/grouping-policy';

/** A timestamptz: read as Date, written as Date or ISO string. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

import type { IncidentStatus } from '../domain/incident-lifecycle';
import type { ProblemStatus } from '../domain/problem-lifecycle';

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
  /** What became of the latest episode (src/domain/alert-disposition.ts); null: stored before dispositions. */
  disposition: ColumnType<AlertDisposition | null, AlertDisposition | null | undefined, AlertDisposition | null>;
  disposition_detail: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  /** When a held (suppressed) alert that still fires is taken up again. */
  release_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** A firing alert not re-sent by then resolves (src/worker/alert-expiry.ts); null: it never expires. */
  expires_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** Reconciliation first found its source no longer firing it (src/worker/reconcile.ts). */
  missing_since: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
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
  /** The CIs its alerts are bound to (topology in force when they joined). */
  cis: Generated<string[]>;
  /** Its root-cause candidate among `cis`: see RootCauseRecord. */
  root_cause: Json<RootCauseRecord> | null;
  /** Who works it, and which team (set through the API). */
  assignee: ColumnType<string | null, string | null | undefined, string | null>;
  assignment_group: ColumnType<string | null, string | null | undefined, string | null>;
  /** ITIL impact and urgency set by a person: 1 high, 2 medium, 3 low; null: as Quell decided. */
  impact: ColumnType<number | null, number | null | undefined, number | null>;
  urgency: ColumnType<number | null, number | null | undefined, number | null>;
  /** Set while it is held (the lifecycle's clock-pausing states): its service-level clocks stand still. */
  paused_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** Milliseconds it was held before `paused_at` (a bigint: text from pg; read it as `paused_ms::float8`). */
  paused_ms: ColumnType<string | number, string | number | undefined, string | number>;
  /** The known-error problem whose workaround it got when it opened (or was linked). */
  known_error_problem_id: ColumnType<number | null, number | null | undefined, number | null>;
  workaround: ColumnType<string | null, string | null | undefined, string | null>;
  /** Its service: the `service` label of the alerts that opened it, else of its root-cause CI (set once). */
  service: ColumnType<string | null, string | null | undefined, string | null>;
}

/** An incident's root-cause candidate as stored and shown (`root_cause` in the API). */
export interface RootCauseRecord {
  /** The most upstream CI with an alert. */
  readonly ci: string;
  readonly type: string;
  /** The CI's labels: service, owner, environment, assignment group... (enrichment). */
  readonly labels: Readonly<Record<string, string>>;
  /** From each alert's CI to the root: `[ci, …, root]`, null when out of reach. */
  readonly paths: readonly { readonly ci: string; readonly path: readonly string[] | null }[];
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

/** When each polled connector was last reconciled (src/worker/reconcile.ts). */
export interface ReconcileRunsTable {
  connector: string;
  ran_at: Timestamp;
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
  /** Which queue the job is in (`ingest`, `runbook`, ...). */
  queue: Generated<string>;
}

/** Jobs recorded in the transaction that decided them; the relay hands them to `queue` after commit. */
export interface OutboxTable {
  id: Generated<string>;
  queue: string;
  /** The job's id in its queue: handing it over twice is a no-op. */
  job_id: string;
  payload: Json<unknown>;
  created_at: Generated<Date>;
  relayed_at: Timestamp | null;
}

export type RunbookRunStatus =
  /** Recorded, waiting for a runbook worker. */
  | 'queued'
  /** Its approval (a normal change, a rate limit, an open breaker, an unknown step) is awaited. */
  | 'awaiting_approval'
  | 'running'
  /** Steps done; the post-check waits for the incident's alerts to resolve. */
  | 'verifying'
  | 'succeeded' | 'failed'
  /** Its steps ran, but the post-check found the alerts still firing: "did not fix". */
  | 'ineffective'
  | 'cancelled' | 'rejected';

export interface RunbookRunsTable {
  id: Generated<number>;
  runbook: string;
  incident_id: number;
  trigger: string;
  trigger_key: string;
  /** What rate limits count it against (a CI, group key, incident id or the runbook itself). */
  target: string;
  status: RunbookRunStatus;
  status_reason: string | null;
  dry_run: Generated<boolean>;
  rules_version: string | null;
  cancel_requested: Generated<boolean>;
  approved_by: string | null;
  approved_at: Timestamp | null;
  created_at: Generated<Date>;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  updated_at: Generated<Date>;
}

export type RunbookStepStatus =
  | 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'cancelled' | 'dry_run'
  /** Its action started and the process died before its end was recorded. */
  | 'unknown';

export interface RunbookStepsTable {
  run_id: number;
  idx: number;
  name: string;
  action: string;
  status: RunbookStepStatus;
  attempts: Generated<number>;
  params: Json<unknown> | null;
  output: Json<unknown> | null;
  error: string | null;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
}

/** An ITIL change: a run that changes something. `standard` is pre-approved; `normal` waits for approval. */
export interface ChangesTable {
  id: Generated<number>;
  run_id: number;
  incident_id: number;
  runbook: string;
  type: 'standard' | 'normal';
  status: 'awaiting_approval' | 'approved' | 'rejected' | 'implemented' | 'failed' | 'cancelled';
  /** successful, unsuccessful, did_not_fix */
  outcome: string | null;
  decided_by: string | null;
  decided_at: Timestamp | null;
  decision_comment: string | null;
  review_note: string | null;
  created_at: Generated<Date>;
  closed_at: Timestamp | null;
}

export interface RunbookBreakersTable {
  runbook: string;
  consecutive_failures: Generated<number>;
  opened_at: Timestamp | null;
}

/** Settings changed at run time through the API (the runbook kill switch), shared by every process. */
export interface QuellSettingsTable {
  key: string;
  value: Json<unknown>;
  updated_by: string | null;
  updated_at: Generated<Date>;
}

/** The CIs of the topology in force; `ord` keeps the document's order. */
export interface CmdbCisTable {
  version: number;
  ord: number;
  id: string;
  type: string;
  labels: Json<Record<string, string>>;
}

export interface CmdbRelationsTable {
  version: number;
  ord: number;
  from_ci: string;
  type: string;
  to_ci: string;
}

/** One row (id 1): which version of the topology is in force. Version 0: none was ever loaded. */
export interface CmdbMetaTable {
  id: number;
  version: number;
  /** sha256 of the document; '' for version 0. */
  hash: string;
  /** `file:<path>`, `api` or `none`. */
  source: string;
  loaded_at: Timestamp | null;
  ci_count: number;
  relation_count: number;
}

/** Alertmanager-style silences (src/domain/silence.ts). */
export interface SilencesTable {
  id: string;
  /** Alertmanager's matcher objects: `[{"name","value","isRegex","isEqual"}]`. */
  matchers: Json<readonly SilenceMatcherJson[]>;
  starts_at: Timestamp;
  ends_at: Timestamp;
  created_by: string;
  comment: string;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface SilenceMatcherJson {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  readonly isEqual: boolean;
}

/** One row: a counter every silence change increments (workers reload their silences when it moves). */
export interface SilencesVersionTable {
  one: boolean;
  version: ColumnType<string, string | number, string | number>;
}

/** Firing-alert candidates for inhibiting others, by inhibit rule and the values of its `equal` labels. */
export interface InhibitSourcesTable {
  rule_key: string;
  equal_key: string;
  fingerprint: string;
  /** The source also matches the rule's target matchers (then it cannot inhibit an alert matching both sides). */
  matches_target: boolean;
}

/** Inhibit rules (per rule-file version) whose already-firing sources have been indexed. */
export interface InhibitSourceScansTable {
  scan_key: string;
  scanned_at: Generated<Date>;
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

/** A tracked alert's state changes (firings and resolves): the flapping history. */
export interface AlertStateChangesTable {
  id: Generated<string>;
  fingerprint: string;
  status: AlertStatus;
  /** When Quell applied it (Quell's clock): retention prunes by it. */
  at: Timestamp;
  /** When it happened (the alert's clock: a firing's start, a resolve's end): flapping counts these. */
  event_at: Timestamp;
}

/** Flapping state of each alert whose rule detects flapping. */
export interface AlertFlappingTable {
  fingerprint: string;
  /** The policy it is tracked under (its rule's, as of its latest firing). */
  changes: number;
  window_ms: number;
  flapping: boolean;
  flapping_since: Timestamp | null;
  /** When Quell applied its latest change (Quell's clock). */
  last_change_at: Timestamp;
  /** When its latest change happened (the alert's clock). */
  last_event_at: Timestamp;
  /** While flapping (Quell's clock, for the tick): when it settles unless it changes again. */
  settles_at: Timestamp | null;
  /** Its latest episode: the incident that holds it is the one flapping holds open. */
  episode_starts_at: Timestamp;
  /**
   * Its latest change's status: that change is kept here only (`last_event_at`, `last_change_at`),
   * and goes to alert_state_changes when a later one supersedes it. Null: it is there already
   * (rows from before migration 0016).
   */
  last_status: ColumnType<AlertStatus | null, AlertStatus | null | undefined, AlertStatus | null>;
}

/** What the SLA sweep decided, once per incident, clock and level (see migration 0012). */
export interface SlaFlagsTable {
  incident_id: number;
  /** `tta`, `ttr`, or `escalation:<policy>`. */
  clock: string;
  /** `warning`, `breached`, `stopped`, or an escalation step `L<level>R<round>`. */
  level: string;
  at: Generated<Date>;
}

/** A notification job's attempts and outcome. */
export interface NotifyDeliveriesTable {
  job_id: string;
  incident_id: number;
  target: string;
  status: 'sending' | 'delivered' | 'failed';
  attempts: number;
  last_error: string | null;
  updated_at: Generated<Date>;
}

/** An ITIL problem: the cause of recurring incidents (src/domain/problem-lifecycle.ts). */
export interface ProblemsTable {
  id: Generated<number>;
  title: string;
  status: ColumnType<ProblemStatus, ProblemStatus | undefined, ProblemStatus>;
  /** What its incidents share; at most one active (open, known_error) problem per signature. */
  signature: string | null;
  /** The ProblemRules rule that opened it; null when opened by hand. */
  rule: string | null;
  root_cause: string | null;
  workaround: string | null;
  /** A runbook that new incidents of a known error trigger. */
  workaround_runbook: string | null;
  opened_by: string;
  opened_at: ColumnType<Date, Date | string | undefined, Date | string>;
  known_error_at: Timestamp | null;
  resolved_at: Timestamp | null;
  closed_at: Timestamp | null;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface ProblemIncidentsTable {
  problem_id: number;
  incident_id: number;
  incident_opened_at: Timestamp;
  linked_by: string;
  linked_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface ProblemChangesTable {
  problem_id: number;
  change_id: number;
  linked_by: string;
  linked_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface ProblemEventsTable {
  id: Generated<string>;
  problem_id: number;
  at: ColumnType<Date, Date | string | undefined, Date | string>;
  kind: string;
  actor: string;
  detail: Json<Record<string, unknown>>;
}

/** A signature seen: its row is what detection locks (see lockSignatures). */
export interface ProblemSignaturesTable {
  signature: string;
  last_seen_at: Timestamp;
}

/** Each incident of a signature once, when it opened or reopened: what recurrence counts. */
export interface ProblemOccurrencesTable {
  signature: string;
  incident_id: number;
  at: Timestamp;
}

/** Per UTC day, priority and service ('' for none): what the KPI reports sum (migration 0013-reports). */
export interface IncidentDailyTable {
  day: ColumnType<string, string, string>;
  priority: number;
  service: string;
  /** Incidents opened that day, and their alerts. */
  opened: number;
  alerts: ColumnType<string, number | string, number | string>;
  /** Incidents acknowledged that day, and the sum of their times to acknowledge. */
  acknowledged: number;
  tta_seconds: number;
  /** Incidents resolved that day, and the sum of their times to resolve. */
  resolved: number;
  ttr_seconds: number;
  /** `reopened` timeline events that day. */
  reopened: number;
}

/** Per UTC day and priority: how many times to acknowledge (`tta`) or resolve (`ttr`) fell in each bucket. */
export interface IncidentDurationsDailyTable {
  day: ColumnType<string, string, string>;
  priority: number;
  measure: 'tta' | 'ttr';
  bucket: number;
  n: number;
}

/** IncidentDailyTable summed per calendar month (`month`: its first day). */
export interface IncidentMonthlyTable extends Omit<IncidentDailyTable, 'day'> {
  month: ColumnType<string, string, string>;
}

export interface IncidentDurationsMonthlyTable extends Omit<IncidentDurationsDailyTable, 'day'> {
  month: ColumnType<string, string, string>;
}

/** One row: the days before `rolled_until` are in the roll-up tables. */
export interface ReportRollupTable {
  one: Generated<boolean>;
  rolled_until: ColumnType<string, string, string>;
  rolled_at: Timestamp;
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
  outbox: OutboxTable;
  runbook_runs: RunbookRunsTable;
  runbook_steps: RunbookStepsTable;
  changes: ChangesTable;
  runbook_breakers: RunbookBreakersTable;
  quell_settings: QuellSettingsTable;
  cmdb_cis: CmdbCisTable;
  cmdb_relations: CmdbRelationsTable;
  cmdb_meta: CmdbMetaTable;
  silences: SilencesTable;
  silences_version: SilencesVersionTable;
  inhibit_sources: InhibitSourcesTable;
  inhibit_source_scans: InhibitSourceScansTable;
  reconcile_runs: ReconcileRunsTable;
  sla_flags: SlaFlagsTable;
  notify_deliveries: NotifyDeliveriesTable;
  problems: ProblemsTable;
  problem_incidents: ProblemIncidentsTable;
  problem_changes: ProblemChangesTable;
  problem_events: ProblemEventsTable;
  problem_occurrences: ProblemOccurrencesTable;
  problem_signatures: ProblemSignaturesTable;
  incident_daily: IncidentDailyTable;
  incident_durations_daily: IncidentDurationsDailyTable;
  incident_monthly: IncidentMonthlyTable;
  incident_durations_monthly: IncidentDurationsMonthlyTable;
  report_rollup: ReportRollupTable;
}

export type NewAlertRow = Insertable<AlertsTable>;
export type IncidentRow = Selectable<IncidentsTable>;
