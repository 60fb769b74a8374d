import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { alertmanagerApiPoll, GRAFANA_ALERTS_PATH } from '../../connectors/alertmanager';
import { connector as grafanaConnector } from '../../connectors/grafana';
import { fingerprintOf } from '../../src/connectors/connector-intake';
import { expectDefined } from '../../src/domain/invariant';
import { pollTarget } from '../../src/connectors/poll-target';
import { startRecordingServer } from '../support/http-recorder';

/**
 * Grafana cannot run here: its alert list (Alertmanager's API shape, at Grafana's own path) is
 * served by a local HTTP server, and the poll Grafana's connector uses reads it: the service
 * account token as a bearer token, Grafana's internal `__` labels left out (no notification
 * carries them), an answer it cannot read or an error status thrown (nothing is resolved).
 */
const answer = readFileSync(join(__dirname, '../../connectors/alertmanager/fixtures/grafana-api-alerts.json'), 'utf8');

test('polls Grafana\'s alert list with the token and answers the labels a webhook carries', async () => {
  const grafana = await startRecordingServer((_req, res) => {
    res.setHeader('content-type', 'application/json'); res.end(answer);
  });
  try {
    const firing = await alertmanagerApiPoll(GRAFANA_ALERTS_PATH)(pollTarget({ url: `${grafana.base}/`,
      token: 'glsa_token' }));
    expect(firing).toEqual({ firing: [{ labels: { alertname: 'HighCPU', grafana_folder: 'Infrastructure',
      instance: 'web-1:9100', severity: 'critical' } }] });
    const [req] = grafana.requests;
    expect(req!.url).toBe(`${GRAFANA_ALERTS_PATH}?active=true&silenced=true&inhibited=true&unprocessed=true`);
    expect(req!.headers.authorization).toBe('Bearer glsa_token');
  } finally {
    await grafana.close();
  }
});

test.each([
  ['an error status', 401, '{"message":"Unauthorized"}', /HTTP 401/],
  ['an answer that is not JSON', 200, '<html>login</html>', /not JSON/],
  ['JSON that is not an alert list', 200, '{"alerts":[]}', /not an Alertmanager alert list/],
])('%s throws', async (_what, status, body, error) => {
  const grafana = await startRecordingServer((_req, res) => { res.statusCode = status; res.end(body); });
  try {
    await expect(alertmanagerApiPoll(GRAFANA_ALERTS_PATH)(pollTarget({ url: grafana.base }))).rejects.toThrow(error);
  } finally {
    await grafana.close();
  }
});

test('an answer larger than the limit throws', async () => {
  const grafana = await startRecordingServer((_req, res) => {
    res.end(`[${'{"labels":{"a":"b"}},'.repeat(10_000)}{"labels":{}}]`);
  });
  try {
    await expect(alertmanagerApiPoll()(pollTarget({ url: grafana.base, maxBytes: 10_000 })))
      .rejects.toThrow(/larger than 10000 bytes/);
  } finally {
    await grafana.close();
  }
});

test('the grafana connector\'s poll answers what its webhook alerts fingerprint to, org and all', async () => {
  const webhook = JSON.parse(readFileSync(join(__dirname, '../../connectors/grafana/fixtures/firing.json'), 'utf8'));
  const sent = grafanaConnector.normalize(grafanaConnector.schema.parse(webhook), new Date());
  // Grafana lists the first webhook alert (its fingerprint, org 1 in `__orgId__`), not the second.
  const listed = [{ ...JSON.parse(answer)[0], fingerprint: webhook.alerts[0].fingerprint }];
  const grafana = await startRecordingServer((_req, res) => {
    res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(listed));
  });
  try {
    const poll = expectDefined(grafanaConnector.poll, 'the grafana poll');
    const { firing } = await poll.call(grafanaConnector, pollTarget({ url: grafana.base, token: 'glsa_token' }));
    expect(grafana.requests[0]?.headers.authorization).toBe('Bearer glsa_token');
    const polled = firing.map((a) => fingerprintOf(grafanaConnector, a.labels));
    const delivered = sent.map((a) => fingerprintOf(grafanaConnector, a.labels));
    expect(polled).toEqual([delivered[0]]);
    expect(delivered[1]).not.toBe(delivered[0]);
  } finally {
    await grafana.close();
  }
});
