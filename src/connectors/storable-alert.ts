import type { SourceAlert } from '../domain/alert';
import { itemAt } from '../domain/invariant';

/** Earliest time Quell stores (UTC): an alert from before 1970 is a zero value or a broken clock. */
export const EARLIEST_TIME = Date.UTC(1970, 0, 1);
/** First time Quell does not store (UTC): PostgreSQL and ISO 8601 text both want four-digit years. */
export const END_OF_TIME = Date.UTC(10000, 0, 1);

export interface TimeBounds {
  /** Quell's clock when the request came in. */
  readonly now: Date;
  /** How far a source's clock may run ahead of Quell's (QUELL_MAX_CLOCK_SKEW_SECONDS). */
  readonly maxSkewSeconds: number;
}

/** What makes a normalized alert unstorable: the field, e.g. `alerts[3].startsAt`, and why. */
export interface AlertIssue {
  readonly field: string;
  readonly message: string;
}

export type StorableAlerts =
  | { readonly ok: true; readonly alerts: readonly SourceAlert[] }
  | { readonly ok: false; readonly issue: AlertIssue };

/**
 * The framework's check of every connector's normalized alerts, so that what ingest accepts the
 * database stores: a schema that accepts any RFC 3339 text still lets through times PostgreSQL
 * refuses (year 0, or 10000 once an offset is applied) and times that hold an incident open for
 * ever (a start in 9999 is never overtaken by a resolve). Each time must lie between 1970 and
 * 9999 (UTC) and no further ahead of Quell's clock than the allowed skew; it is then written
 * in one form, `toISOString()`, which PostgreSQL reads as it is meant.
 *
 * Fields are named by the alert's place in the connector's output (`alerts[i].startsAt`),
 * which is the payload's own field for sources that send a list of alerts, as Alertmanager does.
 */
export function storableAlerts(alerts: readonly SourceAlert[], bounds: TimeBounds): StorableAlerts {
  const latest = bounds.now.getTime() + bounds.maxSkewSeconds * 1000;
  const out: SourceAlert[] = [];
  for (let i = 0; i < alerts.length; i++) {
    const alert = itemAt(alerts, i, 'storableAlerts');
    const startsAt = storableTime(alert.startsAt, latest, bounds.maxSkewSeconds);
    if (typeof startsAt !== 'number') return refused(`alerts[${i}].startsAt`, startsAt.why);
    const endsAt = alert.endsAt === null ? null : storableTime(alert.endsAt, latest, bounds.maxSkewSeconds);
    if (endsAt !== null && typeof endsAt !== 'number') return refused(`alerts[${i}].endsAt`, endsAt.why);
    // An expiry lies ahead by design (now + 4 resend intervals): no skew bound, only storable.
    const expiresAt = alert.expiresAt === undefined ? undefined
      : storableTime(alert.expiresAt, Infinity, bounds.maxSkewSeconds);
    if (expiresAt !== undefined && typeof expiresAt !== 'number') {
      return refused(`alerts[${i}].expiresAt`, expiresAt.why);
    }
    out.push({
      ...alert, startsAt: iso(startsAt), endsAt: endsAt === null ? null : iso(endsAt),
      ...(expiresAt !== undefined ? { expiresAt: iso(expiresAt) } : {}),
    });
  }
  return { ok: true, alerts: out };
}

const refused = (field: string, message: string): StorableAlerts => ({ ok: false, issue: { field, message } });
const iso = (ms: number): string => new Date(ms).toISOString();

/** The time in ms since the epoch, or why it cannot be stored. */
function storableTime(text: string, latest: number, maxSkewSeconds: number): number | { readonly why: string } {
  const t = Date.parse(text);
  if (!Number.isFinite(t)) return { why: `${quote(text)} is not a time` };
  if (t < EARLIEST_TIME || t >= END_OF_TIME) return { why: `${quote(text)} is outside the years 1970 to 9999 (UTC)` };
  if (t > latest) {
    const setting = 'QUELL_MAX_CLOCK_SKEW_SECONDS';
    return { why: `${quote(text)} is more than ${maxSkewSeconds} s ahead of Quell's clock (${setting})` };
  }
  return t;
}

const quote = (text: string): string => JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
