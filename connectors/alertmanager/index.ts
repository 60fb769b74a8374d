import { z } from 'zod';
import { defineConnector, type PollAnswer, type PollTarget } from '../../src/connectors/connector';
import { labelSet } from '../../src/connectors/label-set';

/**
 * Prometheus Alertmanager's webhook receiver, payload version 4
 * (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
 * Point a `webhook_configs` URL at `/ingest/alertmanager` with `send_resolved: true` and a
 * bearer token in `http_config.authorization`.
 */
const timestamp = z.iso.datetime({ offset: true, error: 'expected an RFC 3339 timestamp' });

/** One alert of Alertmanager's webhook; Grafana's webhook extends it (connectors/grafana). */
export const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: labelSet.refine((l) => Object.keys(l).length > 0, 'an alert needs at least one label'),
  annotations: labelSet.default({}),
  startsAt: timestamp,
  endsAt: timestamp.optional(),
  generatorURL: z.string().max(4096).optional(),
  fingerprint: z.string().optional(),
});

/** The group fields around the alerts, shared with Grafana's webhook. */
export const groupFields = {
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().optional(),
  groupKey: z.string().optional(),
  truncatedAlerts: z.number().int().nonnegative().optional(),
  groupLabels: labelSet.optional(),
  commonLabels: labelSet.optional(),
  commonAnnotations: labelSet.optional(),
  externalURL: z.string().optional(),
  alerts: z.array(alertSchema),
};

const payloadSchema = z.object({
  version: z.literal('4', { error: 'expected webhook payload version "4"' }),
  ...groupFields,
});

/** Alertmanager's "no time" (Go's zero time) for a firing alert's end. */
export const GO_ZERO_YEAR = 1;

const iso = (text: string): string => new Date(text).toISOString();

export const connector = defineConnector({
  id: 'alertmanager',
  description: 'Prometheus Alertmanager webhook (version 4)',
  schema: payloadSchema,
  // Alertmanager identifies an alert by its full label set; so does Quell (the default).
  truncated: (payload) => payload.truncatedAlerts ?? 0,
  // Reconciliation: what its API still lists (QUELL_RECONCILE_ALERTMANAGER_URL).
  poll: (target) => alertmanagerApiPoll()(target),
  normalize(payload, receivedAt) {
    return payload.alerts.map((a) => {
      const ends = a.endsAt !== undefined && new Date(a.endsAt).getUTCFullYear() > GO_ZERO_YEAR ? iso(a.endsAt) : null;
      return {
        status: a.status,
        labels: a.labels,
        annotations: a.annotations,
        startsAt: iso(a.startsAt),
        endsAt: a.status === 'resolved' ? (ends ?? receivedAt.toISOString()) : null,
        ...(a.generatorURL ? { generatorUrl: a.generatorURL } : {}),
      };
    });
  },
});

/** Grafana's own Alertmanager's alert list (Grafana-managed alerts). */
export const GRAFANA_ALERTS_PATH = '/api/alertmanager/grafana/api/v2/alerts';

/** One alert of Alertmanager's `GET /api/v2/alerts` (gettableAlert); only its labels are read. */
const apiAlerts = z.array(z.object({
  labels: labelSet,
  status: z.object({ state: z.string() }).partial().optional(),
}).loose());

/**
 * A `poll` for any Alertmanager-compatible API: `GET <url><path>` lists the alerts it holds
 * unresolved (active, silenced, inhibited, unprocessed: all still fire). Grafana serves the
 * same at `/api/alertmanager/grafana/api/v2/alerts` (its own alertmanager), Mimir and Cortex at
 * `/alertmanager/api/v2/alerts`. The token, if any, goes as a bearer token (a Grafana service
 * account token). A `grafana` connector polls with `alertmanagerApiPoll(GRAFANA_ALERTS_PATH)`.
 */
export function alertmanagerApiPoll(path = '/api/v2/alerts') {
  return async (target: PollTarget): Promise<PollAnswer> => {
    const query = 'active=true&silenced=true&inhibited=true&unprocessed=true';
    const headers = target.token !== undefined ? { authorization: `Bearer ${target.token}` } : undefined;
    const body = await target.fetchJson(`${target.url}${path}?${query}`, headers ? { headers } : {});
    const parsed = apiAlerts.safeParse(body);
    if (!parsed.success) {
      throw new Error(`${path}: not an Alertmanager alert list: ${parsed.error.issues[0]?.message ?? ''}`);
    }
    // Labels starting with `__` are internal (Grafana's `__alert_rule_uid__`): no notification carries them.
    return {
      firing: parsed.data.map((a) => ({
        labels: Object.fromEntries(Object.entries(a.labels).filter(([name]) => !name.startsWith('__'))),
      })),
    };
  };
}
