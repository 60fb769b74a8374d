/**
 * The closed loop on real parts (issue 6, part 10). A small HTTP service (the fixture) exposes
 * `fixture_healthy`; the Debian `prometheus` binary scrapes it every second and fires
 * `FixtureUnhealthy` when it is 0; the Debian `prometheus-alertmanager` routes that to a real
 * `quell api` (+ two `quell worker`s on Redis and PostgreSQL). Quell opens an incident, and its
 * runbook (rules dir of this test, `kind: Runbooks`) calls the fixture's POST /repair. Then the
 * way back: Prometheus scrapes it healthy, resolves the alert, Alertmanager sends the resolve,
 * Quell resolves the incident, and the run's post-check passes: the change is recorded as
 * successful. Nothing here calls Quell's /ingest or the fixture's /repair itself.
 *
 * It prints time-to-remediate (fixture broken -> incident resolved) and Quell's share of it
 * (alert received by Quell -> repair called).
 *
 * Needs: `npm run build` first (dist/src/cli.js), PostgreSQL and Redis (see test/support),
 * /usr/bin/prometheus and /usr/bin/prometheus-alertmanager (scripts/test-services.sh).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { quellRouteConfig, startAlertmanager, type AlertmanagerServer } from '../support/alertmanager-server';
import { startHealthService, type HealthService } from '../support/health-service';
import { freePort } from '../support/net';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { startPrometheus, type PrometheusServer } from '../support/prometheus-server';
import { CLI, startQuell, startWorkers, type QuellProcess } from '../support/quell-process';
import { obliterateQueue, REDIS_URL, uniqueQueueName } from '../support/redis';
import { waitFor } from '../support/wait';

jest.setTimeout(180_000);

const INGEST_TOKEN = 'closed-loop-ingest-token-0123456789';
const API_TOKEN = 'closed-loop-api-token-0123456789';
/**
 * Each leg of the loop (scrape 1 s, rule evaluation 1 s, Alertmanager group_interval 1 s) takes
 * seconds; this is the bound of one leg.
 */
const LEG_MS = 45_000;
const RUNBOOK = 'repair-fixture';

// --- What the test deploys -------------------------------------------------------------------

/** Prometheus's rule: unhealthy at once (for: 0s), so the loop's time is Quell's and the peers' latency, not a wait. */
const PROMETHEUS_RULES = `groups:
  - name: fixture
    interval: 1s
    rules:
      - alert: FixtureUnhealthy
        expr: fixture_healthy == 0
        for: 0s
        labels:
          severity: critical
          service: fixture
        annotations:
          summary: 'fixture {{ $labels.instance }} is unhealthy'
`;

/** Quell's rules dir: one correlation rule for the fixture's alert, and the runbook that repairs it. */
const CORRELATION_RULES = `apiVersion: quell/v1
kind: CorrelationRules
rules:
  - name: fixture
    matchers: ['alertname="FixtureUnhealthy"']
    group_by: [alertname, instance]
    group_window: 5m
`;

/**
 * The runbook, in the shape rules/README.md documents: on `opened`, POST the alert's instance's
 * /repair (the URL's host comes from the `instance` label Prometheus set), then comment with
 * the repair's answer. No retry: the repair must be called exactly once.
 */
const RUNBOOKS = `apiVersion: quell/v1
kind: Runbooks
runbooks:
  - name: ${RUNBOOK}
    description: Repair the fixture service when its health alert fires
    triggers:
      - event: opened
    matchers: ['alertname="FixtureUnhealthy"']
    approval: none
    post_check: { resolved_within: 60s }
    steps:
      - name: repair
        action: http
        with:
          method: POST
          url: 'http://{{ labels.instance }}/repair'
          body: { incident: '{{ incident.id }}' }
          expect_status: [200]
        timeout: 10s
      - name: note
        action: incident
        with: { comment: 'repair answered {{ steps.repair.status }}' }
`;

// --- API shapes read here --------------------------------------------------------------------

interface Incident {
  id: number;
  title: string;
  status: string;
  rule: string;
  group_key: string;
  opened_at: string;
  resolved_at: string | null;
  alerts: {
    fingerprint: string; labels: Record<string, string>; status: string; received_at: string; ends_at: string | null;
  }[];
  timeline: { at: string; kind: string; actor: string; detail: Record<string, unknown> }[];
}

