import type { z } from 'zod';
import type { CanonicalAlert, Labels } from '../domain/alert';
import { fingerprint, identityFingerprint } from '../domain/fingerprint';
import type { SourceAcknowledgedAlert } from '../queue/ingest-queue';
import type { Connector, RequestFacts } from './connector';
import { storableAlerts, type AlertIssue } from './storable-alert';

/** What a connector made of one payload: its alerts and acknowledgements, or why it refused it. */
export type Intake<Payload = unknown> =
  | {
    readonly ok: true; readonly payload: Payload; readonly alerts: readonly CanonicalAlert[];
    readonly acknowledgements: readonly SourceAcknowledgedAlert[];
  }
  | { readonly ok: false; readonly schemaError: z.ZodError }
  | { readonly ok: false; readonly issue: AlertIssue };

/**
 * One payload through a connector, as the edge takes it: the connector's schema, normalize,
 * times the database can store (storable-alert.ts), then the source and fingerprint every
 * stage after it relies on; acknowledgements are fingerprinted as alerts are. Pure.
 * `POST /ingest/<id>` and `quell replay` both go through here, so a replayed payload becomes
 * the same alerts a live one would. `request.id` defaults to one derived from `receivedAt`
 * (replays have no job).
 */
export function intake<Payload>(
  connector: Connector<Payload>, body: unknown, receivedAt: Date, maxClockSkewSeconds: number,
  request: RequestFacts = { id: `replay-${receivedAt.getTime()}` },
): Intake<Payload> {
  const parsed = connector.schema.safeParse(body);
  if (!parsed.success) return { ok: false, schemaError: parsed.error };
  const bounds = { now: receivedAt, maxSkewSeconds: maxClockSkewSeconds };
  const storable = storableAlerts(connector.normalize(parsed.data, receivedAt, request), bounds);
  if (!storable.ok) return { ok: false, issue: storable.issue };
  const alerts = storable.alerts.map((a) => ({
    ...a, source: connector.id, fingerprint: fingerprintOf(connector, a.labels),
  }));
  const acknowledgements = (connector.acknowledge?.(parsed.data, receivedAt, request) ?? []).map((a) => ({
    fingerprint: fingerprintOf(connector, a.labels), by: a.by,
    ...(a.comment !== undefined ? { comment: a.comment } : {}),
  }));
  return { ok: true, payload: parsed.data, alerts, acknowledgements };
}

/**
 * An alert's fingerprint as its connector identifies it: the source's own key when the
 * connector's `identity` answers one, else its identifying labels. Ingest, reconciliation and
 * `quell connectors preview` all fingerprint through here.
 */
export function fingerprintOf(
  connector: Pick<Connector, 'id' | 'identity' | 'fingerprintLabels'>, labels: Labels,
): string {
  const key = connector.identity?.(labels);
  if (key !== undefined && key !== '') return identityFingerprint(connector.id, key);
  return fingerprint(connector.id, labels, connector.fingerprintLabels);
}
