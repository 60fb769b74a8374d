/**
 * End to end with a real peer: the Debian `prometheus-alertmanager` binary (v0.25) sends its
 * webhook notifications to a real `quell start` process (compiled CLI, BullMQ on Redis,
 * PostgreSQL). Alerts are posted to Alertmanager's own API; what Quell makes of them is read
 * back through Quell's incidents API and /metrics. Nothing here calls /ingest directly.
 *
 * Needs: `npm run build` first (dist/src/cli.js), PostgreSQL and Redis (see test/support),
 * /usr/bin/prometheus-alertmanager.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startQuell, type QuellProcess } from '../support/quell-process';
import { obliterateQueue, REDIS_URL, uniqueQueueName } from '../support/redis';
import { waitFor } from '../support/wait';
import { freePort } from '../support/net';
import { quellRouteConfig, startAlertmanager, type AlertmanagerServer } from '../support/alertmanager-server';

jest.setTimeout(120_000);

const INGEST_TOKEN = 'e2e-ingest-token-0123456789';
const API_TOKEN = 'e2e-api-token-0123456789';
/** How long Quell has to show what Alertmanager sent (Alertmanager waits group_wait / group_interval = 1 s). */
const PROPAGATION_MS = 30_000;

interface IncidentSummary {
  id: number;
  title: string;
  status: string;
  group_key: string;
  alert_count: number;
  rule: string;
  opened_at: string;
  resolved_at: string | null;
}

interface IncidentDetail extends IncidentSummary {
  alerts: {
    fingerprint: string; labels: Record<string, string>; annotations: Record<string, string>; status: string;
    starts_at: string; ends_at: string | null;
  }[];
  timeline: { at: string; kind: string; actor: string; detail: unknown }[];
}


let database: TestDatabase | undefined;
let queueName: string;
let quellDir: string;
let quell: QuellProcess | undefined;
let workers: QuellProcess[] = [];
let am: AlertmanagerServer | undefined;
let quellUrl: string;

/** The end of both processes' output, to make a failed expectation explainable. */
function diagnostics(): string {
  const tail = (text: string | undefined): string => {
    if (text === undefined) return '(not started)';
    return text.length > 6000 ? `[...]${text.slice(-6000)}` : text;
  };
  const workerTails = workers.map((w, i) => `--- quell worker ${i + 1} output ---\n${tail(w.output())}`).join('\n');
  return `--- quell api output ---\n${tail(quell?.output())}\n${workerTails}\n`
    + `--- alertmanager output ---\n${tail(am?.output())}`;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${API_TOKEN}` } });
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function incidents(status: string): Promise<IncidentSummary[]> {
  return (await getJson<{ incidents: IncidentSummary[] }>(`${quellUrl}/api/v1/incidents?status=${status}`)).incidents;
}

/** waitFor, with both processes' output appended when it times out. */
async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string): Promise<T> {
  try {
    return await waitFor(probe, PROPAGATION_MS, what, 250);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${diagnostics()}`, { cause: err });
  }
}

// One startsAt for the firing and the resolving post: Alertmanager and Quell both key an
// alert episode on it.
const startsAt = new Date(Date.now() - 60_000).toISOString();
const generatorURL = 'http://prometheus.e2e.test:9090/graph?g0.expr=up';

const ALERTS = [
  { labels: { alertname: 'HighErrorRate', cluster: 'eu1', service: 'checkout', instance: 'checkout-1:8080',
    severity: 'critical' }, annotations: { summary: 'checkout-1 answers 5xx' } },
  { labels: { alertname: 'HighErrorRate', cluster: 'eu1', service: 'checkout', instance: 'checkout-2:8080',
    severity: 'critical' }, annotations: { summary: 'checkout-2 answers 5xx' } },
  { labels: { alertname: 'DiskFull', cluster: 'eu1', service: 'db', instance: 'db-1:9100', severity: 'warning' },
    annotations: { summary: 'db-1 /var is 97% full' } },
];

const CHECKOUT_KEY = 'default:{alertname="HighErrorRate",cluster="eu1",service="checkout"}';
const DB_KEY = 'default:{alertname="DiskFull",cluster="eu1",service="db"}';

