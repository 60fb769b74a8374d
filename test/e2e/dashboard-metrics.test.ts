import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { freePort } from '../support/net';
import { familyOf, metricNames } from '../support/promql-metrics';
import { REPO, startQuell, type QuellProcess } from '../support/quell-process';

/**
 * Every metric the Grafana dashboard and the Prometheus alert rules query exists on the
 * /metrics of a real Quell (quell start: API and worker in one process, all metrics registered),
 * so a renamed metric cannot leave a panel or an alert silently empty.
 */
const FROM_PROMETHEUS = new Set(['up']); // series Prometheus makes itself

interface Panel {
  readonly title: string; readonly targets?: readonly { readonly expr: string }[]; readonly panels?: readonly Panel[];
}

function dashboardQueries(): { where: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(join(REPO, 'deploy/grafana/dashboards/quell.json'),
    'utf8')) as { panels: Panel[] };
  const all = (panels: readonly Panel[]): Panel[] => panels.flatMap((p) => [p, ...all(p.panels ?? [])]);
  return all(dashboard.panels).flatMap((p) => (p.targets ?? []).map((t) => ({ where: `dashboard panel "${p.title}"`,
    expr: t.expr })));
}

function alertRuleQueries(): { where: string; expr: string }[] {
  const rules = parse(readFileSync(join(REPO, 'deploy/alert-rules.yml'),
    'utf8')) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] };
  return rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert rule ${r.alert ?? r.record ?? '?'}`,
    expr: r.expr })));
}

let quell: QuellProcess | undefined;
let families: Set<string>;

beforeAll(async () => {
  const port = await freePort();
  quell = startQuell('start', {
    QUELL_PORT: String(port), QUELL_HOST: '127.0.0.1', QUELL_DATA_DIR: mkdtempSync(join(tmpdir(), 'quell-dashboard-')),
  });
  await quell.waitForLog('worker started', 60_000);
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string));
}, 90_000);

afterAll(async () => { await quell?.stop(); });

test('the dashboard has the panels an operator looks for', () => {
  const exprs = dashboardQueries().map((q) => q.expr).join('\n');
  for (const metric of ['quell_alerts_received_total', 'quell_queue_jobs', 'quell_queue_oldest_job_age_seconds',
    'quell_pipeline_stage_seconds_bucket',
    'quell_incidents_created_total', 'quell_incidents_resolved_total', 'quell_ingest_jobs_total',
    'quell_runbook_runs_total']) {
    expect(exprs).toContain(metric);
  }
});

test.each([...dashboardQueries(), ...alertRuleQueries()].map((q) => [q.where, q.expr]))(
  '%s: every metric it reads is on /metrics (%s)', (_where, expr) => {
  const names = metricNames(expr);
  expect(names.length).toBeGreaterThan(0);
  const missing = names.filter((n) => !FROM_PROMETHEUS.has(n) && familyOf(n, families) === undefined);
  expect(missing).toEqual([]);
});

test('the extractor reads selectors, not functions, labels or durations', () => {
  expect(metricNames(
    'histogram_quantile(0.95, sum by (le, stage) (rate(quell_pipeline_stage_seconds_bucket{job="x"}[5m])))'))
    .toEqual(['quell_pipeline_stage_seconds_bucket']);
  expect(metricNames('count(min by (dependency) (quell_dependency_up) == 0) or vector(0)'))
    .toEqual(['quell_dependency_up']);
  expect(metricNames('absent(up{job="quell-worker"} == 1)')).toEqual(['up']);
});