interface RunbookRun {
  id: number;
  runbook: string;
  incident_id: number;
  status: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  steps?: {
    idx: number; name: string; action: string; status: string; attempts: number;
    output: Record<string, unknown> | null; error: string | null; started_at: string | null; finished_at: string | null;
  }[];
}

interface Change {
  id: number;
  run_id: number;
  incident_id: number;
  runbook: string;
  type: string;
  status: string;
  outcome: string | null;
}

// --- The parts -------------------------------------------------------------------------------

let fixture: HealthService | undefined;
let prometheus: PrometheusServer | undefined;
let alertmanager: AlertmanagerServer | undefined;
let api: QuellProcess | undefined;
let workers: QuellProcess[] = [];
let database: TestDatabase | undefined;
let queueName: string | undefined;
let dir: string | undefined;
let quellUrl = '';

function diagnostics(): string {
  const tail = (name: string, text: string | undefined): string => {
    if (text === undefined) return `--- ${name} ---\n(not started)`;
    return `--- ${name} ---\n${text.length > 5000 ? `[...]${text.slice(-5000)}` : text}`;
  };
  return [
    `fixture: healthy=${fixture?.healthy()} repairs=${fixture?.repairs.length}`,
    tail('quell api', api?.output()),
    ...workers.map((w, i) => tail(`quell worker ${i + 1}`, w.output())),
    tail('alertmanager', alertmanager?.output()),
    tail('prometheus', prometheus?.output()),
  ].join('\n');
}

/** waitFor with every process's output appended when it times out. */
async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string, ms = LEG_MS): Promise<T> {
  try {
    return await waitFor(probe, ms, what, 200);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${diagnostics()}`, { cause: err });
  }
}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(`${quellUrl}${path}`, { headers: { authorization: `Bearer ${API_TOKEN}` } });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** A list answer's items (`{ <name>: [...], next }`, as GET /api/v1/incidents answers). */
function itemsOf<T>(body: Record<string, unknown>, ...names: string[]): T[] {
  for (const name of names) if (Array.isArray(body[name])) return body[name] as T[];
  throw new Error(`expected a list under ${names.join(' or ')}: ${JSON.stringify(body).slice(0, 500)}`);
}

const runsOf = async (incidentId: number): Promise<RunbookRun[]> =>
  itemsOf<RunbookRun>(await getJson(`/api/v1/runbook-runs?incident=${incidentId}`), 'runs', 'runbook_runs');
const changes = async (): Promise<Change[]> => itemsOf<Change>(await getJson('/api/v1/changes'), 'changes');
const incident = (id: number): Promise<Incident> => getJson<Incident>(`/api/v1/incidents/${id}`);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'quell-closed-loop-'));
  const rulesDir = join(dir, 'rules');
  mkdirSync(rulesDir);
  writeFileSync(join(rulesDir, '10-fixture.yaml'), CORRELATION_RULES);
  writeFileSync(join(rulesDir, '20-runbooks.yaml'), RUNBOOKS);
  // The rules load as the engine loads them, or the test says so before starting anything (a
  // build without the Runbooks kind fails here: "unknown kind").
  try {
    await promisify(execFile)(process.execPath, [CLI, 'rules', 'lint', rulesDir]);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `the closed loop's rules do not load (is the Runbooks kind built?):\n${e.stdout ?? ''}${e.stderr ?? e.message}`,
      { cause: err });
  }

  fixture = await startHealthService({ healthy: true });
  database = await createTestDatabase();
  queueName = uniqueQueueName();
  const quellPort = await freePort();
  quellUrl = `http://127.0.0.1:${quellPort}`;

  alertmanager = await startAlertmanager(quellRouteConfig({
    quellUrl, ingestToken: INGEST_TOKEN, groupBy: ['alertname', 'instance'],
    groupWait: '0s', groupInterval: '1s', repeatInterval: '24h',
  }));
  prometheus = await startPrometheus({
    targets: [fixture.instance], job: 'fixture', rules: PROMETHEUS_RULES,
    alertmanagers: [alertmanager.url], scrapeInterval: '1s', evaluationInterval: '1s',
  });

  // As in production: one `quell api` and two `quell worker` processes on Redis and PostgreSQL.
  const env = {
    QUELL_PORT: String(quellPort),
    QUELL_HOST: '127.0.0.1',
    REDIS_URL,
    DATABASE_URL: database.url,
    QUELL_QUEUE_NAME: queueName,
    QUELL_INGEST_TOKEN: INGEST_TOKEN,
    QUELL_API_TOKEN: API_TOKEN,
    QUELL_DATA_DIR: join(dir, 'quell-data'),
    QUELL_RULES_DIR: rulesDir,
    QUELL_METRICS_PORT: '0',
    // The fixture listens on loopback, which the http action refuses unless allowed.
    QUELL_HTTP_ALLOW: '127.0.0.1',
    QUELL_PROMETHEUS_URL: prometheus.url,
  };
  api = startQuell('api', env);
  await api.waitForLog('api listening', 30_000);
  workers = await startWorkers(2, env);

  // The loop is closed before the fixture breaks: Prometheus has scraped it healthy and knows
  // its Alertmanager.
  await eventually(async () => {
    const samples = await prometheus!.query(`fixture_healthy{instance="${fixture!.instance}"}`);
    return samples.length === 1 && samples[0]!.value === 1;
  }, 'Prometheus scraping the fixture as healthy');
  await eventually(async () => {
    const res = await fetch(`${prometheus!.url}/api/v1/alertmanagers`);
    const body = (await res.json()) as { data: { activeAlertmanagers: { url: string }[] } };
    return body.data.activeAlertmanagers.length > 0;
  }, 'Prometheus knowing its Alertmanager');
});

