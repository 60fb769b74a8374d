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

/**
 * The identity of an alert whose source names it itself (a connector's `identity` hook): a
 * Zabbix problem event id, a Datadog alert cycle key, Nagios's `host!service`. Used instead of
 * the labels, so that an alert keeps its identity when its labels change (a Zabbix trigger's
 * name edited mid-problem, a Datadog title with the current value in it). Never the same as a
 * label fingerprint of the same source: the key is hashed under its own prefix.
 */
export function identityFingerprint(source: string, key: string): string {
  return createHash('sha256').update(source).update(`\0identity\0${key.length}:${key}`).digest('hex').slice(0, 32);
}
