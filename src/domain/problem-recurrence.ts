import { createHash } from 'node:crypto';
import { labelValue, type Labels } from './alert';
import { MAX_GROUP_KEY_BYTES } from './group-key';

/**
 * What makes incidents "the same problem" (the rule's `signature`):
 *   `group_key`          the incident's group key (the same correlation group recurring)
 *   `ci`                 its root-cause CI, else the CI its first alert is bound to
 *   `alertname_service`  its first alert's `alertname` and `service` labels
 */
export const SIGNATURE_KINDS = ['group_key', 'ci', 'alertname_service'] as const;
export type SignatureKind = (typeof SIGNATURE_KINDS)[number];

/** What a signature is computed from: what the pipeline knows of an incident that just opened or reopened. */
export interface SignatureFacts {
  readonly groupKey?: string | undefined;
  readonly ci?: string | undefined;
  /** The labels of its alerts in the deciding batch, first alert first. */
  readonly labels: readonly Labels[];
}

/**
 * The signature of an incident, e.g. `ci:"db-1"` or
 * `alertname_service:{alertname="HighErrorRate",service="checkout"}`; undefined when the
 * incident has nothing to sign with (no CI, no `service` label): it then recurs as nothing.
 * Values are JSON-quoted (a hostile label cannot forge another signature); a signature over
 * {@link MAX_GROUP_KEY_BYTES} bytes becomes `<kind>:sha256="…"` of the same text. Pure.
 */
export function signatureOf(kind: SignatureKind, facts: SignatureFacts): string | undefined {
  let text: string | undefined;
  switch (kind) {
    case 'group_key':
      text = facts.groupKey !== undefined ? `group_key:${JSON.stringify(facts.groupKey)}` : undefined;
      break;
    case 'ci':
      text = facts.ci !== undefined ? `ci:${JSON.stringify(facts.ci)}` : undefined;
      break;
    case 'alertname_service': {
      const first = facts.labels[0];
      const name = first !== undefined ? labelValue(first, 'alertname') : '';
      const service = first !== undefined ? labelValue(first, 'service') : '';
      text = name !== '' && service !== ''
        ? `alertname_service:{alertname=${JSON.stringify(name)},service=${JSON.stringify(service)}}` : undefined;
      break;
    }
  }
  if (text === undefined || Buffer.byteLength(text, 'utf8') <= MAX_GROUP_KEY_BYTES) return text;
  return `${kind}:sha256="${createHash('sha256').update(text).digest('hex')}"`;
}

/** The longest recurrence window a rule may have: occurrences are kept this long. */
export const MAX_PROBLEM_WINDOW_MS = 90 * 86_400_000;

/** A rule's recurrence threshold: at least `minIncidents` of one signature within `windowMs`. */
export interface RecurrencePolicy {
  readonly minIncidents: number;
  readonly windowMs: number;
}

/** One incident of a signature, when it opened (or reopened). */
export interface Occurrence {
  readonly incidentId: number;
  readonly at: Date;
}

/**
 * Whether a signature's occurrences recur enough to open a problem at `now`: those in the
 * window `(now - windowMs, now]`, one per incident; when at least `minIncidents`, they are the
 * incidents the new problem links. Pure: the clock is the caller's.
 */
export function recurrence(
  occurrences: readonly Occurrence[], now: Date, policy: RecurrencePolicy,
): { readonly opens: boolean; readonly incidentIds: readonly number[] } {
  const from = now.getTime() - policy.windowMs;
  const inWindow = new Set<number>();
  for (const o of occurrences) {
    const at = o.at.getTime();
    if (at > from && at <= now.getTime()) inWindow.add(o.incidentId);
  }
  const incidentIds = [...inWindow].sort((a, b) => a - b);
  return { opens: incidentIds.length >= policy.minIncidents, incidentIds };
}
