import { createHash } from 'node:crypto';
import type { Labels } from './alert';

/**
 * The identity of an alert: a hash of its source and its identifying labels.
 *
 * `identifying` names the labels that identify an alert for a source (Keep's
 * FINGERPRINT_FIELDS); by default every label does, as in Alertmanager. A fingerprint
 * never rests on the alert name alone (Keep's issue 4766: every host's "DiskFull" became
 * one alert): when the identifying labels present are only `alertname`, all labels are used.
 */
export function fingerprint(source: string, labels: Labels, identifying?: readonly string[]): string {
  let names = Object.keys(labels);
  if (identifying !== undefined) {
    const chosen = identifying.filter((name) => Object.hasOwn(labels, name));
    if (chosen.some((name) => name !== 'alertname')) names = chosen;
  }
  names.sort();
  const hash = createHash('sha256');
  hash.update(source);
  for (const name of names) {
    // Length-prefixed so that no two label sets serialise alike.
    const value = labels[name] as string;
    hash.update(`\0${name.length}:${name}\0${value.length}:${value}`);
  }
  return hash.digest('hex').slice(0, 32);
}
