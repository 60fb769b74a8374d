import { labelValue, type Labels } from '../domain/alert';
import { occurrenceAt, type CronSchedule, type Occurrence } from '../domain/cron-schedule';
import { MatcherIndex } from '../domain/matcher-index';
import type { Matcher } from '../domain/matchers';

/**
 * The CI an alert is about, for windows scoped by `cis`: the suppress stage gives the CMDB's
 * binding (`QUELL_CMDB_BIND_LABELS`: `ci`, `instance` without its port, ...), else the
 * alert's `ci` label as written (so windows scoped by CI work before any CMDB is loaded).
 */
export type CiOf = (labels: Labels) => string;

/** The label that names a CI when the CMDB binds none. */
export const CI_LABEL = 'ci';

export const ciLabelOf: CiOf = (labels) => labelValue(labels, CI_LABEL);

/** A maintenance window ready to evaluate. */
export interface MaintenanceWindow {
  readonly name: string;
  readonly schedule: CronSchedule;
  readonly durationMs: number;
  /** IANA time zone the schedule's wall times are read in. */
  readonly timeZone: string;
  readonly matchers: readonly Matcher[];
  /** CI ids the window covers; empty: any alert its matchers take. */
  readonly cis: ReadonlySet<string>;
  /** `file:line` it was defined at. */
  readonly origin: string;
}

/** A window that is on, and the occurrence that makes it so. */
export interface ActiveWindow {
  readonly window: MaintenanceWindow;
  readonly occurrence: Occurrence;
}

const MINUTE_MS = 60_000;

/**
 * The maintenance windows in force, in file-name order then file order, indexed by label
 * equality. Whether a window is on is computed once per window per minute (a schedule starts on
 * whole minutes, so the latest start before a minute's first instant is the latest before any
 * instant of it), not once per alert.
 */
export class MaintenanceSchedule {
  private readonly index: MatcherIndex<MaintenanceWindow>;
  private readonly memo = new Map<MaintenanceWindow, { minute: number; occurrence: Occurrence | undefined }>();

  constructor(readonly windows: readonly MaintenanceWindow[]) {
    this.index = new MatcherIndex(windows);
  }

  /** The first window, in order, that is on at `now` and covers an alert with these labels. */
  windowFor(labels: Labels, now: Date, ciOf: CiOf = ciLabelOf): ActiveWindow | undefined {
    if (this.windows.length === 0) return undefined;
    const at = now.getTime();
    let ci: string | undefined;
    for (const window of this.index.matching(labels)) {
      if (window.cis.size > 0 && !window.cis.has(ci ??= ciOf(labels))) continue;
      const occurrence = this.occurrence(window, at);
      if (occurrence !== undefined && at >= occurrence.start && at < occurrence.end) return { window, occurrence };
    }
    return undefined;
  }

  private occurrence(w: MaintenanceWindow, at: number): Occurrence | undefined {
    const minute = Math.floor(at / MINUTE_MS);
    const known = this.memo.get(w);
    if (known !== undefined && known.minute === minute) return known.occurrence;
    const occurrence = occurrenceAt(w.schedule, w.timeZone, w.durationMs, minute * MINUTE_MS);
    this.memo.set(w, { minute, occurrence });
    return occurrence;
  }
}
