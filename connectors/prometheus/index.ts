import { z } from 'zod';
import { defineConnector } from '../../src/connectors/connector';
import { labelSet } from '../../src/connectors/label-set';
import { expectDefined } from '../../src/domain/invariant';

/**
 * Prometheus posting straight to Quell, as to an Alertmanager (`alerting.alertmanagers`, API
 * v2): a JSON array of `{labels, annotations, startsAt, endsAt, generatorURL}`
 * (https://prometheus.io/docs/alerting/latest/clients/). Served at `/api/v2/alerts` (the path
 * Prometheus appends to an alertmanager's address) and at `/ingest/prometheus`.
 *
 * Prometheus sends no status: an alert whose `endsAt` has passed is resolved, any other fires
 * until its `endsAt` (Prometheus sets it to now + 4 resend intervals and re-sends every
 * interval while the rule fires). One not re-sent by then resolves at its `endsAt`
 * (src/worker/alert-expiry.ts), as Alertmanager resolves it; one sent without `endsAt` fires
 * for {@link RESOLVE_TIMEOUT_MS}, Alertmanager's `resolve_timeout` default.
 */
const timestamp = z.iso.datetime({ offset: true, error: 'expected an RFC 3339 timestamp' });

const alertSchema = z.object({
  labels: labelSet.refine((l) => Object.keys(l).length > 0, 'an alert needs at least one label'),
  annotations: labelSet.default({}),
  startsAt: timestamp.optional(),
  endsAt: timestamp.optional(),
  generatorURL: z.string().max(4096).optional(),
});

/** Alertmanager's default `resolve_timeout`. */
export const RESOLVE_TIMEOUT_MS = 5 * 60_000;

/** Go's zero time, which a client may send for "no time". */
const isZeroTime = (text: string | undefined): boolean => text === undefined || new Date(text).getUTCFullYear() <= 1;

export const connector = defineConnector({
  id: 'prometheus',
  description: 'Prometheus alerts posted as to an Alertmanager (POST /api/v2/alerts)',
  schema: z.array(alertSchema),
  paths: ['/api/v2/alerts'],
  // As Alertmanager: an alert is its full label set (the default).
  normalize(alerts, receivedAt) {
    const now = receivedAt.getTime();
    return alerts.map((a) => {
      const startsAt = isZeroTime(a.startsAt) ? receivedAt.toISOString()
        : new Date(expectDefined(a.startsAt, 'startsAt')).toISOString();
      const ends = isZeroTime(a.endsAt) ? undefined : new Date(expectDefined(a.endsAt, 'endsAt')).getTime();
      const common = {
        labels: a.labels, annotations: a.annotations, startsAt,
        ...(a.generatorURL ? { generatorUrl: a.generatorURL } : {}),
      };
      if (ends !== undefined && ends <= now) {
        // An end before the start (a client's clock) is the start: the episode still ends.
        return {
          ...common, status: 'resolved' as const, endsAt: new Date(Math.max(ends, Date.parse(startsAt))).toISOString(),
        };
      }
      return {
        ...common, status: 'firing' as const, endsAt: null,
        expiresAt: new Date(ends ?? now + RESOLVE_TIMEOUT_MS).toISOString(),
      };
    });
  },
});
