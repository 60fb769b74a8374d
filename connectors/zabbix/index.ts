import { z } from 'zod';
import type { Labels } from '../../src/domain/alert';
import { defineConnector, type PollAnswer, type PollTarget } from '../../src/connectors/connector';
import { MAX_LABEL_VALUE_LENGTH } from '../../src/connectors/label-set';
import { expectDefined, itemAt } from '../../src/domain/invariant';

/**
 * Zabbix, through the media type in `quell-media-type.js` (a Zabbix webhook script): one JSON
 * object per problem or recovery event, built from Zabbix's event macros. Point the media
 * type's `quell_url` at `/ingest/zabbix` and `quell_token` at the ingest token.
 *
 * Identity is the problem event id ({EVENT.ID}), which a recovery message carries too (its
 * own id is {EVENT.RECOVERY.ID}): each problem is one alert, and its recovery resolves it.
 * A problem update (acknowledgement, comment, severity change) is a re-send of the problem.
 */
const id = z.string().regex(/^\d{1,20}$/, 'expected a Zabbix id (digits)');
const text = (max = 1024) => z.string().max(max);
const timestamp = z.iso.datetime({ offset: true, error: 'expected an RFC 3339 timestamp' });

const tagSchema = z.object({ tag: text(255), value: text(255).default('') });

const payloadSchema = z.object({
  event_id: id,
  /** `1` a problem, `0` its recovery ({EVENT.VALUE}). */
  event_value: z.enum(['0', '1'], { error: 'expected "1" (problem) or "0" (recovery)' }),
  recovery_event_id: z.union([id, z.literal('')]).optional(),
  /** `1` for a problem update ({EVENT.UPDATE.STATUS}). */
  event_update: z.enum(['0', '1', '']).optional(),
  event_name: text(2048).min(1, 'the event needs a name'),
  /** {EVENT.NSEVERITY}: 0 not classified ... 5 disaster. */
  event_severity: z.enum(['0', '1', '2', '3', '4', '5'], { error: 'expected a Zabbix severity, 0 to 5' }),
  trigger_id: z.union([id, z.literal('')]).optional(),
  host: text(255).min(1, 'expected the host\'s technical name ({HOST.HOST})'),
  host_name: text(255).optional(),
  host_ip: text(255).optional(),
  event_tags: z.array(tagSchema).max(256).default([]),
  started_at: timestamp.optional(),
  recovered_at: timestamp.optional(),
  event_opdata: text(MAX_LABEL_VALUE_LENGTH).optional(),
  trigger_description: text(MAX_LABEL_VALUE_LENGTH).optional(),
  zabbix_url: text(2048).optional(),
});

type Payload = z.infer<typeof payloadSchema>;

/** Zabbix's severities as Quell's `severity` label (Alertmanager's words). */
const SEVERITY = ['none', 'info', 'warning', 'warning', 'critical', 'critical'] as const;
const SEVERITY_NAME = ['Not classified', 'Information', 'Warning', 'Average', 'High', 'Disaster'] as const;

/** The label that carries the problem event id: the alert's identity. */
const EVENT_ID = 'zabbix_eventid';

/** The labels Quell sets: a tag of the same name does not replace them. */
function labelsOf(p: Payload): Labels {
  const tags: Record<string, string> = {};
  // A tag may repeat with several values (`service: a`, `service: b`): they are joined.
  for (const { tag, value } of p.event_tags) {
    tags[tag] = Object.hasOwn(tags, tag) ? `${expectDefined(tags[tag], 'a tag seen before')},${value}` : value;
  }
  const own: Record<string, string> = {
    alertname: p.event_name,
    host: p.host,
    severity: itemAt(SEVERITY, Number(p.event_severity), 'the Zabbix severity'),
    [EVENT_ID]: p.event_id,
    ...(p.trigger_id ? { zabbix_triggerid: p.trigger_id } : {}),
  };
  return Object.fromEntries([...Object.entries(tags), ...Object.entries(own)]);
}

function annotationsOf(p: Payload): Labels {
  const out: Record<string, string> = {
    zabbix_severity: itemAt(SEVERITY_NAME, Number(p.event_severity), 'the Zabbix severity'),
  };
  if (p.host_name) out['host_name'] = p.host_name;
  if (p.host_ip) out['host_ip'] = p.host_ip;
  if (p.event_opdata) out['opdata'] = p.event_opdata;
  if (p.trigger_description) out['description'] = p.trigger_description;
  if (p.recovery_event_id) out['recovery_event_id'] = p.recovery_event_id;
  return out;
}

/** `problem.get`'s answer (https://www.zabbix.com/documentation/current/en/manual/api/reference/problem/get). */
const problemGetAnswer = z.union([
  z.object({ result: z.array(z.object({ eventid: id }).loose()) }),
  z.object({ error: z.object({ code: z.number(), message: z.string(), data: z.string().optional() }) }),
]);

/**
 * Asks Zabbix's API (`<url>/api_jsonrpc.php`, `problem.get`) for its unresolved trigger
 * problems. The API token goes as `Authorization: Bearer` (Zabbix 6.4 and later).
 */
async function pollZabbix(target: PollTarget): Promise<PollAnswer> {
  const endpoint = target.url.endsWith('.php') ? target.url : `${target.url}/api_jsonrpc.php`;
  const body = {
    jsonrpc: '2.0', method: 'problem.get', id: 1,
    params: { output: ['eventid'], source: 0, object: 0, recent: false },
  };
  const headers = {
    'content-type': 'application/json-rpc',
    ...(target.token !== undefined ? { authorization: `Bearer ${target.token}` } : {}),
  };
  const parsed = problemGetAnswer.safeParse(await target.fetchJson(endpoint, { method: 'POST', headers, body }));
  if (!parsed.success) throw new Error('problem.get: not a JSON-RPC answer with a list of problems');
  if ('error' in parsed.data) {
    throw new Error(`problem.get: ${parsed.data.error.message} ${parsed.data.error.data ?? ''}`.trim());
  }
  return { firing: parsed.data.result.map((p) => ({ labels: { [EVENT_ID]: p.eventid } })) };
}

export const connector = defineConnector({
  id: 'zabbix',
  description: 'Zabbix problems and recoveries through the Quell media type (webhook)',
  schema: payloadSchema,
  identity: (labels) => (Object.hasOwn(labels, EVENT_ID) ? labels[EVENT_ID] : undefined),
  poll: pollZabbix,
  normalize(p, receivedAt) {
    const startsAt = p.started_at ?? receivedAt.toISOString();
    const labels = labelsOf(p);
    const annotations = annotationsOf(p);
    const generatorUrl = p.zabbix_url
      ? `${p.zabbix_url.replace(/\/+$/, '')}/tr_events.php?triggerid=${p.trigger_id ?? ''}&eventid=${p.event_id}`
      : undefined;
    const common = { labels, annotations, startsAt, ...(generatorUrl ? { generatorUrl } : {}) };
    if (p.event_value === '0') {
      const endsAt = p.recovered_at ?? receivedAt.toISOString();
      // A recovery dated before its problem (two clocks) ends at the problem's start.
      return [{ ...common, status: 'resolved', endsAt: Date.parse(endsAt) < Date.parse(startsAt) ? startsAt : endsAt }];
    }
    return [{ ...common, status: 'firing', endsAt: null }];
  },
});