afterAll(async () => {
  await prometheus?.stop();
  await alertmanager?.stop();
  await Promise.all([api?.stop(), ...workers.map((w) => w.stop())]);
  await fixture?.stop();
  await database?.drop();
  if (queueName !== undefined) {
    // The ingest queue, and the runbook queue should it be named after it.
    for (const name of [queueName, `${queueName}-runbook`]) await obliterateQueue(name);
  }
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('closed loop: Prometheus -> Alertmanager -> Quell -> runbook -> repaired', () => {
  let brokeAt = 0;
  let incidentId = 0;

  test('a broken service opens an incident through Prometheus and Alertmanager', async () => {
    brokeAt = fixture!.break();

    const opened = await eventually(async () => {
      const body = await getJson<{ incidents: Incident[] }>('/api/v1/incidents?status=open,acknowledged,resolved');
      return body.incidents.find((i) => i.rule === 'fixture');
    }, 'an incident of rule "fixture"');
    incidentId = opened.id;

    const detail = await incident(incidentId);
    expect(detail.group_key).toBe(`fixture:{alertname="FixtureUnhealthy",instance="${fixture!.instance}"}`);
    expect(detail.alerts).toHaveLength(1);
    expect(detail.alerts[0]!.labels).toMatchObject({
      alertname: 'FixtureUnhealthy', instance: fixture!.instance, job: 'fixture', severity: 'critical',
      service: 'fixture',
    });
    expect(detail.timeline.filter((e) => e.kind === 'opened')).toHaveLength(1);
  });

  test('the runbook repairs it, the alert resolves, and the change is recorded as successful', async () => {
    expect(incidentId).toBeGreaterThan(0); // the first test opened it

    // Quell called the fixture's /repair, once, with the incident's id (a rendered template).
    await eventually(async () => fixture!.repairs.length > 0, 'the runbook calling POST /repair');
    const repair = fixture!.repairs[0]!;
    expect(JSON.parse(repair.body)).toEqual({ incident: String(incidentId) });

    // Prometheus sees it healthy; its alert resolves; Alertmanager sends the resolve; Quell resolves.
    await eventually(async () => {
      const samples = await prometheus!.query(`fixture_healthy{instance="${fixture!.instance}"}`);
      return samples.length === 1 && samples[0]!.value === 1;
    }, 'Prometheus scraping the repaired fixture as healthy');
    const resolved = await eventually(async () => {
      const i = await incident(incidentId);
      return i.status === 'resolved' ? i : undefined;
    }, 'Quell resolving the incident');
    // Resolved by Quell (its alerts resolved), not by a person.
    expect(resolved.timeline.find((e) => e.kind === 'resolved')?.actor).toBe('quell');
    expect(resolved.alerts.every((a) => a.status === 'resolved' && a.ends_at !== null)).toBe(true);
    expect(await prometheus!.alerts()).toEqual([]);
    const metrics = await (await fetch(`${quellUrl}/metrics`)).text();
    expect(metrics).toMatch(/^quell_alerts_received_total\{connector="alertmanager",status="resolved"\} [1-9]/m);

    // The run: succeeded (its post-check saw the alerts resolve), both steps done, repair once.
    const run = await eventually(async () => {
      const runs = await runsOf(incidentId);
      const finished = ['succeeded', 'failed', 'ineffective', 'cancelled', 'rejected'];
      return runs.length === 1 && finished.includes(runs[0]!.status) ? runs[0] : undefined;
    }, 'the run to finish');
    expect(run).toMatchObject({ runbook: RUNBOOK, incident_id: incidentId, status: 'succeeded' });
    const runDetail = await getJson<RunbookRun>(`/api/v1/runbook-runs/${run.id}`);
    expect(runDetail.steps?.map((s) => [s.name, s.action, s.status])).toEqual([
      ['repair', 'http', 'succeeded'],
      ['note', 'incident', 'succeeded'],
    ]);
    const repairStep = runDetail.steps![0]!;
    expect(repairStep.attempts).toBe(1);
    expect(repairStep.output).toMatchObject({ status: 200 });

    // The change: a standard change (approval: none), implemented, successful.
    const change = await eventually(
      async () => (await changes()).find((c) => c.run_id === run.id && c.outcome !== null), 'the change record closed');
    expect(change).toMatchObject({
      incident_id: incidentId, runbook: RUNBOOK, type: 'standard', status: 'implemented', outcome: 'successful',
    });

    // The timeline tells the story: opened, the run and its steps, the comment, resolved.
    const timeline = (await incident(incidentId)).timeline;
    const kinds = timeline.map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['opened', 'runbook', 'runbook_step', 'commented', 'resolved']));
    expect(timeline.find((e) => e.kind === 'commented')?.detail).toMatchObject({ comment: 'repair answered 200' });
    expect(timeline.some((e) => e.kind === 'runbook' && e.detail['status'] === 'succeeded')).toBe(true);
    expect(timeline.some((e) => e.kind === 'escalated')).toBe(false);

    // Nothing ran twice, and nothing else opened (a moment for a stray redelivery to show).
    await new Promise((r) => setTimeout(r, 2000));
    expect(fixture!.repairs).toHaveLength(1);
    expect(await runsOf(incidentId)).toHaveLength(1);
    const all = await getJson<{ incidents: Incident[] }>('/api/v1/incidents?status=open,acknowledged,resolved');
    expect(all.incidents).toHaveLength(1);

    // Time-to-remediate and Quell's share of it, on this machine's one clock.
    const receivedAt = Math.min(...resolved.alerts.map((a) => Date.parse(a.received_at)));
    const resolvedAt = Date.parse(resolved.resolved_at!);
    const stepStartedAt = Date.parse(repairStep.started_at!);
    const rows: [string, number][] = [
      ['time to remediate (fixture broken -> incident resolved)', resolvedAt - brokeAt],
      ["Quell's share (alert received -> /repair called)", repair.at - receivedAt],
      ['  of which run created -> first step started', stepStartedAt - Date.parse(run.created_at)],
      ['detection (broken -> alert received by Quell)', receivedAt - brokeAt],
      ['recovery (/repair called -> incident resolved)', resolvedAt - repair.at],
    ];
    const report = ['closed loop timings:', ...rows.map(([what, n]) => `  ${what.padEnd(58)}${Math.round(n)} ms`)]
      .join('\n');
    process.stdout.write(`${report}\n`);
    expect(receivedAt).toBeGreaterThanOrEqual(brokeAt);
    expect(repair.at).toBeGreaterThanOrEqual(receivedAt);
    expect(resolvedAt).toBeGreaterThanOrEqual(repair.at);
  });
});
