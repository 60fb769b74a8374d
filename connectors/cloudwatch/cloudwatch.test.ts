import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectorSetups } from '../../src/connectors/connector-settings';
import type { JobHandler } from '../../src/queue/ingest-queue';
import { listIncidents } from '../../src/store/incident-queries';
import { SNS_HOST } from '../../src/connectors/sns-signature';
import { createTestDatabase, type TestDatabase } from '../../test/support/postgres';
import { openTestQueue, type TestQueue } from '../../test/support/redis';
import { applyQueued, pipelineWorker } from '../../test/support/pipeline-worker';
import { startSnsSigner, type SnsSigner } from '../../test/support/sns-signer';
import { serveTestApp, TEST_INGEST_TOKEN, type TestApp } from '../../test/support/app';
import { createCloudwatchConnector } from './index';

const fixture = (name: string): Record<string, any> =>
  JSON.parse(readFileSync(join(__dirname, 'fixtures', name), 'utf8'));
const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:cloudwatch-alarms';

test.each([
  ['https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem', true],
  ['https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem', true],
  ['http://sns.eu-west-1.amazonaws.com/cert.pem', false],
  ['https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem', false],
  ['https://evil.example/sns.eu-west-1.amazonaws.com/cert.pem', false],
  ['https://sns.eu-west-1.amazonaws.com@evil.example/cert.pem', false],
])('the certificate URL %s is on an SNS host: %s', (url, ok) => {
  expect(SNS_HOST.test(url)).toBe(ok);
});

