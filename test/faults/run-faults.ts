/**
 * The fault suite (`npm run test:faults`): each scenario starts a Quell deployment of its own
 * (PostgreSQL, Redis, `quell api`, `quell worker`s), sends a paced storm through the webhook,
 * strikes mid-storm, and then checks the promise: every alert that got a 202 is stored exactly
 * once, no process died, the worker resumed by itself. Prints one line per scenario and exits 1
 * if any promise broke. Settings: FAULT_ALERTS (30000), FAULT_RATE (alerts/s, 5000),
 * FAULT_PER_REQUEST (50), FAULT_CLIENTS (8); arguments name scenarios to run (default all).
 */
import { startHarness, TOKEN, type Harness } from './fault-harness';
import { sendStorm, sleep, type StormResult } from './storm-sender';

interface Scenario {
  readonly name: string;
  readonly workers: number;
  /** Strikes, and resolves when the fault is over (the dependency is back). */
  strike(h: Harness): Promise<void>;
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'postgres-stop-fast', workers: 1,
    async strike(h) { await h.pg.stop('fast'); await sleep(5000); await h.pg.start(); },
  },
  {
    name: 'postgres-stop-immediate', workers: 1,
    async strike(h) { await h.pg.stop('immediate'); await sleep(5000); await h.pg.start(); },
  },
  {
    name: 'redis-kill', workers: 1,
    async strike(h) { await h.redis.kill(); await sleep(5000); await h.redis.start(); },
  },
  { name: 'redis-pause', workers: 1, async strike(h) { h.redis.pause(); await sleep(3000); h.redis.resume(); } },
  {
    name: 'worker-sigkill', workers: 2, async strike(h) {
      const victim = h.workers[0];
      if (victim) h.kill(victim);
      await sleep(2000);
      await h.startWorker();
    },
  },
];

const num = (name: string, def: number): number => Number(process.env[name] ?? def);

interface Outcome {
  readonly scenario: string;
  readonly storm: StormResult;
  readonly stored: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly failedJobs: number;
  /** From the end of the fault to the record growing again. */
  readonly recoverySeconds: number;
  /** From the end of the fault to the last accepted alert stored. */
  readonly drainSeconds: number;
  readonly crashed: string[];
}

async function run(s: Scenario): Promise<Outcome> {
  const h = await startHarness(s.workers);
  try {
    const total = num('FAULT_ALERTS', 30_000);
    let strike: Promise<number> | undefined;
    const storm = await sendStorm({
      base: h.base, token: TOKEN, alerts: total, perRequest: num('FAULT_PER_REQUEST', 50),
      clients: num('FAULT_CLIENTS', 8), rate: num('FAULT_RATE', 5000),
    }, (accepted) => {
      // Strike once a quarter of the storm is in, then carry on sending through the fault.
      if (strike === undefined && accepted >= total / 4) strike = s.strike(h).then(() => Date.now());
    });
    const faultEnd = await (strike ?? Promise.resolve(Date.now()));
    const atEnd = await waitCounts(h);
    let recovered: number | undefined;
    let drained: number | undefined;
    const deadline = Date.now() + 120_000;
    let last = atEnd.alerts;
    while (Date.now() < deadline) {
      const c = await h.counts().catch(() => undefined);
      if (c !== undefined) {
        if (recovered === undefined && (c.alerts > last || c.alerts >= storm.accepted)) recovered = Date.now();
        last = c.alerts;
        if (c.alerts >= storm.accepted) { drained = Date.now(); break; }
      }
      await sleep(100);
    }
    await sleep(500);
    const final = await h.counts();
    return {
      scenario: s.name,
      storm,
      stored: final.alerts,
      lost: Math.max(0, storm.accepted - Math.min(final.alerts, final.linked)),
      duplicated: final.appliedTwice + Math.max(0, final.counted - final.linked),
      failedJobs: await h.failedJobs(),
      recoverySeconds: ((recovered ?? Date.now()) - faultEnd) / 1000,
      drainSeconds: ((drained ?? Date.now()) - faultEnd) / 1000,
      crashed: h.crashed(),
    };
  } finally {
    await h.close();
  }
}

/** The record's counts once PostgreSQL answers again. */
async function waitCounts(h: Harness): Promise<{ alerts: number }> {
  for (;;) {
    const c = await h.counts().catch(() => undefined);
    if (c !== undefined) return c;
    await sleep(100);
  }
}

function line(cells: readonly (string | number)[]): string {
  const widths = [26, 7, 9, 7, 5, 11, 7, 6, 11, 8];
  return cells.map((c, i) => String(c).padStart(i === 0 ? 0 : widths[i] ?? 8).padEnd(i === 0 ? widths[0] as number : 0))
    .join(' ');
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const scenarios = wanted.length > 0 ? SCENARIOS.filter((s) => wanted.includes(s.name)) : SCENARIOS;
  if (scenarios.length === 0) throw new Error(`no such scenario; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  console.log(line([
    'scenario', 'sent', 'accepted', 'stored', 'lost', 'duplicated', '503s', 'failed', 'recovery_s', 'drain_s',
  ]));
  let broken = 0;
  for (const s of scenarios) {
    const o = await run(s);
    console.log(line([o.scenario, o.storm.sent, o.storm.accepted, o.stored, o.lost, o.duplicated,
      `${o.storm.unavailable}`, o.failedJobs, o.recoverySeconds.toFixed(1), o.drainSeconds.toFixed(1)]));
    const problems = [
      ...(o.storm.accepted !== o.storm.sent ? [`${o.storm.sent - o.storm.accepted} alerts never accepted`] : []),
      ...(o.lost > 0 ? [`${o.lost} accepted alerts not stored`] : []),
      ...(o.duplicated > 0 ? [`${o.duplicated} applied twice`] : []),
      ...(o.failedJobs > 0 ? [`${o.failedJobs} failed jobs`] : []),
      ...o.crashed.map((c) => `crashed: ${c}`),
    ];
    if (o.storm.uncertain > 0) {
      console.log(`  ${o.storm.uncertain} of the 503s named a job that may have been queued; `
        + 'their resends were that job');
    }
    for (const p of problems) console.log(`  BROKEN: ${p}`);
    if (problems.length > 0) broken++;
  }
  console.log(broken === 0
    ? `faults: ${scenarios.length} passed, 0 failed` : `faults: ${scenarios.length - broken} passed, ${broken} failed`);
  process.exit(broken === 0 ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
