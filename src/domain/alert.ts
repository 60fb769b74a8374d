/** An alert's label set or annotation set: names to values. Alert labels are hostile input. */
export type Labels = Readonly<Record<string, string>>;

export type AlertStatus = 'firing' | 'resolved';

/**
 * A label's value, `""` when the alert has no such label (as in Alertmanager). Only own
 * properties count: `labels.constructor` of an alert without a `constructor` label is `""`,
 * not Object's constructor.
 */
export function labelValue(labels: Labels, name: string): string {
  return Object.hasOwn(labels, name) ? (labels[name] as string) : '';
}

/**
 * What a connector makes of one alert in a source's payload, before the framework adds
 * its source and fingerprint. Times are ISO 8601 strings: they travel through the queue as JSON.
 */
export interface SourceAlert {
  readonly status: AlertStatus;
  readonly labels: Labels;
  readonly annotations: Labels;
  /** When the condition began (the source's clock). */
  readonly startsAt: string;
  /** When it ended; null while firing. */
  readonly endsAt: string | null;
  readonly generatorUrl?: string;
  /**
   * For a firing alert whose source re-sends it while it fires (Prometheus posting straight to
   * Quell): not re-sent by then, it resolves (src/worker/alert-expiry.ts). @defaultValue never
   */
  readonly expiresAt?: string;
}

/** The one alert shape every stage after the connector sees. */
export interface CanonicalAlert extends SourceAlert {
  /** The connector id it came through, e.g. `alertmanager`. */
  readonly source: string;
  /** Identity across re-sends: see {@link fingerprint}. */
  readonly fingerprint: string;
}
