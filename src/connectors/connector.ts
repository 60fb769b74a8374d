import type { z } from 'zod';
import type { Labels, SourceAlert } from '../domain/alert';

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
  /**
   * The source's own identity of an alert (Zabbix problem event id, Datadog alert cycle key,
   * Nagios `host!service`), read from its normalized labels; when it answers a key, the
   * fingerprint is that key's ({@link identityFingerprint}) instead of the labels'. A resolve must
   * answer the same key as its firing. Undefined or empty: the labels decide, as without the hook.
   * Pure. @defaultValue none: the labels (fingerprintLabels)
   */
  identity?(labels: Labels): string | undefined;
  /**
   * Reconciliation (src/worker/reconcile.ts): asks the source which alerts it still fires.
   * The framework fingerprints the answer as it fingerprints ingested alerts (labels, identity)
   * and resolves what Quell holds firing from this connector that the source no longer lists.
   * Throws when the source cannot say (unreachable, an answer it cannot read): nothing is resolved.
   * @defaultValue none: the connector is not reconciled
   */
  poll?(target: PollTarget): Promise<PollAnswer>;
  /**
   * Further `POST` paths the connector is served at, for senders whose path is fixed (Prometheus
   * posts to `<alertmanager>/api/v2/alerts`). @defaultValue only `/ingest/<id>`
   */
  readonly paths?: readonly string[];
}

/** Where a connector polls its source, from settings (QUELL_RECONCILE_* in README). */
export interface PollTarget {
  /** The source's API base URL, e.g. `http://alertmanager:9093`. */
  readonly url: string;
  /** Secret: its API token, if it wants one (sent as the source expects). */
  readonly token?: string;
  /** GETs or POSTs JSON with the framework's timeout and size limit; throws on a non-2xx. */
  fetchJson(url: string, init?: PollRequest): Promise<unknown>;
}

export interface PollRequest {
  /** @defaultValue GET */
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as JSON. */
  readonly body?: unknown;
}

/** What the source still fires: each as the labels its connector would have normalized it to. */
export interface PollAnswer {
  readonly firing: readonly { readonly labels: Labels }[];
}

/** Typing helper for connector modules. */
export function defineConnector<Payload>(connector: Connector<Payload>): Connector<Payload> {
  return connector;
}
