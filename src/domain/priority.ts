import type { Labels } from './alert';

/** ITIL impact and urgency: how much of the business is hurt, how fast it gets worse. */
export type Level = 'high' | 'medium' | 'low';

/** P1 (critical) to P5 (planning), as in the ITIL impact x urgency matrix. */
export type Priority = 1 | 2 | 3 | 4 | 5;

const MATRIX: Readonly<Record<Level, Readonly<Record<Level, Priority>>>> = {
  high: { high: 1, medium: 2, low: 3 },
  medium: { high: 2, medium: 3, low: 4 },
  low: { high: 3, medium: 4, low: 5 },
};

export function priorityOf(impact: Level, urgency: Level): Priority {
  return MATRIX[impact][urgency];
}

/** Urgency from the alert's `severity` label, in the words Prometheus rules use. */
export function urgencyOf(labels: Labels): Level {
  switch ((labels['severity'] ?? '').toLowerCase()) {
    case 'critical': case 'page': case 'emergency': case 'alert': case 'high':
      return 'high';
    case 'warning': case 'error': case 'major': case 'medium':
      return 'medium';
    default:
      return 'low';
  }
}
