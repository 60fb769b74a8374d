import { z } from 'zod';
import { defineConnector, type Connector } from '../../src/connectors/connector';
import { SnsVerifier, SNS_HOST, type TextFetcher } from '../../src/connectors/sns-signature';
import { sourceTimestamp } from '../../src/connectors/source-timestamp';
import { VerificationUnavailableError } from '../../src/connectors/verification-error';
import type { SourceAlert } from '../../src/domain/alert';
import { createGuardedHttp } from '../../src/runbooks/guarded-http';

/**
 * Amazon CloudWatch alarms delivered by an SNS topic's HTTPS subscription. Every message's SNS
 * signature is verified (sns-signature.ts); the subscription is confirmed by a GET of its
 * `SubscribeURL` when that is on an SNS host. `ALARM` fires, `OK` resolves, and
 * `INSUFFICIENT_DATA` leaves the alarm as it was unless the `insufficient_data` setting says
 * otherwise (a metric that stops reporting says nothing of the fault).
 *
 * Authentication: a valid SNS signature proves AWS sent the message, not that the topic is
 * yours (anyone can subscribe Quell to their own topic): the topic must be in `topic_arns`, or
 * the subscription URL must carry a token (`https://quell:<token>@host/ingest/cloudwatch`).
 *
 * Identity: the alarm's ARN, account and region (and its name), never the name alone.
 */
const text = (max: number) => z.string().max(max, `longer than ${max} characters`);

const alarmSchema = z.object({
  AlarmName: text(255).min(1),
  AlarmDescription: text(4096).nullable().optional(),
  AWSAccountId: text(32).min(1),
  NewStateValue: z.enum(['ALARM', 'OK', 'INSUFFICIENT_DATA']),
  NewStateReason: text(16_384).optional(),
  StateChangeTime: sourceTimestamp,
  Region: text(64).optional(),
  AlarmArn: text(2048).optional(),
  OldStateValue: text(32).optional(),
  Trigger: z.object({
    MetricName: text(255).optional(),
    Namespace: text(255).optional(),
    Dimensions: z.array(z.object({ name: text(255).min(1), value: text(1024) })).max(30).optional(),
  }).nullable().optional(),
});

/** The SNS message's `Message`: the alarm as JSON text. */
const alarmMessage = z.string().transform((s, ctx) => {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a CloudWatch alarm as JSON text' });
    return z.NEVER;
  }
}).pipe(alarmSchema);

const envelope = {
  MessageId: text(128), TopicArn: text(1024), Timestamp: sourceTimestamp,
  SignatureVersion: z.enum(['1', '2']), Signature: text(2048), SigningCertURL: text(2048),
};
const schema = z.discriminatedUnion('Type', [
  z.object({
    Type: z.literal('Notification'), ...envelope, Subject: text(1024).nullable().optional(), Message: alarmMessage,
    UnsubscribeURL: text(2048).optional(),
  }),
  z.object({
    Type: z.literal('SubscriptionConfirmation'), ...envelope,
    Message: text(4096), Token: text(2048), SubscribeURL: text(2048),
  }),
  z.object({
    Type: z.literal('UnsubscribeConfirmation'), ...envelope,
    Message: text(4096), Token: text(2048), SubscribeURL: text(2048),
  }),
]);

type Message = z.infer<typeof schema>;
type Alarm = z.infer<typeof alarmSchema>;

const settings = z.object({
  /** Topics whose signed messages are taken without a token (comma-separated ARNs). */
  topic_arns: z.string().optional().transform((s) => (s ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '')),
  /** What INSUFFICIENT_DATA does: `ignore` (the alarm stays as it was), `firing` or `resolved`. */
  insufficient_data: z.enum(['ignore', 'firing', 'resolved']).default('ignore'),
  /** Oldest message taken, by its signed Timestamp (seconds): a replayed old message is refused. */
  max_message_age_seconds: z.coerce.number().int().min(60).default(3600),
}).strict();

type Settings = z.infer<typeof settings>;

/** `arn:aws:cloudwatch:<region>:<account>:alarm:<name>` -> region. */
const regionOf = (alarm: Alarm): string =>
  /^arn:aws[a-z-]*:cloudwatch:([a-z0-9-]+):/.exec(alarm.AlarmArn ?? '')?.[1] ?? alarm.Region ?? '';

