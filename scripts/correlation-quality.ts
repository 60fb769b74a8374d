/**
 * Correlation quality, measured: replays generated data-centre storms (test/quality) through a
 * real `quell start` on Redis + PostgreSQL, reads every incident back through the API, and
 * prints the pairwise precision, recall and F1 of Quell's incidents against the storms' ground
 * truth, for the shipped rules (or the rule sets given) next to `group_by: [alertname]`.
 *
 *   npm run quality                              (builds, then runs dist/scripts/correlation-quality.js)
 *   npm run quality -- --seeds 1,2,3 --rules ./my-rules
 *
 * Options (argv, or the environment variable in brackets):
 *   --seeds 1,2,3,4,5  one storm per seed                                [QUALITY_SEEDS]
 *   --racks 24         racks of 16 hosts, in clusters of eight racks      [QUALITY_RACKS]
 *   --faults 120       faults per storm, look-alike noise not counted     [QUALITY_FAULTS]
 *   --noise N          lone look-alike alerts per storm (2 x faults)      [QUALITY_NOISE]
 *   --span 480         minutes within which the faults start              [QUALITY_SPAN_MINUTES]
 *   --tick 60          seconds of storm time sent in one webhook request  [QUALITY_TICK_SECONDS]
 *   --parallel 2       runs at once, each with its own Quell, database and queue [QUALITY_PARALLEL]
 *   --rules DIR        a rule set to measure (repeatable; default: the shipped rules/)
 *   --json FILE        also write the results as JSON                     [QUALITY_OUT]
 *   --explain          also print, per run, the worst wrong merges and splits   [QUALITY_EXPLAIN=1]
 *   QUALITY_DATABASE_URL  admin URL of PostgreSQL   postgres://postgres@127.0.0.1:5432/postgres
 *   QUALITY_REDIS_URL     Redis                     redis://127.0.0.1:6379
 *   Any other QUELL_* variable reaches Quell (QUELL_WORKER_CONCURRENCY is 1 unless set).
 *
 * Progress goes to stderr, the tables to stdout. Everything it creates (databases, queues,
 * processes, a temporary directory) is removed at the end, also on failure or Ctrl-C. Exits
 * non-zero when anything went wrong (a failed job, an alert the storm never sent).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { itemAt } from '../src/domain/invariant';
import { REPO } from '../test/support/quell-process';
import { errorReport, kindTable, scoreTable } from '../test/quality/quality-report';
import { measureRun, webhookBodies, type RuleSetUnderTest, type RunResult } from '../test/quality/quality-run';
import { generateStorm, STORM_DEFAULTS } from '../test/quality/storm-generator';

const { values: argv } = parseArgs({
  options: {
    seeds: { type: 'string' }, racks: { type: 'string' }, faults: { type: 'string' }, noise: { type: 'string' },
    span: { type: 'string' }, tick: { type: 'string' }, parallel: { type: 'string' },
    rules: { type: 'string', multiple: true }, json: { type: 'string' }, explain: { type: 'boolean' },
  },
});

function intSetting(flag: string | undefined, env: string, def: number, min = 1): number {
  const raw = flag ?? process.env[env];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`${env}: expected an integer >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

const S = {
  adminUrl: process.env['QUALITY_DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: process.env['QUALITY_REDIS_URL'] || 'redis://127.0.0.1:6379',
  seeds: (argv.seeds ?? process.env['QUALITY_SEEDS'] ?? '1,2,3,4,5').split(',')
    .map((s) => intSetting(s.trim(), 'QUALITY_SEEDS', 0, 0)),
  racks: intSetting(argv.racks, 'QUALITY_RACKS', STORM_DEFAULTS.racks),
  faults: intSetting(argv.faults, 'QUALITY_FAULTS', STORM_DEFAULTS.faults, 0),
  noise: (argv.noise ?? process.env['QUALITY_NOISE']) ? intSetting(argv.noise, 'QUALITY_NOISE', 0, 0) : undefined,
  spanMinutes: intSetting(argv.span, 'QUALITY_SPAN_MINUTES', STORM_DEFAULTS.spanMinutes),
  tickMs: intSetting(argv.tick, 'QUALITY_TICK_SECONDS', 60) * 1000,
  parallel: intSetting(argv.parallel, 'QUALITY_PARALLEL', 2),
  out: argv.json ?? (process.env['QUALITY_OUT'] || undefined),
  explain: argv.explain ?? process.env['QUALITY_EXPLAIN'] === '1',
};

const BASELINE = 'group_by [alertname]';
const progress = (line: string): void => { process.stderr.write(`${line}\n`); };
const say = (line = ''): void => { process.stdout.write(`${line}\n`); };

// Clean-up: undo steps, run once, newest first; a run undoes its own steps when it ends.
const undo: { what: string; run: () => Promise<unknown> }[] = [];
let cleaning: Promise<void> | undefined;

function onCleanup(what: string, run: () => Promise<unknown>): () => Promise<void> {
  const step = { what, run };
  undo.push(step);
  return async () => {
    const i = undo.indexOf(step);
    if (i >= 0) { undo.splice(i, 1); await run(); }
  };
}

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (let step = undo.pop(); step !== undefined; step = undo.pop()) {
      try { await step.run(); } catch (err) { progress(`quality: clean-up (${step.what}): ${(err as Error).message}`); }
    }
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`quality: ${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  const tmpDir = mkdtempSync(join(tmpdir(), 'quell-quality-'));
  onCleanup(`remove ${tmpDir}`, () => {
    rmSync(tmpDir, { recursive: true, force: true });
    return Promise.resolve();
  });
  const baselineDir = join(tmpDir, 'group-by-alertname');
  mkdirSync(baselineDir);
  writeFileSync(join(baselineDir, 'rules.yaml'), [
    '# The baseline: Alertmanager-style group_by: [alertname], with the default window (1h).',
    'apiVersion: quell/v1', 'kind: CorrelationRules', 'rules:',
    '  - name: by-alertname', '    group_by: [alertname]', '',
  ].join('\n'));
  const given = argv.rules ?? [];
  const ruleSets: RuleSetUnderTest[] = [
    ...(given.length > 0
      ? given.map((d) => ({ name: `${basename(resolve(d))}/`, rulesDir: resolve(d) }))
      : [{ name: 'rules/', rulesDir: join(REPO, 'rules') }]),
    { name: BASELINE, rulesDir: baselineDir },
  ];

  // Real times a day ago: ingest refuses alert times before 1970 or in the future.
  const startMs = Math.floor((Date.now() - 24 * 3600_000) / 60_000) * 60_000;
  const storms = S.seeds.map((seed) => generateStorm({
    seed, racks: S.racks, faults: S.faults, spanMinutes: S.spanMinutes, startMs,
    ...(S.noise !== undefined ? { noise: S.noise } : {}),
  }));
  const tasks = storms.flatMap((storm) => {
    const bodies = webhookBodies(storm, S.tickMs);
    progress(`seed ${storm.options.seed}: ${storm.alerts.length} alerts (${storm.events.length} events), `
      + `${storm.faults.length} faults with noise (${storm.dropped} found no room), `
      + `${storm.cmdb.cis.length} CIs; ${bodies.length} requests`);
    return ruleSets.map((rules) => ({ storm, bodies, rules }));
  });
  const quellEnv = Object.fromEntries(Object.entries(process.env)
    .filter((e): e is [string, string] => e[0].startsWith('QUELL_') && e[1] !== undefined));
  const settings = {
    adminUrl: S.adminUrl, redisUrl: S.redisUrl, tickMs: S.tickMs, tmpDir, quellEnv, onCleanup, progress,
  };
  const results: RunResult[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(S.parallel, tasks.length) }, async () => {
    while (next < tasks.length) {
      const { storm, bodies, rules } = itemAt(tasks, next++, 'task');
      const r = await measureRun(storm, bodies, rules, settings);
      results.push(r);
      progress(`[seed ${r.seed} ${r.configuration}] F1 ${r.score.f1.toFixed(2)} in ${r.seconds.toFixed(1)} s `
        + `(${results.length}/${tasks.length} runs done)`);
    }
  }));

  const failures: string[] = [];
  for (const r of results) {
    const run = `seed ${r.seed} ${r.configuration}`;
    if (r.failedJobs > 0) failures.push(`${run}: ${r.failedJobs} jobs failed`);
    if (r.unknown > 0) failures.push(`${run}: ${r.unknown} alerts in incidents that the storm never sent`);
  }
  const o = itemAt(storms, 0, 'storm').options;
  const topology = [...new Set(results.filter((r) => r.configuration !== BASELINE).map((r) => r.topology))];
  say('Pairwise precision (P), recall (R) and F1 of incidents against the true faults, over alert');
  say(`episodes ("alone": alerts in no incident, counted alone). Storms: ${o.racks} racks x ${o.hostsPerRack} hosts,`);
  say(`${o.faults} faults and ${o.noise} look-alike alerts starting within ${o.spanMinutes / 60} h, `
    + `sent in ${S.tickMs / 1000} s ticks; CMDB ${topology.join(' / ')}.`);
  say();
  say(scoreTable(storms, ruleSets, results));
  say();
  say(kindTable(storms, ruleSets, results));
  if (S.explain) {
    for (const storm of storms) {
      for (const r of results.filter((x) => x.seed === storm.options.seed && x.configuration !== BASELINE)) {
        say();
        say(`seed ${r.seed} ${r.configuration}: P ${r.score.precision.toFixed(3)} R ${r.score.recall.toFixed(3)}`);
        for (const line of errorReport(storm, r.incidentOf)) say(line);
      }
    }
  }
  for (const f of failures) say(`FAILED: ${f}`);
  if (S.out) {
    const summary = storms.map((s) => ({
      seed: s.options.seed, alerts: s.alerts.length, events: s.events.length, dropped: s.dropped, faults: s.faults,
    }));
    writeFileSync(S.out, `${JSON.stringify({
      // The server URLs stay out: they may hold passwords.
      settings: { ...S, adminUrl: undefined, redisUrl: undefined, ruleSets }, storms: summary, results,
      at: new Date().toISOString(),
    }, null, 2)}\n`);
  }
  return failures.length > 0 ? 1 : 0;
}

let code = 1;
main()
  .then((c) => { code = c; })
  .catch((err: unknown) => { progress(`quality: ${(err as Error).stack ?? String(err)}`); code = 1; })
  .finally(async () => {
    await cleanup();
    process.exit(code);
  });
