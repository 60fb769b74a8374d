import { z } from 'zod';
import type { Labels } from '../../src/domain/alert';
import { defineConnector } from '../../src/connectors/connector';
import { MAX_LABEL_VALUE_LENGTH } from '../../src/connectors/label-set';
import { expectDefined } from '../../src/domain/invariant';

/**
 * Datadog monitor notifications through a Datadog webhook whose Payload is
 * `payload-template.json` (beside this file: Datadog's template variables, as strings), posted
 * to `/ingest/datadog` with the ingest token as a custom header (`Authorization: Bearer ...`).
 *
 * Identity: the alert cycle key ($ALERT_CYCLE_KEY: "links events from the moment an alert
 * triggers until it resolves"), else the monitor and the group it alerts on ($ALERT_ID and
 * $ALERT_SCOPE). `Recovered` resolves; every other transition (Triggered, Re-Triggered, Warn,
 * Re-Warn, No Data, Re-No Data, Renotify) fires or re-fires.
 */
const text = (max = 1024) => z.string().max(max);
/** Datadog's $DATE / $LAST_UPDATED: milliseconds since the epoch, as text. */
const epochMs = z.string().regex(/^\d{1,15}$/, 'expected milliseconds since the epoch ($DATE)');

const TRANSITIONS = [
  'Triggered', 'Re-Triggered', 'Recovered', 'Warn', 'Re-Warn', 'No Data', 'Re-No Data', 'Renotify',
] as const;

const payloadSchema = z.object({
  event_id: text(64).optional(),
  alert_id: text(64).regex(/^\d*$/, 'expected the monitor id ($ALERT_ID)'),
  alert_cycle_key: text(256).optional(),
  aggreg_key: text(256).optional(),
  alert_transition: z.enum(TRANSITIONS, { error: `expected one of ${TRANSITIONS.join(', ')}` }),
  alert_type: text(32).optional(),
  alert_title: text(2048).optional(),
  event_title: text(2048).optional(),
  event_msg: text(MAX_LABEL_VALUE_LENGTH).optional(),
  alert_status: text(MAX_LABEL_VALUE_LENGTH).optional(),
  alert_scope: text(4096).optional(),
  alert_metric: text(1024).optional(),
  alert_query: text(MAX_LABEL_VALUE_LENGTH).optional(),
  alert_priority: text(16).optional(),
  priority: text(32).optional(),
  hostname: text(255).optional(),
  tags: text(MAX_LABEL_VALUE_LENGTH).optional(),
  date: epochMs,
  last_updated: z.union([epochMs, z.literal('')]).optional(),
  link: text(4096).optional(),
  org_id: text(64).optional(),
  org_name: text(255).optional(),
}).refine((p) => p.alert_cycle_key || p.alert_id, {
  path: ['alert_id'], error: 'expected $ALERT_CYCLE_KEY or $ALERT_ID: the alert has no identity',
});

type Payload = z.infer<typeof payloadSchema>;

/** `[P2] [Triggered on {host:web-1}] CPU high` -> `CPU high`: the title without its transition. */
const TITLE_PREFIX = /^(?:\[P\d\]\s*)?\[(?:Triggered|Re-Triggered|Recovered|Warn|Re-Warn|No Data|Re-No Data|Renotify)\b[^\]]*\]\s*/;
const withoutTransition = (title: string): string => title.replace(TITLE_PREFIX, '') || title;

/** `env:prod, service:web, monitor` -> {env: prod, service: web, monitor: ''}; the first of a key wins. */
function tagsOf(tags: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of (tags ?? '').split(',')) {
    const tag = raw.trim();
    if (tag === '') continue;
    const at = tag.indexOf(':');
    const [name, value] = at < 0 ? [tag, ''] : [tag.slice(0, at), tag.slice(at + 1)];
    if (!Object.hasOwn(out, name)) out[name] = value;
  }
  return out;
}

const SEVERITY: Readonly<Record<string, string>> = {
  error: 'critical', warning: 'warning', info: 'info', success: 'none',
};

function labelsOf(p: Payload): Labels {
  const own: Record<string, string> = {
    alertname: withoutTransition(p.alert_title || p.event_title || `monitor ${p.alert_id}`),
    monitor_id: p.alert_id,
    // The transition says it better than $ALERT_TYPE: Warn is a warning even when the type says error.
    severity: p.alert_transition.includes('Warn') ? 'warning' : SEVERITY[p.alert_type ?? ''] ?? 'critical',
  };
  if (p.alert_cycle_key) own['alert_cycle_key'] = p.alert_cycle_key;
  if (p.alert_scope) own['scope'] = p.alert_scope;
  if (p.hostname) own['host'] = p.hostname;
  if (p.alert_priority) own['priority'] = p.alert_priority;
  return Object.fromEntries([...Object.entries(tagsOf(p.tags)), ...Object.entries(own)]);
}

function annotationsOf(p: Payload): Labels {
  const out: Record<string, string> = { transition: p.alert_transition };
  const add = (name: string, value: string | undefined): void => { if (value) out[name] = value; };
  add('summary', p.event_title);
  add('description', p.event_msg);
  add('status', p.alert_status);
  add('metric', p.alert_metric);
  add('query', p.alert_query);
  add('link', p.link);
  add('event_id', p.event_id);
  add('org', p.org_name);
  return out;
}

export const connector = defineConnector({
  id: 'datadog',
  description: 'Datadog monitor notifications (webhook with payload-template.json)',
  schema: payloadSchema,
  identity: (labels) => {
    if (Object.hasOwn(labels, 'alert_cycle_key')) {
      return `cycle:${expectDefined(labels['alert_cycle_key'], 'alert_cycle_key')}`;
    }
    if (Object.hasOwn(labels, 'monitor_id') && labels['monitor_id'] !== '') {
      return `monitor:${expectDefined(labels['monitor_id'], 'monitor_id')}:${labels['scope'] ?? ''}`;
    }
    return undefined;
  },
  normalize(p) {
    const at = new Date(Number(p.date)).toISOString();
    const labels = labelsOf(p);
    const annotations = annotationsOf(p);
    const link = p.link ? { generatorUrl: p.link } : {};
    if (p.alert_transition === 'Recovered') {
      // The recovery's $DATE is when it recovered; the start is unknown here (dedup keeps the firing's).
      return [{ status: 'resolved', labels, annotations, startsAt: at, endsAt: at, ...link }];
    }
    return [{ status: 'firing', labels, annotations, startsAt: at, endsAt: null, ...link }];
  },
});