function alarmAlert(alarm: Alarm, s: Settings, subject: string | undefined): SourceAlert | undefined {
  const state = alarm.NewStateValue === 'ALARM' ? 'firing'
    : alarm.NewStateValue === 'OK' ? 'resolved' : s.insufficient_data;
  if (state === 'ignore') return undefined;
  const labels: Record<string, string> = {
    alertname: alarm.AlarmName, aws_account: alarm.AWSAccountId, aws_region: regionOf(alarm),
  };
  if (alarm.AlarmArn !== undefined) labels['alarm_arn'] = alarm.AlarmArn;
  if (alarm.Trigger?.Namespace) labels['namespace'] = alarm.Trigger.Namespace;
  if (alarm.Trigger?.MetricName) labels['metric_name'] = alarm.Trigger.MetricName;
  for (const d of alarm.Trigger?.Dimensions ?? []) labels[`dimension_${d.name}`] = d.value;
  const annotations: Record<string, string> = {};
  if (alarm.AlarmDescription) annotations['description'] = alarm.AlarmDescription;
  if (alarm.NewStateReason) annotations['reason'] = alarm.NewStateReason;
  if (subject) annotations['summary'] = subject;
  annotations['state'] = alarm.NewStateValue;
  const at = new Date(alarm.StateChangeTime).toISOString();
  return { status: state, labels, annotations, startsAt: at, endsAt: state === 'resolved' ? at : null };
}

export interface CloudwatchOptions {
  /** Where SNS certificates and subscription URLs may be (tests: their own server). @defaultValue SNS_HOST */
  readonly snsHost?: RegExp;
  /** The GET used for certificates and confirmations. @defaultValue the guarded HTTP client, 5 s */
  readonly fetch?: TextFetcher;
}

const guarded = createGuardedHttp({ allow: [], maxBodyBytes: 64 * 1024 });
const guardedGet: TextFetcher = async (url) => {
  const res = await guarded.request({ method: 'GET', url, signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: res.body };
};

/** A CloudWatch connector; tests inject the SNS host pattern and the fetcher, so no internet is needed. */
export function createCloudwatchConnector(options: CloudwatchOptions = {}): Connector<Message, Settings> {
  const fetch = options.fetch ?? guardedGet;
  const sns = new SnsVerifier({ host: options.snsHost ?? SNS_HOST, fetch });
  const defaults: Settings = settings.parse({});
  return defineConnector<Message, Settings>({
    id: 'cloudwatch',
    description: 'Amazon CloudWatch alarms through an SNS HTTPS subscription',
    schema,
    settings,
    fingerprintLabels: ['alarm_arn', 'aws_account', 'aws_region', 'alertname'],
    async authenticate(request, s) {
      const verdict = await sns.verify(request.body, request.now);
      if (!verdict.ok) return verdict;
      const m = request.body as { TopicArn: string; Timestamp: string };
      const signedAt = Date.parse(m.Timestamp.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
      if (!(request.now.getTime() - signedAt <= s.max_message_age_seconds * 1000)) {
        return {
          ok: false, field: 'Timestamp',
          message: `Timestamp: older than ${s.max_message_age_seconds} s (max_message_age_seconds), or not a time`,
        };
      }
      if (s.topic_arns.includes(m.TopicArn)) return { ok: true, sender: m.TopicArn };
      if (request.authenticated) return { ok: true };
      return { ok: false, field: 'TopicArn', message: 'TopicArn: not in topic_arns, and the request carries no token' };
    },
    normalize(m, _receivedAt, request) {
      if (m.Type !== 'Notification') return [];
      const alert = alarmAlert(m.Message, request?.settings ?? defaults, m.Subject ?? undefined);
      return alert === undefined ? [] : [alert];
    },
    async respond(accepted) {
      const m = accepted.payload;
      if (m.Type === 'Notification') return undefined;
      if (m.Type === 'UnsubscribeConfirmation') {
        return { status: 200, body: { status: 'unsubscribed', topic_arn: m.TopicArn } };
      }
      if (!sns.onSnsHost(m.SubscribeURL)) {
        const message = 'SubscribeURL: not on an SNS host';
        return {
          status: 400, body: { error: { code: 'invalid_payload', field: 'SubscribeURL', message, retryable: false } },
        };
      }
      let res: Awaited<ReturnType<TextFetcher>>;
      try {
        res = await fetch(m.SubscribeURL);
      } catch (err) {
        throw new VerificationUnavailableError(
          `SubscribeURL: the subscription could not be confirmed: ${(err as Error).message}`);
      }
      if (res.status >= 500) {
        throw new VerificationUnavailableError(
          `SubscribeURL: the subscription could not be confirmed (HTTP ${res.status})`);
      }
      if (res.status !== 200) {
        const message = `SubscribeURL: SNS refused the confirmation (HTTP ${res.status}); the token may have expired`;
        return {
          status: 400, body: { error: { code: 'invalid_payload', field: 'SubscribeURL', message, retryable: false } },
        };
      }
      return { status: 200, body: { status: 'confirmed', topic_arn: m.TopicArn } };
    },
  });
}

export const connector = createCloudwatchConnector();
