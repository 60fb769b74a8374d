/**
 * `npm run bench -- [scenario]`: one benchmark scenario of scripts/bench/ (default `storm`).
 *
 *   storm      alert storm through Quell (api + workers on Redis and PostgreSQL) and through
 *              Alertmanager, side by side (scripts/bench/storm.ts)
 *   runbooks   runbook trigger latency during a storm, and no-op runs per second
 *              (scripts/bench/runbooks.ts)
 *   reports    the KPI reports over a year of one million incidents (scripts/bench/reports.ts)
 *
 * Settings are BENCH_* environment variables, described at the top of each scenario's file.
 */
import { runMain } from './bench-kit';

// Loaded on demand: a scenario reads its settings when its module loads.
const SCENARIOS: Record<string, () => Promise<{ main(): Promise<number> }>> = {
  storm: () => import('./storm.js'),
  runbooks: () => import('./runbooks.js'),
  reports: () => import('./reports.js'),
};

const name = process.argv[2] ?? 'storm';
const load = SCENARIOS[name];
if (load === undefined) {
  process.stderr.write(
    `bench: unknown scenario ${JSON.stringify(name)}; scenarios: ${Object.keys(SCENARIOS).join(', ')}\n`);
  process.exit(2);
}
runMain(async () => (await load()).main());
