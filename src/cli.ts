#!/usr/bin/env node
import type { Server } from 'node:http';
import { Command } from 'commander';
import { loadConfig } from './config';
import { createLogger, type Logger } from './log';
import { lintRules } from './rules/rules-lint';
import { openRuntime, startApi, startWorker, startWorkerMetrics, type Role } from './runtime';
import { connectDatabase } from './store/connect';
import { migrateToLatest } from './store/migrate';

const program = new Command('quell')
  .description('Monitoring-driven incident automation: alerts in, incidents out.')
  .showHelpAfterError();

program.command('start').description('API and worker in one process (embedded database and queue unless REDIS_URL / DATABASE_URL are set)')
  .action(() => run('start'));
program.command('api').description('the HTTP API only (needs REDIS_URL and DATABASE_URL)').action(() => run('api'));
program.command('worker').description('a worker applying queued alerts (needs REDIS_URL and DATABASE_URL)').action(() => run('worker'));
program.command('migrate').description('apply database migrations and exit').action(async () => {
  const config = loadConfig();
  const log = createLogger(config.QUELL_LOG_LEVEL);
  const { db, kind } = await connectDatabase({ dataDir: config.QUELL_DATA_DIR, ...(config.DATABASE_URL ? { url: config.DATABASE_URL } : {}) });
  try {
    log.info({ database: kind, applied: await migrateToLatest(db) }, 'migrations applied');
  } finally {
    await db.destroy();
  }
});

const rules = program.command('rules').description('check rule files before they are deployed');
rules.command('lint').argument('[path]', 'a rules directory or one rule file (default: QUELL_RULES_DIR)')
  .description('load the rules as the engine would; print every error as file:line:column, '
    + 'then a summary; exit 1 on errors')
  .action(async (path?: string) => {
    process.exitCode = await lintRules(path ?? loadConfig().QUELL_RULES_DIR, {
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
    });
  });

async function run(role: Role): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.QUELL_LOG_LEVEL);
  const rt = await openRuntime(config, log, role);
  const servers: Server[] = [];
  let worker: { close(): Promise<void> } | undefined;
  if (role !== 'worker') servers.push(await startApi(rt));
  if (role !== 'api') worker = startWorker(rt);
  if (role === 'worker') servers.push(await startWorkerMetrics(rt));
  process.on('SIGHUP', () => void rt.rules.reload('SIGHUP'));
  shutdownOn(['SIGTERM', 'SIGINT'], log, async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await worker?.close();
    await rt.close();
  });
}

function shutdownOn(signals: NodeJS.Signals[], log: Logger, close: () => Promise<void>): void {
  let closing = false;
  for (const signal of signals) {
    process.on(signal, () => {
      if (closing) return;
      closing = true;
      log.info({ signal }, 'shutting down: finishing jobs in hand');
      const force = setTimeout(() => process.exit(1), 25_000);
      force.unref();
      close().then(() => process.exit(0), (err: unknown) => { log.error({ err }, 'shutdown failed'); process.exit(1); });
    });
  }
}

program.parseAsync().catch((err: unknown) => {
  const e = err as Error;
  // Configuration and rule errors are the operator's to fix: say what, without a stack.
  const userError = ['ConfigError', 'RuleFileError', 'RulesDirError'].includes(e.name);
  process.stderr.write(`quell: ${userError ? e.message : e.stack ?? e.message}\n`);
  process.exit(userError ? 2 : 1);
});
