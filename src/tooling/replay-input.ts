import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { RecordedPayload } from './recorded-payload';

/** A line of the recording that is not `{"offsetMs": <number >= 0>, "payload": {...}}`. */
export interface UnreadableLine {
  readonly line: number;
  readonly reason: string;
}

/**
 * One line of a recording: `{"offsetMs": 1500, "payload": {...}}`, the webhook payload as
 * Alertmanager sent it and when, in ms after the recording began. Blank lines give undefined.
 */
export function parseReplayLine(text: string, line: number): RecordedPayload | UnreadableLine | undefined {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { line, reason: `not JSON: ${(err as Error).message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { line, reason: 'expected an object {"offsetMs":…,"payload":{…}}' };
  }
  const { offsetMs, payload } = value as { offsetMs?: unknown; payload?: unknown };
  if (typeof offsetMs !== 'number' || !Number.isFinite(offsetMs) || offsetMs < 0) {
    return { line, reason: 'offsetMs: expected a number of milliseconds, 0 or more' };
  }
  if (payload === null || typeof payload !== 'object') {
    return { line, reason: 'payload: expected the webhook payload' };
  }
  return { offsetMs, payload, line };
}

export const isUnreadable = (r: RecordedPayload | UnreadableLine): r is UnreadableLine => 'reason' in r;

/** Every line of a JSONL recording, read as a stream (recordings run to hundreds of megabytes). */
export async function readRecording(
  path: string,
): Promise<{ payloads: RecordedPayload[]; unreadable: UnreadableLine[] }> {
  const payloads: RecordedPayload[] = [];
  const unreadable: UnreadableLine[] = [];
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    const parsed = parseReplayLine(text, ++n);
    if (parsed === undefined) continue;
    if (isUnreadable(parsed)) unreadable.push(parsed);
    else payloads.push(parsed);
  }
  return { payloads, unreadable };
}

/** Go's zero time (Alertmanager's "no end") and anything else before 1970 is no time. */
const EPOCH = 0;

/**
 * The time the recording began, from its alerts: the earliest start at which no payload
 * carries an alert time (startsAt, endsAt) later than its own receipt, `start + offsetMs`.
 * A source sends what already happened, so this is when the recording began at the latest.
 * Undefined when no payload has a time. Pure.
 */
export function inferStart(payloads: readonly RecordedPayload[]): number | undefined {
  let start: number | undefined;
  for (const r of payloads) {
    const alerts = (r.payload as { alerts?: unknown }).alerts;
    if (!Array.isArray(alerts)) continue;
    for (const a of alerts) {
      for (const field of ['startsAt', 'endsAt']) {
        const text = (a as Record<string, unknown> | null)?.[field];
        const t = typeof text === 'string' ? Date.parse(text) : NaN;
        if (Number.isFinite(t) && t > EPOCH) start = Math.max(start ?? -Infinity, t - r.offsetMs);
      }
    }
  }
  return start;
}
