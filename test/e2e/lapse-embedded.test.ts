import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webhookPayload } from '../support/alertmanager-payload';
import { startAlertmanager, type AlertmanagerServer } from '../support/alertmanager-server';
import { freePort } from '../support/net';
import { startQuell, type QuellProcess } from '../support/quell-process';
import { waitFor } from '../support/wait';

/**
 * `quell start` (embedded: PGlite and the embedded queue) runs both checks from its settings:
 * reconciliation polls a real Alertmanager that never heard of an alert Quell holds firing
 * (resolved as `reconciled`), and an alert posted as Prometheus does, then never re-sent,
 * resolves at its `endsAt` (`expired`).
 */
let dir: string;
let quell: QuellProcess | undefined;
let am: AlertmanagerServer | undefined;

beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'quell-lapse-')); });
afterAll(async () => {
  await quell?.stop('SIGKILL');
  await am?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the worker reconciles against Alertmanager and expires alerts Prometheus stopped sending', async () => {
  am = await startAlertmanager('route:\n  receiver: none\nreceivers:\n  - name: none\n', { logLevel: 'info' });
  const port = await freePort();
  quell = startQuell('start', {
    QUELL_PORT: String(port), QUELL_HOST: '127.0.0.1', QUELL_OPEN_READS: 'true',
    QUELL_RECONCILE_ALERTMANAGER_URL: am.url, QUELL_RECONCILE_INTERVAL_SECONDS: '1', QUELL_RECONCILE_GRACE_SECONDS: '0',
  }, dir);
  await quell.waitForLog('api listening', 60_000);
  const { ingest } = JSON.parse(readFileSync(join(dir, 'data', 'tokens.json'), 'utf8')) as { ingest: string };
  const post = async (path: string, body: unknown): Promise<number> => (await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST', headers: { authorization: `Bearer ${ingest}`,
      'content-type': 'application/json' }, body: JSON.stringify(body),
  })).status;
  const startsAt = new Date(Date.now() - 60_000).toISOString();
  expect(await post('/ingest/alertmanager', webhookPayload([{ labels: { alertname: 'NeverInAm',
    service: 'ghost' } }]))).toBe(202);
  expect(await post('/api/v2/alerts', [{ labels: { alertname: 'FromPrometheus', service: 'direct' }, startsAt,
    endsAt: new Date(Date.now() + 2000).toISOString() }])).toBe(202);

  const disposition = (source: string) => async () => {
    const { alerts } = await (await fetch(`http://127.0.0.1:${port}/api/v1/alerts`)).json() as { alerts: { source: string; status: string; disposition: string }[] };
    const a = alerts.find((x) => x.source === source);
    return a?.status === 'resolved' ? a.disposition : undefined;
  };
  expect(await waitFor(disposition('alertmanager'), 30_000, 'the alert Alertmanager does not have reconciled',
    250)).toBe('reconciled');
  expect(await waitFor(disposition('prometheus'), 40_000, 'the Prometheus alert expired', 250)).toBe('expired');
  expect(quell.output()).toContain('reconciliation: alerts the source no longer fires');
}, 120_000);
