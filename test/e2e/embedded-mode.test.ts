import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webhookPayload } from '../support/alertmanager-payload';
import { startQuell, type QuellProcess } from '../support/quell-process';
import { waitFor } from '../support/wait';
import { freePort } from '../support/net';

/**
 * `quell start` with no REDIS_URL / DATABASE_URL: PGlite and the embedded queue. A 202 means
 * the payload is committed to the embedded database, so a crash right after loses nothing.
 */
let dir: string;
let quell: QuellProcess | undefined;

beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'quell-embedded-')); });
afterAll(async () => {
  await quell?.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('accepted alerts survive a SIGKILL of the embedded engine', async () => {
  const port = await freePort();
  // Not about auth: reads open.
  const env = { QUELL_PORT: String(port), QUELL_HOST: '127.0.0.1', QUELL_OPEN_READS: 'true' };
  quell = startQuell('start', env, dir);
  await quell.waitForLog('api listening', 60_000);
  expect(quell.output()).toContain('"mode":"embedded"');
  expect(quell.output()).toContain('"database":"pglite"');

  const { ingest } = JSON.parse(readFileSync(join(dir, 'data', 'tokens.json'), 'utf8')) as { ingest: string };
  const post = async (alerts: { labels: Record<string, string> }[]): Promise<number> =>
    (await fetch(`http://127.0.0.1:${port}/ingest/alertmanager`, {
      method: 'POST', headers: { authorization: `Bearer ${ingest}`, 'content-type': 'application/json' },
      body: JSON.stringify(webhookPayload(alerts)),
    })).status;
  const small = (r: number) => Array.from({ length: 5 }, (_, i) => ({
    labels: { alertname: 'EmbeddedCrash', service: `svc-${r % 4}`, instance: `h-${r}-${i}` },
  }));
  const requests = 40;
  const answers = await Promise.all(Array.from({ length: requests - 1 }, (_, r) => post(small(r))));
  // The last request is large, so that applying it is still under way when the process dies.
  const lastSize = 2000;
  answers.push(await post(Array.from({ length: lastSize }, (_, i) => ({
    labels: { alertname: 'EmbeddedCrash', service: 'svc-big', instance: `big-${i}` },
  }))));
  expect(answers.every((s) => s === 202)).toBe(true);
  await quell.stop('SIGKILL');

  // Some accepted requests had not been applied yet: they are rows of the embedded queue.
  const { PGlite } = await import('@electric-sql/pglite');
  const pglite = await PGlite.create(join(dir, 'data', 'pgdata'));
  const pending = (await pglite.query<{ n: number }>('select count(*)::int as n from queue_jobs')).rows[0]!.n;
  await pglite.close();
  console.log(`embedded-mode: ${pending} of ${requests} accepted requests were still queued at the SIGKILL`);
  expect(pending).toBeGreaterThan(0);

  quell = startQuell('start', env, dir);
  await quell.waitForLog('api listening', 60_000);
  const linked = await waitFor(async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/incidents?status=open`);
    const { incidents } = await res.json() as { incidents: { alert_count: number }[] };
    const total = incidents.reduce((n, i) => n + i.alert_count, 0);
    return total === (requests - 1) * 5 + lastSize ? incidents : undefined;
  }, 60_000, `all ${(requests - 1) * 5 + lastSize} accepted alerts in incidents after the restart`, 250);
  expect(linked).toHaveLength(5);
}, 150_000);
