/**
 * `quell worker` with runbooks given in code and an executor that only reports (the Runbooks rule
 * kind and the executor are built elsewhere): the runtime's own wiring (ingest consumer, record
 * stage, outbox relay and sweeper, runbook consumer). Run as `node dist/test/support/runbook-worker.js`
 * with Quell's environment; RUNBOOK_WORKER_RUNBOOKS is a JSON list of
 * `{ name, triggers, matchers? }`. Prints `executed run <id>` for each call of the executor.
 */
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { createRunbookSet } from '../../src/runbooks/runbook-set';
import { openRuntime, startWorker } from '../../src/runtime';
import { testRunbook } from './runbooks';

async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.QUELL_LOG_LEVEL);
  const specs = JSON.parse(process.env['RUNBOOK_WORKER_RUNBOOKS'] ?? '[]') as
    { name: string; triggers: []; matchers?: string[] }[];
  const set = createRunbookSet(specs.map((s) => testRunbook(s.name, s.triggers, { matchers: s.matchers ?? [] })));
  const rt = await openRuntime(config, log, 'worker', { runbooks: () => set });
  const worker = startWorker(rt, {
    executor: { async execute(runId) { process.stdout.write(`executed run ${runId}\n`); } },
  });
  process.on('SIGTERM', () => void worker.close().then(() => rt.close()).then(() => process.exit(0)));
}

void main().catch((err: unknown) => { process.stderr.write(`${String(err)}\n`); process.exit(1); });
