import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';
import type { CanonicalAlert, Labels, SourceAlert } from '../domain/alert';
import type { HmacScheme } from './hmac-signature';

/**
 * A monitoring system's way in: `connectors/<id>/index.ts` exports `connector`, and the
 * framework serves it at `POST /ingest/<id>` with auth, size limit, validation,
 * fingerprinting, metrics and queueing. A connector describes and maps its payload; the
 * optional hooks below give it what real sources need (signatures, their own answers,
 * acknowledgements, settings), each called by the framework at one point of a request:
 *
 *   credentials (bearer/basic, before the body is read) -> body -> HMAC (`signature`)
 *   -> `authenticate` -> schema -> `normalize` + `acknowledge` -> queue -> `respond`
 */
export interface Connector<Payload = unknown, Settings = unknown> {
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
  /**
   * Maps a valid payload to alerts. Pure: no I/O. `receivedAt` fills times the source left out;
   * `request.id` is the request's job id (the same for every resend with one `Idempotency-Key`),
   * `request.settings` the connector's settings;
   * for a source whose alerts need an identity made up on receipt (PagerDuty's `dedup_key`);
   * the framework always passes it (optional for tests calling normalize directly).
   */
  normalize(payload: Payload, receivedAt: Date, request?: RequestFacts<Settings>): readonly SourceAlert[];
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
  /**
   * The connector's own settings, validated at start from `QUELL_CONNECTOR_<ID>_<KEY>`
   * environment variables or the config file's `connectors.<id>` section (keys lower-cased).
   * The framework's keys (`token`, `tokens`, `hmac_*`) are read first and never reach it.
   * Use a strict object: an unknown key is a typo that stops start-up.
   * @defaultValue none: any key besides the framework's is refused
   */
  readonly settings?: z.ZodType<Settings>;
  /**
   * The HMAC-SHA256 body signature this source sends once `hmac_secret` is set (headers and
   * what is signed); the `hmac_*` settings override it. @defaultValue {@link DEFAULT_HMAC_SCHEME}
   */
  readonly signature?: Partial<HmacScheme>;
  /**
   * Checks a request over its raw body and headers, after the body is read and before its
   * schema: a source's own signature (SNS), a key in the body (PagerDuty's `routing_key`).
   * Answers `{ ok: true }` to vouch for the request (then no bearer token is needed),
   * `{ ok: false }` to refuse it (401, naming the field or header), or undefined for no
   * opinion (the bearer token or HMAC signature decides). May do I/O (fetch a certificate).
   * A request without credentials reaches the body only for connectors with this hook.
   */
  authenticate?(request: SignedRequest, settings: Settings): AuthVerdict | undefined | Promise<AuthVerdict | undefined>;
  /**
   * The alerts a payload says were acknowledged at the source (PagerDuty's `acknowledge`):
   * each names an alert by its labels (fingerprinted as its alerts are) and travels in the
   * request's queue job; the worker acknowledges the open incident holding that alert,
   * through the one path for incident events. Pure. @defaultValue none
   */
  acknowledge?(payload: Payload, receivedAt: Date, request?: RequestFacts<Settings>): readonly SourceAcknowledgement[];
  /**
   * The connector's own answer once the request is accepted (its job durably queued, if it had
   * alerts or acknowledgements): PagerDuty's `{status, message, dedup_key}`, the SNS
   * subscription handshake (which may do I/O, e.g. confirm the subscription); undefined for
   * the default. Throwing VerificationUnavailableError answers 503 (the source retries).
   * @defaultValue `202 {"status":"queued","job_id","alerts"}`
   */
  respond?(accepted: Accepted<Payload>, settings: Settings):
    ConnectorAnswer | undefined | Promise<ConnectorAnswer | undefined>;
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

/** What the framework knows of a request when a connector maps it. */
export interface RequestFacts<Settings = unknown> {
  /** The request's queue job id. */
  readonly id: string;
  /** The connector's settings; undefined where none were read (replays, tools). */
  readonly settings?: Settings;
}

/** A request as `authenticate` sees it. */
export interface SignedRequest {
  /** The body's bytes as received (after Content-Encoding was undone). */
  readonly rawBody: Buffer;
  readonly headers: IncomingHttpHeaders;
  /** The parsed JSON, not yet validated by the schema. */
  readonly body: unknown;
  /** Whether a valid bearer/basic token or HMAC signature already authenticated it. */
  readonly authenticated: boolean;
  /** Quell's clock for this request. */
  readonly now: Date;
}

/** `authenticate`'s answer: vouched for (by `sender`), or refused with why. */
export type AuthVerdict =
  | { readonly ok: true; readonly sender?: string }
  | { readonly ok: false; readonly message: string; readonly field?: string };

/** A source's word that one of its alerts was acknowledged. */
export interface SourceAcknowledgement {
  /** The alert's labels, at least those that identify it (see `fingerprintLabels`). */
  readonly labels: Labels;
  /** Who acknowledged it at the source, for the timeline. */
  readonly by: string;
  readonly comment?: string;
}

/** An accepted request, for `respond`. */
export interface Accepted<Payload> {
  readonly payload: Payload;
  readonly alerts: readonly CanonicalAlert[];
  readonly acknowledgements: number;
  /** The queue job's id; null when nothing was queued (no alerts, no acknowledgements). */
  readonly jobId: string | null;
}

/** An HTTP answer: status and JSON body. */
export interface ConnectorAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** Typing helper for connector modules. */
export function defineConnector<Payload, Settings = unknown>(
  connector: Connector<Payload, Settings>,
): Connector<Payload, Settings> {
  return connector;
}
