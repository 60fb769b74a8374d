import type { Kysely } from 'kysely';
import type { ReportPeriod } from '../domain/report-period';
import type { Database } from '../store/database';

/** A cell of a report: CSV writes null as an empty field. */
export type ReportValue = string | number | null;
export type ReportRow = Readonly<Record<string, ReportValue>>;

export interface ReportColumn {
  readonly name: string;
  readonly description: string;
}

/**
 * One SLA compliance figure: of the incidents whose clock (`tta` or `ttr`) stopped in the
 * period, how many met the priority's target. (Rows are type aliases, not interfaces: a
 * ReportRow needs an index signature.)
 */
export type SlaComplianceRow = {
  readonly priority: number;
  readonly measure: 'tta' | 'ttr';
  readonly target_seconds: number;
  readonly incidents: number;
  readonly met: number;
  readonly breached: number;
  /** met / incidents, in percent (2 decimals); null when no incident. */
  readonly compliance_percent: number | null;
};

/** A recurring problem and how many incidents it gathered in the period. */
export type TopProblemRow = {
  readonly problem_id: number;
  readonly title: string;
  readonly status: string;
  readonly incidents: number;
};

/** Targets in seconds per priority (1-5), for computing SLA compliance from stored timestamps. */
export type SlaTargets = Readonly<Record<number, { readonly ttaSeconds?: number; readonly ttrSeconds?: number }>>;

/** What reports read: the database, and sources other modules plug in. */
export interface ReportContext {
  readonly db: Kysely<Database>;
  /**
   * SLA compliance from the service-level module (which knows paused clocks). @defaultValue
   * none: computed from stored timestamps with `slaTargets` (no pauses), or no rows
   */
  readonly slaCompliance?: (period: ReportPeriod) => Promise<readonly SlaComplianceRow[]>;
  /** Service-level targets, when `slaCompliance` is not given. @defaultValue none */
  readonly slaTargets?: () => SlaTargets;
  /** The most recurring problems of the period, most incidents first. @defaultValue none: no rows */
  readonly topProblems?: (period: ReportPeriod) => Promise<readonly TopProblemRow[]>;
}

/**
 * A KPI report: `GET /api/v1/reports/<name>?from=&to=`. Its rows have exactly its columns, in
 * order (CSV writes them so). A new report is one file in src/reports/kinds/ and one line in
 * report-registry.ts.
 */
export interface Report {
  readonly name: string;
  readonly description: string;
  readonly columns: readonly ReportColumn[];
  run(ctx: ReportContext, period: ReportPeriod): Promise<readonly ReportRow[]>;
}

/** Rounds a figure to `digits` decimals (reports show means and ratios so). */
export const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** ITIL priorities, 1 (critical) to 5: reports by priority have a row for each. */
export const PRIORITIES = [1, 2, 3, 4, 5] as const;
