import type { Labels } from '../domain/alert';
import { maximumMatching } from './bipartite-matching';
import type { DryRunIncident, DryRunMember } from './dry-run-engine';
import type { ExpectedIncident, ExpectedMember } from './rule-tests-kind';

/** The fields an expected incident may name, besides its alerts, as the test file spells them. */
export const INCIDENT_FIELDS = ['title', 'rule', 'group_key', 'status', 'priority', 'root_cause'] as const;
export type IncidentField = (typeof INCIDENT_FIELDS)[number];

/** One field that differs: what the test expected, what the engine gave. */
export interface FieldDiff {
  readonly field: IncidentField;
  readonly expected: string | number;
  readonly got: string | number | undefined;
}

/** How an expected incident's alerts differ from an incident's. */
export interface MemberDiff {
  /** Expected, and no alert of the incident has these labels. */
  readonly missing: readonly ExpectedMember[];
  /** In the incident, and matched by no expected entry. */
  readonly unexpected: readonly DryRunMember[];
}

/**
 * One expectation not met: an expected incident that formed differently (`got` is the closest
 * incident), one that did not form at all (no `got`), or an incident nothing expected (no
 * `expected`).
 */
export interface Mismatch {
  readonly expected?: ExpectedIncident;
  readonly got?: DryRunIncident;
  readonly fields: readonly FieldDiff[];
  readonly members?: MemberDiff;
}

const hasLabels = (want: Labels, labels: Labels): boolean =>
  Object.entries(want).every(([k, v]) => Object.hasOwn(labels, k) && labels[k] === v);

function fieldValue(got: DryRunIncident, field: IncidentField): string | number | undefined {
  switch (field) {
    case 'title': return got.title;
    case 'rule': return got.rule;
    case 'group_key': return got.groupKey;
    case 'status': return got.status;
    case 'priority': return got.priority;
    case 'root_cause': return got.rootCause;
  }
}

function expectedValue(e: ExpectedIncident, field: IncidentField): string | number | undefined {
  switch (field) {
    case 'title': return e.title;
    case 'rule': return e.rule;
    case 'group_key': return e.groupKey;
    case 'status': return e.status;
    case 'priority': return e.priority;
    case 'root_cause': return e.rootCause;
  }
}

function fieldDiffs(e: ExpectedIncident, got: DryRunIncident): FieldDiff[] {
  const out: FieldDiff[] = [];
  for (const field of INCIDENT_FIELDS) {
    const expected = expectedValue(e, field);
    if (expected !== undefined && expected !== fieldValue(got, field)) {
      out.push({ field, expected, got: fieldValue(got, field) });
    }
  }
  return out;
}

/** Pairs expected members with the incident's alerts: one alert each, as many as possible. */
export function memberDiff(expected: readonly ExpectedMember[], got: readonly DryRunMember[]): MemberDiff & {
  readonly matched: number;
} {
  const pairs = maximumMatching(expected, got, (e, g) => hasLabels(e.labels, g.labels));
  const used = new Set(pairs.filter((j) => j !== -1));
  return {
    matched: used.size,
    missing: expected.filter((_, i) => pairs[i] === -1),
    unexpected: got.filter((_, j) => !used.has(j)),
  };
}

const meets = (e: ExpectedIncident, got: DryRunIncident): boolean => {
  if (fieldDiffs(e, got).length > 0) return false;
  if (e.alerts === undefined) return true;
  const m = memberDiff(e.alerts, got.members);
  return m.missing.length === 0 && m.unexpected.length === 0;
};

/**
 * Expected incidents against the incidents formed: every expectation must meet its own
 * incident and every incident must be expected. Pure. Unmet expectations are then paired with
 * the unexpected incident closest to them (alerts in common first, then equal fields), so a
 * failure reads as "this incident, these differences" rather than one missing and one extra.
 */
export function compareIncidents(
  expected: readonly ExpectedIncident[], got: readonly DryRunIncident[],
): readonly Mismatch[] {
  const pairs = maximumMatching(expected, got, meets);
  const taken = new Set(pairs.filter((j) => j !== -1));
  let unmet = expected.filter((_, i) => pairs[i] === -1);
  let extra = got.filter((_, j) => !taken.has(j));
  const out: Mismatch[] = [];
  for (;;) {
    let best: { e: ExpectedIncident; g: DryRunIncident; score: number } | undefined;
    for (const e of unmet) {
      for (const g of extra) {
        const inCommon = e.alerts === undefined ? 0 : memberDiff(e.alerts, g.members).matched;
        const equalFields = INCIDENT_FIELDS.filter((f) => {
          const v = expectedValue(e, f);
          return v !== undefined && v === fieldValue(g, f);
        }).length;
        const score = inCommon * 100 + equalFields;
        if (score > 0 && (best === undefined || score > best.score)) best = { e, g, score };
      }
    }
    if (best === undefined) break;
    const { e, g } = best;
    const members = e.alerts ? { members: memberDiff(e.alerts, g.members) } : {};
    out.push({ expected: e, got: g, fields: fieldDiffs(e, g), ...members });
    unmet = unmet.filter((x) => x !== e);
    extra = extra.filter((x) => x !== g);
  }
  for (const e of unmet) out.push({ expected: e, fields: [] });
  for (const g of extra) out.push({ got: g, fields: [] });
  return out.sort((a, b) => (a.expected?.line ?? Infinity) - (b.expected?.line ?? Infinity));
}
