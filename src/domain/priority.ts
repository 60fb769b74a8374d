import { labelValue, type Labels } from './alert';

/** ITIL impact and urgency: how much of the business is hurt, how fast it gets worse. */
export type Level = 'high' | 'medium' | 'low';

/** P1 (critical) to P5 (planning), as in the ITIL impact x urgency matrix. */
export type Priority = 1 | 2 | 3 | 4 | 5;

export type PriorityMatrix = Readonly<Record<Level, Readonly<Record<Level, Priority>>>>;

/**
 * How an alert's priority is decided: urgency from one of its labels (by default `severity`,
 * in the words Prometheus rules use), impact from the rule that takes it, and the ITIL
 * impact x urgency matrix. Rule files may replace it (kind: PriorityMatrix).
 */
export interface PriorityPolicy {
  /** The label urgency is read from. */
  readonly label: string;
  /** Values (lower case) of that label that mean high or medium urgency; any other is low. */
  readonly high: readonly string[];
  readonly medium: readonly string[];
  readonly matrix: PriorityMatrix;
}

export const DEFAULT_PRIORITY_POLICY: PriorityPolicy = {
  label: 'severity',
  high: ['critical', 'page', 'emergency', 'alert', 'high'],
  medium: ['warning', 'error', 'major', 'medium'],
  matrix: {
    high: { high: 1, medium: 2, low: 3 },
    medium: { high: 2, medium: 3, low: 4 },
    low: { high: 3, medium: 4, low: 5 },
  },
};

export function priorityOf(impact: Level, urgency: Level, policy: PriorityPolicy = DEFAULT_PRIORITY_POLICY): Priority {
  return policy.matrix[impact][urgency];
}

/** Urgency from the alert's labels under `policy` (by default its `severity` label). */
export function urgencyOf(labels: Labels, policy: PriorityPolicy = DEFAULT_PRIORITY_POLICY): Level {
  const value = labelValue(labels, policy.label).toLowerCase();
  if (policy.high.includes(value)) return 'high';
  if (policy.medium.includes(value)) return 'medium';
  return 'low';
}

/** Impact and urgency as stored on an incident: 1 high, 2 medium, 3 low (ServiceNow's numbering). */
export const LEVELS: readonly Level[] = ['high', 'medium', 'low'];
export const levelNumber = (level: Level): 1 | 2 | 3 => (LEVELS.indexOf(level) + 1) as 1 | 2 | 3;
export const levelOfNumber = (n: number): Level | undefined => LEVELS[n - 1];
