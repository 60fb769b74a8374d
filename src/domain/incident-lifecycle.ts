/**
 * The incident lifecycle, in one place: its states and which change each allows. The
 * database's CHECK constraint lists the same states; the API and the stages ask here.
 *
 *   open --acknowledge--> acknowledged
 *   open | acknowledged --resolve--> resolved   (by hand, or when its last alert resolves)
 *   resolved --reopen--> open                   (Quell, when its group fires again within the
 *                                                rule's `reopen_within` of an automatic resolve)
 */
export const INCIDENT_STATUSES = ['open', 'acknowledged', 'resolved'] as const;

export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** A change asked of an incident. */
export type IncidentAction = 'acknowledge' | 'resolve' | 'reopen';

const NEXT: Readonly<Record<IncidentAction, Partial<Readonly<Record<IncidentStatus, IncidentStatus>>>>> = {
  acknowledge: { open: 'acknowledged' },
  resolve: { open: 'resolved', acknowledged: 'resolved' },
  reopen: { resolved: 'open' },
};

/** The status `action` leads to from `status`, or undefined when the lifecycle does not allow it. */
export function nextStatus(status: IncidentStatus, action: IncidentAction): IncidentStatus | undefined {
  return NEXT[action][status];
}

/** Whether an incident in `status` still counts as open work (not resolved). */
export const isActive = (status: IncidentStatus): boolean => status !== 'resolved';
