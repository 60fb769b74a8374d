import { z } from 'zod';
import { defineConnector } from '../../src/connectors/connector';
import { MAX_LABEL_VALUE_LENGTH } from '../../src/connectors/label-set';
import { expectDefined } from '../../src/domain/invariant';

/**
 * Nagios Core and Icinga 2 host and service notifications, as `quell-notify.sh` (shipped
 * beside this file, run by the monitoring host) posts them to `/ingest/nagios`. One connector
 * for both: Icinga 2 sends the same macros under the same names (`source` says which).
 *
 * Identity: `host!service` (a host notification: `host`), from the host's name, never its
 * display name, as Nagios itself keys a service. Each problem of it is an episode (its start is
 * the state change); RECOVERY, and any notification in state OK or UP, resolves it.
 * ACKNOWLEDGEMENT, FLAPPING*, DOWNTIME* and CUSTOM in a problem state re-send the firing
 * alert with the notification's type, author and comment as annotations.
 */
const text = (max = 1024) => z.string().max(max);
const epoch = z.string().regex(/^\d{1,12}$/, 'expected seconds since the epoch ($TIMET$)');

/** Nagios's `$NOTIFICATIONTYPE$` and Icinga 2's `notification.type` (upper-cased). */
const NOTIFICATION_TYPES = [
  'PROBLEM', 'RECOVERY', 'ACKNOWLEDGEMENT', 'CUSTOM',
  'FLAPPINGSTART', 'FLAPPINGSTOP', 'FLAPPINGEND', 'FLAPPINGDISABLED',
  'DOWNTIMESTART', 'DOWNTIMEEND', 'DOWNTIMECANCELLED', 'DOWNTIMEREMOVED',
] as const;

const HOST_STATES = ['UP', 'DOWN', 'UNREACHABLE'] as const;
/** Icinga 2 and some Nagios add-ons send `Problem`, `critical`: compared upper-cased. */
const upper = z.string().transform((s) => s.toUpperCase());
const SERVICE_STATES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;

const payloadSchema = z.object({
  source: z.enum(['nagios', 'icinga2']).default('nagios'),
  kind: z.enum(['host', 'service']),
  notification_type: upper.pipe(
    z.enum(NOTIFICATION_TYPES, { error: `expected one of ${NOTIFICATION_TYPES.join(', ')}` })),
  host: text(255).min(1, 'expected the host name ($HOSTNAME$)'),
  host_display_name: text(255).optional(),
  host_address: text(255).optional(),
  host_groups: text(4096).optional(),
  service: text(1024).optional(),
  service_display_name: text(1024).optional(),
  service_groups: text(4096).optional(),
  state: upper.pipe(z.enum([...HOST_STATES, ...SERVICE_STATES], { error: 'expected a host or service state' })),
  state_type: text(16).optional(),
  output: text(MAX_LABEL_VALUE_LENGTH).optional(),
  long_output: text(MAX_LABEL_VALUE_LENGTH).optional(),
  last_state_change: z.union([epoch, z.literal('')]).optional(),
  timestamp: z.union([epoch, z.literal('')]).optional(),
  problem_id: text(32).optional(),
  last_problem_id: text(32).optional(),
  author: text(255).optional(),
  comment: text(MAX_LABEL_VALUE_LENGTH).optional(),
}).superRefine((p, ctx) => {
  if (p.kind === 'service' && !p.service) {
    ctx.addIssue({
      code: 'custom', path: ['service'], message: 'a service notification needs the service ($SERVICEDESC$)',
    });
  }
  const states: readonly string[] = p.kind === 'host' ? HOST_STATES : SERVICE_STATES;
  if (!states.includes(p.state)) {
    ctx.addIssue({ code: 'custom', path: ['state'], message: `expected a ${p.kind} state: ${states.join(', ')}` });
  }
});

type Payload = z.infer<typeof payloadSchema>;

const SEVERITY: Readonly<Record<string, string>> = {
  DOWN: 'critical', UNREACHABLE: 'warning', CRITICAL: 'critical', WARNING: 'warning', UNKNOWN: 'warning',
  OK: 'none', UP: 'none',
};

const seconds = (s: string | undefined): string | undefined =>
  (s ? new Date(Number(s) * 1000).toISOString() : undefined);

/** The identity Nagios keys its objects by. */
const identityOf = (host: string, service: string | undefined): string => (service ? `${host}!${service}` : host);

function annotationsOf(p: Payload): Record<string, string> {
  const out: Record<string, string> = { notification_type: p.notification_type, state: p.state };
  const add = (name: string, value: string | undefined): void => { if (value) out[name] = value; };
  add('summary', p.output);
  add('description', p.long_output);
  add('state_type', p.state_type);
  add('host_display_name', p.host_display_name);
  add('host_address', p.host_address);
  add('service_display_name', p.service_display_name);
  add('problem_id', p.problem_id || p.last_problem_id);
  add('author', p.author);
  add('comment', p.comment);
  return out;
}

export const connector = defineConnector({
  id: 'nagios',
  description: 'Nagios Core and Icinga 2 host and service notifications (quell-notify.sh)',
  schema: payloadSchema,
  identity: (labels) => {
    if (!Object.hasOwn(labels, 'host')) return undefined;
    return identityOf(expectDefined(labels['host'], 'the host label'),
      Object.hasOwn(labels, 'service') ? labels['service'] : undefined);
  },
  normalize(p, receivedAt) {
    const service = p.kind === 'service' ? p.service : undefined;
    const labels: Record<string, string> = {
      alertname: service ?? 'host',
      host: p.host,
      ...(service ? { service } : {}),
      severity: expectDefined(SEVERITY[p.state], 'the severity of a Nagios state'),
      monitor: p.source,
    };
    if (p.host_groups) labels['hostgroups'] = p.host_groups;
    // The state changed at last_state_change: the problem's start, or the recovery's end.
    const changedAt = seconds(p.last_state_change) ?? seconds(p.timestamp) ?? receivedAt.toISOString();
    const resolved = p.notification_type === 'RECOVERY' || p.state === 'OK' || p.state === 'UP';
    const annotations = annotationsOf(p);
    if (resolved) return [{ status: 'resolved', labels, annotations, startsAt: changedAt, endsAt: changedAt }];
    return [{ status: 'firing', labels, annotations, startsAt: changedAt, endsAt: null }];
  },
});
