/**
 * The problem lifecycle (ITIL problem management), in one place: its states and which change
 * each allows. The API and the problem stage ask here; the database's CHECK lists the states.
 *
 *   open --mark_known_error--> known_error        (root cause or workaround known, fix pending)
 *   open | known_error --resolve--> resolved      (the root cause is removed)
 *   resolved --reopen--> open                     (it came back)
 *   open | known_error | resolved --close--> closed   (done, or cancelled as a duplicate)
 *
 * An *active* problem (open or known_error) takes the new incidents of its signature; at most
 * one per signature (a partial unique index). A resolved or closed one takes none: the
 * signature recurring again opens a new problem.
 */
export const PROBLEM_STATUSES = ['open', 'known_error', 'resolved', 'closed'] as const;

export type ProblemStatus = (typeof PROBLEM_STATUSES)[number];

/** A change asked of a problem. */
export type ProblemAction = 'mark_known_error' | 'resolve' | 'reopen' | 'close';

const NEXT: Readonly<Record<ProblemAction, Partial<Readonly<Record<ProblemStatus, ProblemStatus>>>>> = {
  mark_known_error: { open: 'known_error' },
  resolve: { open: 'resolved', known_error: 'resolved' },
  reopen: { resolved: 'open' },
  close: { open: 'closed', known_error: 'closed', resolved: 'closed' },
};

/** The status `action` leads to from `status`, or undefined when the lifecycle does not allow it. */
export function nextProblemStatus(status: ProblemStatus, action: ProblemAction): ProblemStatus | undefined {
  return NEXT[action][status];
}

/** The statuses in which a problem takes new incidents of its signature. */
export const ACTIVE_PROBLEM_STATUSES: readonly ProblemStatus[] = ['open', 'known_error'];

export const isActiveProblem = (status: ProblemStatus): boolean => ACTIVE_PROBLEM_STATUSES.includes(status);
