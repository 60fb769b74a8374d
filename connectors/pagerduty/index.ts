import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { defineConnector } from '../../src/connectors/connector';
import { boundedJson } from '../../src/connectors/bounded-json';
import { namedSecrets } from '../../src/connectors/connector-settings';
import { sourceTimestamp } from '../../src/connectors/source-timestamp';
import type { Labels, SourceAlert } from '../../src/domain/alert';

/**
 * An endpoint shaped like PagerDuty's Events API v2 (`POST https://events.pagerduty.com/v2/enqueue`),
 * so that any tool that can call PagerDuty can call Quell: `trigger`, `acknowledge` and
 * `resolve` events, answered `202 {"status":"success","message":"Event processed","dedup_key"}`
 * as PagerDuty answers.
 *
 * Identity: the `dedup_key` within its integration (a hash of the `routing_key`, as PagerDuty
 * scopes dedup keys to the integration the key names), never the summary. A trigger without
 * a `dedup_key` gets one (the request's job id; the same for resends with one `Idempotency-Key`),
 * returned in the answer for the sender's later acknowledge and resolve.
 *
 * Authentication: the `routing_keys` setting (`name=key,...`) makes each routing key a
 * sender's token (PagerDuty clients send no Authorization header); without it, a bearer token.
 */
const MAX_DETAILS = 16_384;
const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;

const text = (max: number) => z.string().max(max, `longer than ${max} characters`);

const eventPayload = z.object({
  summary: text(1024).min(1),
  source: text(255).min(1),
  severity: z.enum(SEVERITIES),
  timestamp: sourceTimestamp.optional(),
  component: text(255).optional(),
  group: text(255).optional(),
  class: text(255).optional(),
  custom_details: z.unknown().optional(),
});

const schema = z.object({
  routing_key: text(255).min(1),
  event_action: z.enum(['trigger', 'acknowledge', 'resolve']),
  dedup_key: text(255).min(1).optional(),
  payload: eventPayload.optional(),
  client: text(255).optional(),
  client_url: text(4096).optional(),
  links: z.array(z.object({ href: text(4096), text: text(1024).optional() })).max(50).optional(),
  images: z.array(z.object({ src: text(4096), href: text(4096).optional(), alt: text(1024).optional() }))
    .max(50).optional(),
}).superRefine((e, ctx) => {
  if (e.event_action === 'trigger' && e.payload === undefined) {
    ctx.addIssue({ code: 'custom', path: ['payload'], message: 'a trigger needs a payload' });
  }
  if (e.event_action !== 'trigger' && e.dedup_key === undefined) {
    ctx.addIssue({
      code: 'custom', path: ['dedup_key'], message: `an ${e.event_action} needs the dedup_key of its trigger`,
    });
  }
  if (e.payload?.custom_details !== undefined && boundedJson(e.payload.custom_details, 32, MAX_DETAILS) === undefined) {
    ctx.addIssue({ code: 'custom', path: ['payload', 'custom_details'], message: 'nested deeper than 32 levels' });
  }
});

type Event = z.infer<typeof schema>;

const settings = z.object({
  /** Routing keys by sender name: each authenticates the events that carry it. Secret. */
  routing_keys: namedSecrets.optional(),
}).strict();

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
/** Compared as digests, in constant time. */
const sameSecret = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

/** The integration a routing key names, as a label: a hash, so the key itself is never stored. */
const integrationOf = (routingKey: string): string =>
  createHash('sha256').update(routingKey).digest('hex').slice(0, 12);

/** The generated dedup key of a trigger without one: the job id's 32 hex digits, as PagerDuty's look. */
const generatedKey = (requestId: string): string => requestId.replace(/-/g, '');

const identity = (e: Event, requestId: string | undefined): Labels => ({
  integration: integrationOf(e.routing_key),
  dedup_key: e.dedup_key ?? generatedKey(requestId ?? 'unknown'),
});

/**
 * Quell's urgency reads `severity`: PagerDuty's critical and error are high (as its own urgency
 * rules), warning medium.
 */
const quellSeverity = { critical: 'critical', error: 'critical', warning: 'warning', info: 'info' } as const;

function triggered(
  e: Event & { payload: NonNullable<Event['payload']> }, receivedAt: Date, requestId: string | undefined,
): SourceAlert {
  const p = e.payload;
  const labels: Record<string, string> = {
    alertname: p.class ?? p.component ?? p.summary.slice(0, 256),
    severity: quellSeverity[p.severity],
    pd_severity: p.severity,
    source: p.source,
    ...identity(e, requestId),
  };
  if (p.component !== undefined) labels['component'] = p.component;
  if (p.group !== undefined) labels['group'] = p.group;
  if (p.class !== undefined) labels['class'] = p.class;
  const annotations: Record<string, string> = { summary: p.summary };
  const details = p.custom_details === undefined ? undefined : boundedJson(p.custom_details, 32, MAX_DETAILS);
  if (details !== undefined) annotations['custom_details'] = details;
  if (e.client !== undefined) annotations['client'] = e.client;
  if (e.client_url !== undefined) annotations['client_url'] = e.client_url;
  e.links?.forEach((l, i) => { annotations[`link_${i}`] = l.text !== undefined ? `${l.text} ${l.href}` : l.href; });
  e.images?.forEach((m, i) => { annotations[`image_${i}`] = m.src; });
  return {
    status: 'firing', labels, annotations,
    startsAt: p.timestamp ?? receivedAt.toISOString(), endsAt: null,
    ...(e.client_url !== undefined ? { generatorUrl: e.client_url } : {}),
  };
}

export const connector = defineConnector({
  id: 'pagerduty',
  description: 'PagerDuty Events API v2 shaped endpoint (trigger, acknowledge, resolve)',
  schema,
  settings,
  fingerprintLabels: ['integration', 'dedup_key'],
  authenticate(request, s) {
    const keys = s.routing_keys;
    if (keys === undefined) return undefined; // the bearer token decides
    const sent = (request.body as { routing_key?: unknown } | null)?.routing_key;
    const sender = typeof sent === 'string'
      ? Object.entries(keys).find(([, key]) => sameSecret(key, sent))?.[0] : undefined;
    if (sender !== undefined) return { ok: true, sender };
    if (request.authenticated) return undefined;
    return { ok: false, message: 'routing_key: not a configured routing key', field: 'routing_key' };
  },
  normalize(e, receivedAt, request) {
    if (e.event_action === 'trigger') {
      return [triggered(e as Event & { payload: NonNullable<Event['payload']> }, receivedAt, request?.id)];
    }
    if (e.event_action === 'acknowledge') return [];
    const at = receivedAt.toISOString();
    return [{ status: 'resolved', labels: identity(e, request?.id), annotations: {}, startsAt: at, endsAt: at }];
  },
  acknowledge(e, _receivedAt, request) {
    return e.event_action === 'acknowledge' ? [{ labels: identity(e, request?.id), by: 'pagerduty-events' }] : [];
  },
  respond(accepted) {
    const dedupKey = accepted.payload.dedup_key ?? accepted.alerts[0]?.labels['dedup_key'] ?? null;
    return { status: 202, body: { status: 'success', message: 'Event processed', dedup_key: dedupKey } };
  },
});