async function postToAlertmanager(endsAt?: string): Promise<void> {
  const body = ALERTS.map((a) => ({ ...a, startsAt, generatorURL, ...(endsAt ? { endsAt } : {}) }));
  const res = await fetch(`${am!.url}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) {
    throw new Error(`Alertmanager refused the alerts: ${res.status} ${await res.text()}\n${diagnostics()}`);
  }
}

function byKey(list: readonly IncidentSummary[]): Map<string, IncidentSummary> {
  return new Map(list.map((i) => [i.group_key, i]));
}

beforeAll(async () => {
  database = await createTestDatabase();
  queueName = uniqueQueueName();
  quellDir = mkdtempSync(join(tmpdir(), 'quell-e2e-'));
  const quellPort = await freePort();
  quellUrl = `http://127.0.0.1:${quellPort}`;

  // As in production: one `quell api` and two `quell worker` processes on Redis and PostgreSQL.
  const env = {
    QUELL_PORT: String(quellPort),
    QUELL_HOST: '127.0.0.1',
    REDIS_URL,
    DATABASE_URL: database.url,
    QUELL_QUEUE_NAME: queueName,
    QUELL_INGEST_TOKEN: INGEST_TOKEN,
    QUELL_API_TOKEN: API_TOKEN,
    QUELL_DATA_DIR: quellDir,
    QUELL_METRICS_PORT: '0',
  };
  quell = startQuell('api', env);
  workers = [startQuell('worker', env), startQuell('worker', env)];
  await Promise.all([
    quell.waitForLog('api listening', 30_000), ...workers.map((w) => w.waitForLog('worker started', 30_000)),
  ]);

  try {
    am = await startAlertmanager(quellRouteConfig({
      quellUrl, ingestToken: INGEST_TOKEN, groupBy: ['alertname', 'cluster', 'service'],
    }));
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${diagnostics()}`, { cause: err });
  }
});

afterAll(async () => {
  await am?.stop();
  await Promise.all([quell?.stop(), ...workers.map((w) => w.stop())]);
  await database?.drop();
  if (queueName) await obliterateQueue(queueName);
  for (const dir of [quellDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Alertmanager -> Quell, end to end', () => {
  let checkoutId: number;
  let dbId: number;

  test('alerts posted to Alertmanager become incidents', async () => {
    await postToAlertmanager();

    // Both groups, with all their alerts (Alertmanager may flush a group in parts).
    const open = await eventually(async () => {
      const list = await incidents('open');
      const keys = byKey(list);
      const complete = keys.get(CHECKOUT_KEY)?.alert_count === 2 && keys.get(DB_KEY)?.alert_count === 1;
      return list.length === 2 && complete ? list : undefined;
    }, 'two open incidents with 2 and 1 alerts');

    const keys = byKey(open);
    const checkout = keys.get(CHECKOUT_KEY)!;
    const disk = keys.get(DB_KEY)!;
    expect(checkout).toMatchObject({
      title: 'HighErrorRate (cluster=eu1, service=checkout)', status: 'open', rule: 'default', alert_count: 2,
      resolved_at: null,
    });
    expect(disk).toMatchObject({
      title: 'DiskFull (cluster=eu1, service=db)', status: 'open', rule: 'default', alert_count: 1, resolved_at: null,
    });
    checkoutId = checkout.id;
    dbId = disk.id;

    // Nothing else was made of them (no extra incident under another status).
    expect(await incidents('open,acknowledged,resolved')).toHaveLength(2);

    const checkoutDetail = await getJson<IncidentDetail>(`${quellUrl}/api/v1/incidents/${checkoutId}`);
    expect(checkoutDetail.alerts).toHaveLength(2);
    expect(checkoutDetail.alerts.map((a) => a.labels['instance']).sort())
      .toEqual(['checkout-1:8080', 'checkout-2:8080']);
    for (const a of checkoutDetail.alerts) {
      expect(a.status).toBe('firing');
      expect(a.labels)
        .toMatchObject({ alertname: 'HighErrorRate', cluster: 'eu1', service: 'checkout', severity: 'critical' });
      expect(Date.parse(a.starts_at)).toBe(Date.parse(startsAt));
      expect(a.ends_at).toBeNull();
    }
    expect(checkoutDetail.alerts.map((a) => a.annotations['summary']).sort())
      .toEqual(['checkout-1 answers 5xx', 'checkout-2 answers 5xx']);
    expect(checkoutDetail.timeline.filter((e) => e.kind === 'opened')).toHaveLength(1);
    expect(checkoutDetail.timeline.find((e) => e.kind === 'opened'))
      .toMatchObject({ actor: 'quell', detail: { rule: 'default', group_key: CHECKOUT_KEY } });

    const dbDetail = await getJson<IncidentDetail>(`${quellUrl}/api/v1/incidents/${dbId}`);
    expect(dbDetail.alerts).toHaveLength(1);
    expect(dbDetail.alerts[0]).toMatchObject({
      status: 'firing',
      labels: { alertname: 'DiskFull', cluster: 'eu1', service: 'db', instance: 'db-1:9100', severity: 'warning' },
    });
    expect(dbDetail.timeline.map((e) => e.kind)).toContain('opened');
  });

  test('resolving through Alertmanager resolves the incidents', async () => {
    expect(checkoutId).toBeDefined(); // the first test opened them
    await postToAlertmanager(new Date().toISOString());

    const resolved = await eventually(async () => {
      const list = await incidents('resolved');
      return list.length === 2 && list.every((i) => i.resolved_at !== null) ? list : undefined;
    }, 'both incidents resolved');

    expect(resolved.map((i) => i.id).sort((a, b) => a - b)).toEqual([checkoutId, dbId].sort((a, b) => a - b));
    expect(await incidents('open,acknowledged')).toHaveLength(0);
    for (const incident of resolved) {
      expect(Number.isNaN(Date.parse(incident.resolved_at!))).toBe(false);
      expect(Date.parse(incident.resolved_at!)).toBeGreaterThanOrEqual(Date.parse(incident.opened_at));
      const detail = await getJson<IncidentDetail>(`${quellUrl}/api/v1/incidents/${incident.id}`);
      expect(detail.status).toBe('resolved');
      expect(detail.alerts.length).toBe(incident.id === checkoutId ? 2 : 1);
      for (const a of detail.alerts) {
        expect(a.status).toBe('resolved');
        expect(a.ends_at).not.toBeNull();
      }
      const kinds = detail.timeline.map((e) => e.kind);
      expect(kinds).toContain('opened');
      expect(kinds).toContain('resolved');
      expect(kinds.indexOf('resolved')).toBeGreaterThan(kinds.indexOf('opened'));
    }

    const metrics = await (await fetch(`${quellUrl}/metrics`)).text();
    const sample = (name: string): number => {
      const line = metrics.split('\n').find((l) => l.startsWith(`${name} `));
      return line === undefined ? 0 : Number(line.slice(name.length + 1));
    };
    expect(sample('quell_alerts_received_total{connector="alertmanager",status="resolved"}')).toBeGreaterThan(0);
    expect(sample('quell_alerts_received_total{connector="alertmanager",status="firing"}')).toBeGreaterThan(0);
  });
});
