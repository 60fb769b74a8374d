import type { z } from 'zod';
import type { SourceAlert } from '../domain/alert';

/**
 * A monitoring system's way in: `connectors/<id>/index.ts` exports `connector`, and the
 * framework serves it at `POST /ingest/<id>` with auth, size limit, validation,
 * fingerprinting, metrics and queueing. A connector only describes and maps its payload.
 */
export interface Connector<Payload = unknown> {
  /** Route and metric label: `[a-z0-9-]+`. */
  readonly id: string;
  readonly description: string;
  /** Validates a request body; its error paths name the bad field in the 400 answer. */
  readonly schema: z.ZodType<Payload>;
  /**
   * The labels that identify an alert of this source (Keep's FINGERPRINT_FIELDS).
   * @defaultValue every label
   */
  readonly fingerprintLabels?: readonly string[];
  /** Maps a valid payload to alerts. Pure: no I/O. `receivedAt` fills times the source left out. */
  normalize(payload: Payload, receivedAt: Date): readonly SourceAlert[];
  /**
   * How many alerts the source says it left out of this payload (Alertmanager's
   * `truncatedAlerts` under `max_alerts`); counted in `quell_alerts_truncated_total`.
   * @defaultValue none
   */
  truncated?(payload: Payload): number;
}

/** Typing helper for connector modules. */
export function defineConnector<Payload>(connector: Connector<Payload>): Connector<Payload> {
  return connector;
}
