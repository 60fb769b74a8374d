import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineConnector, type PollAnswer, type PollTarget } from '../../src/connectors/connector';
import type { Labels } from '../../src/domain/alert';
import { alertSchema, GO_ZERO_YEAR, GRAFANA_ALERTS_PATH, groupFields } from '../alertmanager';
import { expectDefined } from '../../src/domain/invariant';

/**
 * Grafana unified alerting's webhook contact point (payload version "1"): Alertmanager's
 * webhook plus `orgId`, `title`, `state`, `message`, and per alert `values`, `valueString`
 * and the dashboard, panel, silence and image URLs, which become annotations.
 *
 * Identity: Grafana's own `fingerprint` of the alert (a hash of its labels) plus the org id,
 * kept as the labels `grafana_fingerprint` and `grafana_org_id`: two orgs' alerts never merge,
 * and alerts of one rule (one `alertname`) stay apart per label set.
 */
const MAX_TEXT = 4096;

const grafanaAlert = alertSchema.extend({
  fingerprint: z.string().min(1).max(128).optional(),
  orgId: z.number().int().optional(),
  silenceURL: z.string().max(MAX_TEXT).optional(),
  dashboardURL: z.string().max(MAX_TEXT).optional(),
  panelURL: z.string().max(MAX_TEXT).optional(),
  imageURL: z.string().max(MAX_TEXT).optional(),
  values: z.record(z.string().max(256), z.number().nullable()).nullable().optional(),
  valueString: z.string().max(16_384).optional(),
});

const payloadSchema = z.object({
  ...groupFields,
  version: z.string().max(16).optional(),
  orgId: z.number().int().optional(),
  title: z.string().optional(),
  state: z.string().optional(),
  message: z.string().optional(),
  alerts: z.array(grafanaAlert),
});

type GrafanaAlert = z.infer<typeof grafanaAlert>;

const iso = (text: string): string => new Date(text).toISOString();

/** Grafana's fingerprint when it sent none (older versions): a hash of the labels, as Grafana's is. */
function labelsHash(labels: Labels): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(labels).sort()) {
    hash.update(`${name}\0${expectDefined(labels[name], 'a label value')}\0`);
  }
  return hash.digest('hex').slice(0, 16);
}

/** The URLs and values Grafana sends beside an alert, as annotations (empty ones left out). */
function extras(a: GrafanaAlert): Record<string, string> {
  const out: Record<string, string> = {};
  const put = (name: string, value: string | undefined): void => { if (value) out[name] = value; };
  put('dashboard_url', a.dashboardURL);
  put('panel_url', a.panelURL);
  put('silence_url', a.silenceURL);
  put('image_url', a.imageURL);
  put('value_string', a.valueString);
  for (const [ref, v] of Object.entries(a.values ?? {})) if (v !== null) out[`value_${ref}`] = String(v);
  return out;
}

export const connector = defineConnector({
  id: 'grafana',
  description: 'Grafana unified alerting webhook contact point',
  schema: payloadSchema,
  fingerprintLabels: ['grafana_org_id', 'grafana_fingerprint'],
  // Grafana's HMAC signing (contact point "HMAC Signature"): its default header, and the
  // timestamp header name Grafana's provisioning docs use (set the same name in Grafana).
  signature: {
    header: 'X-Grafana-Alerting-Signature', timestampHeader: 'X-Grafana-Alerting-Signature-Timestamp', separator: ':',
  },
  truncated: (payload) => payload.truncatedAlerts ?? 0,
  poll: pollGrafana,
  normalize(payload, receivedAt) {
    return payload.alerts.map((a) => {
      const org = a.orgId ?? payload.orgId;
      const labels: Labels = {
        ...a.labels,
        ...(org !== undefined ? { grafana_org_id: String(org) } : {}),
        grafana_fingerprint: a.fingerprint ?? labelsHash(a.labels),
      };
      // A firing alert's endsAt is Grafana's resolve timeout (or Go's zero time): not an end.
      const ends = a.endsAt !== undefined && new Date(a.endsAt).getUTCFullYear() > GO_ZERO_YEAR ? iso(a.endsAt) : null;
      return {
        status: a.status,
        labels,
        annotations: { ...a.annotations, ...extras(a) },
        startsAt: iso(a.startsAt),
        endsAt: a.status === 'resolved' ? (ends ?? receivedAt.toISOString()) : null,
        ...(a.generatorURL ? { generatorUrl: a.generatorURL } : {}),
      };
    });
  },
});

/** An alert as Grafana's Alertmanager API lists it: its fingerprint, its org in an internal annotation. */
const apiAlerts = z.array(z.object({
  fingerprint: z.string().min(1).max(128),
  annotations: z.record(z.string(), z.string()).optional(),
}).loose());

/**
 * Reconciliation: what Grafana still fires, from its own Alertmanager's API (the service account
 * token as a bearer token), answered as the identity labels its webhook alerts carry
 * (`grafana_org_id` from the `__orgId__` annotation, `grafana_fingerprint`), so that both
 * fingerprint alike. Throws on an answer it cannot read: nothing is resolved then.
 */
async function pollGrafana(target: PollTarget): Promise<PollAnswer> {
  const query = 'active=true&silenced=true&inhibited=true&unprocessed=true';
  const headers = target.token !== undefined ? { authorization: `Bearer ${target.token}` } : undefined;
  const body = await target.fetchJson(`${target.url}${GRAFANA_ALERTS_PATH}?${query}`, headers ? { headers } : {});
  const parsed = apiAlerts.safeParse(body);
  if (!parsed.success) {
    throw new Error(`${GRAFANA_ALERTS_PATH}: not a Grafana alert list: ${parsed.error.issues[0]?.message ?? ''}`);
  }
  return {
    firing: parsed.data.map((a) => {
      const org = a.annotations?.['__orgId__'];
      const labels: Labels = { grafana_fingerprint: a.fingerprint };
      return { labels: org !== undefined && org !== '' ? { ...labels, grafana_org_id: org } : labels };
    }),
  };
}
