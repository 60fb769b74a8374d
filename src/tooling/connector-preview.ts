import { readFileSync } from 'node:fs';
import type { CanonicalAlert, Labels } from '../domain/alert';
import type { Connector } from '../connectors/connector';
import { intake } from '../connectors/connector-intake';
import type { LintOutput } from '../rules/rules-lint';

export interface PreviewOptions {
  readonly json: boolean;
  /** Quell's clock for the payloads (times they leave out, the skew bound). @defaultValue now */
  readonly now?: Date;
  readonly maxClockSkewSeconds: number;
}

/** One normalized alert as the preview prints it, with what its fingerprint rests on. */
interface PreviewedAlert extends CanonicalAlert {
  readonly file: string;
  /** `identity <key>` (the source's own key) or `labels <names>`. */
  readonly identifiedBy: string;
}

/**
 * `quell connectors preview <id> <payload.json...>`: each payload through the connector as
 * `POST /ingest/<id>` would take it (the same intake: schema, normalize, storable times,
 * fingerprint), printed without any server, database or queue. Across the payloads, alerts
 * that share a fingerprint with other labels are listed: what such a fingerprint would merge
 * (and what quell_fingerprint_label_changes_total would count). Returns the exit code: 1 if
 * a payload is refused (the field is named) or the connector is unknown.
 */
export function previewConnector(
  connectors: readonly Connector[], id: string, files: readonly string[], out: LintOutput, opts: PreviewOptions,
): number {
  const connector = connectors.find((c) => c.id === id);
  if (connector === undefined) {
    out.err(`unknown connector '${id}'; connectors: ${connectors.map((c) => c.id).join(', ')}`);
    return 1;
  }
  const now = opts.now ?? new Date();
  const alerts: PreviewedAlert[] = [];
  let refused = 0;
  for (const file of files) {
    let body: unknown;
    try {
      body = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      out.err(`${file}: ${(err as Error).message}`);
      refused++;
      continue;
    }
    const taken = intake(connector, body, now, opts.maxClockSkewSeconds);
    if (!taken.ok) {
      const issues = 'schemaError' in taken
        ? taken.schemaError.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`)
        : [`${taken.issue.field}: ${taken.issue.message}`];
      for (const issue of issues) out.err(`${file}: refused (400): ${issue}`);
      refused++;
      continue;
    }
    for (const a of taken.alerts) alerts.push({ ...a, file, identifiedBy: identifiedBy(connector, a.labels) });
  }
  const merged = mergedFingerprints(alerts);
  if (opts.json) {
    out.out(JSON.stringify({ connector: id, alerts, fingerprints_with_changing_labels: merged }, null, 2));
  } else {
    for (const a of alerts) {
      out.out(`${a.file}: ${a.status} ${a.fingerprint} (${a.identifiedBy})`);
      out.out(`  labels      ${pairs(a.labels)}`);
      if (Object.keys(a.annotations).length > 0) out.out(`  annotations ${pairs(a.annotations)}`);
      const ends = a.endsAt !== null ? `  ends ${a.endsAt}` : '';
      out.out(`  starts ${a.startsAt}${ends}${a.expiresAt !== undefined ? `  expires ${a.expiresAt}` : ''}`);
    }
    const fingerprints = new Set(alerts.map((a) => a.fingerprint)).size;
    out.out(`${alerts.length} alert(s), ${fingerprints} fingerprint(s), ${refused} payload(s) refused`);
    for (const [fp, labelSets] of Object.entries(merged)) {
      out.out(`fingerprint ${fp} holds ${labelSets.length} label sets `
        + '(one alert whose labels change, or different alerts merged):');
      for (const labels of labelSets) out.out(`  ${pairs(labels)}`);
    }
  }
  return refused > 0 ? 1 : 0;
}

function identifiedBy(connector: Connector, labels: Labels): string {
  const key = connector.identity?.(labels);
  if (key !== undefined && key !== '') return `identity ${JSON.stringify(key)}`;
  const names = connector.fingerprintLabels?.filter((n) => Object.hasOwn(labels, n)) ?? [];
  return names.some((n) => n !== 'alertname') ? `labels ${names.join(',')}` : 'all labels';
}

/** Fingerprints that more than one label set shares, with those label sets. */
function mergedFingerprints(alerts: readonly PreviewedAlert[]): Record<string, Labels[]> {
  const sets = new Map<string, Map<string, Labels>>();
  for (const a of alerts) {
    const key = JSON.stringify(Object.entries(a.labels).sort(([x], [y]) => (x < y ? -1 : 1)));
    const seen = sets.get(a.fingerprint) ?? new Map<string, Labels>();
    seen.set(key, a.labels);
    sets.set(a.fingerprint, seen);
  }
  return Object.fromEntries([...sets].filter(([, s]) => s.size > 1).map(([fp, s]) => [fp, [...s.values()]]));
}

const pairs = (labels: Labels): string => Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
