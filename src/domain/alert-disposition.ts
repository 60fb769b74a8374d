/**
 * What became of a fingerprint's latest episode: why it has an incident, or why it has none.
 * Every alert a stage takes ends with one, written on its `alerts` row in the transaction that
 * decided it, by the stage that decided it; `GET /api/v1/alerts` shows it with its detail. A new
 * episode starts with none (dedup), and so does a held alert taken up again.
 *
 * - `incident`: it joined an incident (incident stage); detail `incident_id`. Not written on the
 *   row (the stage writes only the episode's incident_alerts link): read from the link
 *   (src/store/alert-queries.ts), what most alerts become costs no second write
 * - `silenced`: an API silence matched it (suppress); detail `silenced_by` (silence ids), `ends_at`
 * - `maintenance`: a maintenance window of `rules/` was on (suppress); detail `window`, `origin`,
 *   `starts_at`, `ends_at`, `time_zone`
 * - `inhibited`: a firing alert inhibits it (suppress); detail `inhibited_by` (fingerprint), `rule`
 * - `flapping`: it changes state too often (reserved for the flapping stage)
 * - `uncorrelated`: no correlation rule takes it (correlate); detail `reason`, `rules_version`
 * - `stale`: a firing arrived that is older than what is known (out of order), and was ignored
 *   (dedup); detail `starts_at` of that firing, `known_ends_at`, `received_at`, and `previous`
 *   (the disposition it replaced)
 * - `resolved`: it was first seen resolved (its firing never reached Quell), nothing to open (dedup)
 * - `reconciled`: Quell resolved it because its source no longer fires it, though no resolve came
 *   (src/worker/reconcile.ts); detail `reason`, `source`, `missing_since`, `incident_id` (if any)
 * - `expired`: Quell resolved it because its source stopped re-sending it past its `expiresAt`
 *   (src/worker/alert-expiry.ts, as Alertmanager does); detail `reason`, `expires_at`, `incident_id`
 *
 * `stale`, `reconciled` and `expired` are shown even when the episode has an incident (the
 * detail names it): they say why it ended, which matters more than where it went.
 *
 * Silenced, maintenance and inhibited alerts are held, not dropped: while still firing, each is
 * taken up again when what held it ends (src/worker/suppression-release.ts).
 */
export const ALERT_DISPOSITIONS = [
  'incident', 'silenced', 'maintenance', 'inhibited', 'flapping', 'uncorrelated', 'stale', 'resolved',
  'reconciled', 'expired',
] as const;

export type AlertDisposition = (typeof ALERT_DISPOSITIONS)[number];

/** The dispositions of alerts held back by suppression, and the reason label of `quell_alerts_suppressed_total`. */
export const SUPPRESSIONS = ['silenced', 'maintenance', 'inhibited'] as const;

export type Suppression = (typeof SUPPRESSIONS)[number];

/** A disposition decided for one fingerprint, as a stage writes it. */
export interface DispositionDecision {
  readonly fingerprint: string;
  readonly disposition: AlertDisposition;
  readonly detail: Readonly<Record<string, unknown>>;
  /**
   * When a suppressed alert still firing is to be taken up again: a silence's or window's end,
   * or `infinity` (an inhibited alert: when no source fires any more).
   */
  readonly releaseAt?: string;
}
