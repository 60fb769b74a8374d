import type { z } from 'zod';
import type { CanonicalAlert } from '../domain/alert';
import { fingerprint } from '../domain/fingerprint';
import type { Connector } from './connector';
import { storableAlerts, type AlertIssue } from './storable-alert';

/** What a connector made of one payload: its alerts, or why it refused it. */
export type Intake<Payload = unknown> =
  | { readonly ok: true; readonly payload: Payload; readonly alerts: readonly CanonicalAlert[] }
  | { readonly ok: false; readonly schemaError: z.ZodError }
  | { readonly ok: false; readonly issue: AlertIssue };

/**
 * One payload through a connector, as the edge takes it: the connector's schema, normalize,
 * times the database can store (storable-alert.ts), then the source and fingerprint every
 * stage after it relies on. Pure. `POST /ingest/<id>` and `quell replay` both go through here,
 * so a replayed payload becomes the same alerts a live one would.
 */
export function intake<Payload>(
  connector: Connector<Payload>, body: unknown, receivedAt: Date, maxClockSkewSeconds: number,
): Intake<Payload> {
  const parsed = connector.schema.safeParse(body);
  if (!parsed.success) return { ok: false, schemaError: parsed.error };
  const bounds = { now: receivedAt, maxSkewSeconds: maxClockSkewSeconds };
  const storable = storableAlerts(connector.normalize(parsed.data, receivedAt), bounds);
  if (!storable.ok) return { ok: false, issue: storable.issue };
  const alerts = storable.alerts.map((a) => ({
    ...a,
    source: connector.id,
    fingerprint: fingerprint(connector.id, a.labels, connector.fingerprintLabels),
  }));
  return { ok: true, payload: parsed.data, alerts };
}