describe('POST /ingest/cloudwatch (SNS signatures with real crypto, real Redis and PostgreSQL)', () => {
  let sns: SnsSigner;
  let t: TestDatabase;
  let q: TestQueue;
  let app: TestApp;
  let apply: JobHandler;

  beforeAll(async () => {
    sns = await startSnsSigner();
    t = await createTestDatabase();
    q = await openTestQueue();
    apply = pipelineWorker(t.db).apply;
    const connector = createCloudwatchConnector({ snsHost: sns.hostPattern, fetch: sns.fetch });
    const setups = connectorSetups([connector], { QUELL_CONNECTOR_CLOUDWATCH_TOPIC_ARNS: TOPIC });
    app = await serveTestApp({ db: t.db, queue: q.queue, connectors: setups });
  });
  afterAll(async () => {
    app.close();
    await q.close();
    await t.drop();
    await sns.close();
  });
  beforeEach(async () => { await q.bull.drain(true); });

  /** The fixture as SNS would send it now: stamped and signed. */
  const signed = (name: string, version: '1' | '2' = '1', change: Record<string, unknown> = {}) =>
    sns.sign({ ...fixture(name), Timestamp: new Date().toISOString(), ...change }, version);
  const post = (body: unknown, headers: Record<string, string> = {}) => fetch(`${app.base}/ingest/cloudwatch`, {
    method: 'POST', headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification',
      ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const incidents = async () => (await listIncidents(t.db)).filter((i) => i.title.includes('checkout-5xx-high'));

  test('ALARM opens an incident, INSUFFICIENT_DATA leaves it, OK resolves it; signature versions 1 and 2', async () => {
    const alarm = await post(signed('alarm.json', '1'));
    expect(alarm.status).toBe(202);
    const [job] = await applyQueued(q, apply);
    expect(job!.alerts[0]).toMatchObject({
      status: 'firing',
      labels: {
        alertname: 'checkout-5xx-high', aws_account: '111122223333', aws_region: 'eu-west-1',
        alarm_arn: 'arn:aws:cloudwatch:eu-west-1:111122223333:alarm:checkout-5xx-high',
        namespace: 'AWS/ApplicationELB', metric_name: 'HTTPCode_Target_5XX_Count',
        dimension_LoadBalancer: 'app/checkout/50dc6c495c0c9188',
      },
      annotations: { summary: 'ALARM: "checkout-5xx-high" in EU (Ireland)', state: 'ALARM',
        reason: expect.stringContaining('Threshold Crossed') },
      startsAt: '2026-11-25T08:41:13.383Z',
    });
    expect(await incidents()).toMatchObject([{ status: 'open' }]);

    const insufficient = await post(signed('insufficient-data.json', '2'));
    expect(insufficient.status).toBe(202);
    expect(await insufficient.json()).toMatchObject({ job_id: null, alerts: 0 });
    expect(await incidents()).toMatchObject([{ status: 'open' }]);

    expect((await post(signed('ok.json', '2'))).status).toBe(202);
    const [ok] = await applyQueued(q, apply);
    expect(ok!.alerts[0]).toMatchObject({ status: 'resolved', endsAt: '2026-11-25T08:52:13.383Z',
      fingerprint: job!.alerts[0]!.fingerprint });
    expect(await incidents()).toMatchObject([{ status: 'resolved' }]);
    expect(sns.certFetches()).toBe(1); // fetched once, then cached
  });

  test('the same alarm name in another account or region is another alert', async () => {
    const other = fixture('alarm.json');
    const message = JSON.parse(other['Message']);
    const moved = { ...message, AWSAccountId: '444455556666',
      AlarmArn: 'arn:aws:cloudwatch:us-east-1:444455556666:alarm:checkout-5xx-high' };
    expect((await post(signed('alarm.json'))).status).toBe(202);
    const resent = sns.sign({ ...other, Timestamp: new Date().toISOString(), Message: JSON.stringify(moved) });
    expect((await post(resent)).status).toBe(202);
    const [a, b] = (await q.waiting()).map((j) => j.alerts[0]!);
    expect(a!.labels['alertname']).toBe(b!.labels['alertname']);
    expect(a!.fingerprint).not.toBe(b!.fingerprint);
  });

  test.each([
    ['a changed Message after signing', () => ({ ...signed('alarm.json'), Message: fixture('ok.json')['Message'] }),
      'Signature'],
    ['a certificate URL off the SNS hosts',
      () => ({ ...signed('alarm.json'), SigningCertURL: 'https://evil.example/cert.pem' }), 'SigningCertURL'],
    ['no signature', () => { const m = signed('alarm.json'); delete m['Signature']; return m; }, 'Signature'],
    ['signature version 3', () => ({ ...signed('alarm.json'), SignatureVersion: '3' }), 'SignatureVersion'],
    ['a version 1 signature declared as version 2', () => ({ ...signed('alarm.json', '1'), SignatureVersion: '2' }),
      'Signature'],
    ['a message signed two hours ago (a replay)',
      () => signed('alarm.json', '1', { Timestamp: new Date(Date.now() - 7_200_000).toISOString() }), 'Timestamp'],
    ['a topic not in topic_arns, without a token',
      () => signed('alarm.json', '1', { TopicArn: 'arn:aws:sns:eu-west-1:999999999999:theirs' }), 'TopicArn'],
  ])('401 for %s, naming the field, and nothing queued', async (_what, body, field) => {
    const res = await post(body());
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 'unauthorized', field } });
    expect(await q.waiting()).toHaveLength(0);
  });

  test('a signed message of another topic is taken with a token (basic auth in the subscription URL)', async () => {
    const basic = `Basic ${Buffer.from(`quell:${TEST_INGEST_TOKEN}`).toString('base64')}`;
    const res = await post(signed('alarm.json', '1', { TopicArn: 'arn:aws:sns:eu-west-1:999999999999:other' }),
      { authorization: basic });
    expect(res.status).toBe(202);
  });

  test('the subscription is confirmed by a GET of its SubscribeURL, once the signature holds', async () => {
    const before = sns.confirmations.length;
    const res = await post(signed('subscription-confirmation.json', '1', { SubscribeURL: sns.subscribeUrl }),
      { 'x-amz-sns-message-type': 'SubscriptionConfirmation' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'confirmed', topic_arn: TOPIC });
    expect(sns.confirmations.slice(before)).toEqual(['/confirm?Action=ConfirmSubscription&Token=t']);
    // A SubscribeURL off the SNS hosts is never called.
    const off = await post(
      signed('subscription-confirmation.json', '1', { SubscribeURL: 'http://127.0.0.2:9/confirm' }));
    expect(off.status).toBe(400);
    expect(await off.json()).toMatchObject({ error: { field: 'SubscribeURL' } });
    expect(sns.confirmations.length).toBe(before + 1);
    expect(await q.waiting()).toHaveLength(0);
  });

  test('a certificate that cannot be fetched now is 503, so SNS retries; nothing queued', async () => {
    const down = createCloudwatchConnector({ snsHost: sns.hostPattern,
      fetch: () => Promise.reject(new Error('ECONNREFUSED')) });
    const other = await serveTestApp({ db: t.db, queue: q.queue,
      connectors: connectorSetups([down], { QUELL_CONNECTOR_CLOUDWATCH_TOPIC_ARNS: TOPIC }) });
    try {
      const res = await fetch(`${other.base}/ingest/cloudwatch`,
        { method: 'POST', body: JSON.stringify(signed('alarm.json')) });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: { code: 'verification_unavailable', retryable: true } });
      expect(await q.waiting()).toHaveLength(0);
    } finally {
      other.close();
    }
  });
});
