/**
 * `npm run bench -- [scenario]`: one benchmark scenario of scripts/bench/ (default `storm`).
 *
 *   storm      alert storm through Quell (api + workers on Redis and PostgreSQL) and through
 *              Alertmanager, side by side (scripts/bench/storm.ts)
 *   runbooks   runbook trigger latency during a storm, and no-op runs per second
 *              (scripts/bench/runbooks.ts)
 *   reports    the KPI reports over a year of one million incidents (scripts/bench/reports.ts)
 *   steady     receipt -> incident latency at fixed rates, open-loop, with a per-stage breakdown
 *              (scripts/bench/steady.ts)
 *   single     one alert per request, Quell and Alertmanager (scripts/bench/single.ts)
 *   duplicates re-sends of the same alerts (scripts/bench/duplicates.ts)
 *   soak       one million distinct open alerts, then resolved: RSS per process
 *              (scripts/bench/soak.ts; a long run, not in the tests)
 *
 * Settings are BENCH_* environment variables, described at the top of each scenario's file.
 */
import { runMain } from './bench-kit';

// Loaded on demand: a scenario reads its settings when its module loads.
const SCENARIOS: Record<string, () => Promise<{ main(): Promise<number> }>> = {
  storm: () => import('./storm.js'),
  runbooks: () => import('./runbooks.js'),
  reports: () => import('./reports.js'),
  steady: () => import('./steady.js'),
  single: () => import('./single.js'),
  duplicates: () => import('./duplicates.js'),
  soak: () => import('./soak.js'),
};

const name = process.argv[2] ?? 'storm';
const load = SCENARIOS[name];
if (load === undefined) {
  process.stderr.write(
    `bench: unknown scenario ${JSON.stringify(name)}; scenarios: ${Object.keys(SCENARIOS).join(', ')}\n`);
  process.exit(2);
}
runMain(async () => (await load()).main());
