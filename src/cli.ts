#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { setPriority } from 'node:os';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { settingsHelp } from './cli-settings';
import { hashToken } from './http/api-tokens';
import { ROLES } from './http/principal';
import { loadConfig } from './config';
import { configCheck } from './tooling/config-check-command';
import { migrateAtStart } from './startup-database';
import { createLogger, type Logger } from './log';
import type { Connector } from './connectors/connector';
import { loadConnectors } from './connectors/connector-registry';
import { lintRules, type LintOutput } from './rules/rules-lint';
import { previewConnector } from './tooling/connector-preview';
import { replay } from './tooling/replay-command';
import { testRules } from './tooling/rules-test-command';
import { openRuntime, startApi, startWorker, startWorkerMetrics, type Role } from './runtime';
import { connectDatabase } from './store/connect';

/** The package's version (package.json beside dist/). */
function version(): string {
  return (JSON.parse(readFileSync(resolve(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;
}

const program = new Command('quell')
  .description('Monitoring-driven incident automation: alerts in, incidents out.')
  .version(version(), '-V, --version', 'print the version')
  .showHelpAfterError()
  .addHelpText('after', `
Run it with \`npx quell <command>\` in a checkout (after npm install), or \`quell <command>\` in the image.
Each command's --help lists the settings it reads. \`quell config check\` tests them before a deploy.`);

/** A command whose --help ends with the settings it reads. */
function command(parent: Command, name: string, path = name): Command {
  return parent.command(name).addHelpText('after', () => settingsHelp(path));
}

command(program, 'start')
  .description('API and worker in one process (embedded database and queue unless REDIS_URL / DATABASE_URL '
    + 'are set)')
  .action(() => run('start'));
command(program, 'api').description('the HTTP API only (needs REDIS_URL and DATABASE_URL)').action(() => run('api'));
command(program, 'worker').description('a worker applying queued alerts (needs REDIS_URL and DATABASE_URL)')
  .action(() => run('worker'));
command(program, 'migrate').description('apply database migrations and exit').action(async () => {
  const config = loadConfig();
  const log = createLogger(config.QUELL_LOG_LEVEL);
  const { db, kind } = await connectDatabase({
    dataDir: config.QUELL_DATA_DIR, ...(config.DATABASE_URL ? { url: config.DATABASE_URL } : {}),
  });
  try {
    const { applied } = await migrateAtStart(db, config.DATABASE_URL, log, false);
    log.info({ database: kind, applied }, 'migrations applied');
  } finally {
    await db.destroy();
  }
});

const config = program.command('config').description('check the settings before a deploy');
command(config, 'check', 'config check')
  .description('validate the settings and rules, connect to the database and Redis, and print the settings it '
    + 'would run with (secrets masked); exit 0 if all is well, 2 if not')
  .action(async () => { process.exitCode = await configCheck(lines()); });

const rules = program.command('rules').description('check rule files before they are deployed');
command(rules, 'lint', 'rules lint').argument('[path]', 'a rules directory or one rule file (default: QUELL_RULES_DIR)')
  .description('load the rules as the engine would; print every error as file:line:column, '
    + 'then a summary; exit 1 on errors')
  .action(async (path?: string) => {
    process.exitCode = await lintRules(path ?? loadConfig().QUELL_RULES_DIR, lines());
  });

command(rules, 'test', 'rules test').argument('[paths...]', 'rule test files (*.test.yaml), or directories to '
  + 'search for them (default: QUELL_RULES_DIR)')
  .description('run rule tests on the engine itself: input alerts at times, expected incidents; a diff for '
    + 'each failure; exit 1 if any fails')
  .action(async (paths: string[]) => {
    const config = loadConfig();
    process.exitCode = await testRules(paths.length > 0 ? paths : [config.QUELL_RULES_DIR], lines(), {
      connector: alertmanagerConnector(), maxClockSkewSeconds: config.QUELL_MAX_CLOCK_SKEW_SECONDS,
    });
  });

const tokens = program.command('tokens')
  .description('API tokens for QUELL_TOKENS_FILE (the file holds their SHA-256 only)');
tokens.command('hash')
  .argument('[token]', 'the token (default: read from standard input, so that it stays out of shell history)')
  .description('print the SHA-256 of a token, as the sha256 of a QUELL_TOKENS_FILE entry')
  .action(async (token?: string) => {
    const text = token ?? (await readStdin()).replace(/\r?\n$/, '');
    if (text === '') tokens.error('quell tokens hash: no token given (argument or standard input)');
    process.stdout.write(`${hashToken(text)}\n`);
  });
tokens.command('new').requiredOption('--name <name>', 'the name timelines record as the actor')
  .addOption(new Option('--role <role>', 'what the token may do').choices(ROLES).makeOptionMandatory())
  .description('make a random token: print it once (hand it to its holder) and its QUELL_TOKENS_FILE entry')
  .action((o: { name: string; role: string }) => {
    const token = randomBytes(32).toString('base64url');
    process.stdout.write(`token: ${token}\n# QUELL_TOKENS_FILE entry:\n- name: ${JSON.stringify(o.name)}\n`
      + `  role: ${o.role}\n  sha256: ${hashToken(token)}\n`);
  });

command(program, 'replay').argument('<recording>', 'recorded webhook payloads, one JSON per line: '
  + '{"offsetMs":…,"payload":{…}}')
  .description('dry-run recorded alerts through the engine (in memory, nothing deployed) and print the incidents '
    + 'that would form; with --against, what would change between two rule sets')
  .option('--rules <path>', 'the rules to replay with, a directory or a file (default: QUELL_RULES_DIR)')
  .option('--against <path>', 'other rules: print what would change from --rules to these')
  .option('--cmdb <file>', 'a CMDB document (JSON or YAML) to correlate by topology with')
  .option('--start <time>', 'when the recording began, ISO 8601 (default: inferred from the alerts\' times)')
  .option('--json', 'print JSON')
  .action(async (
    recording: string, o: { rules?: string; against?: string; cmdb?: string; start?: string; json?: boolean },
  ) => {
    const config = loadConfig();
    process.exitCode = await replay(recording, lines(), {
      rules: o.rules ?? config.QUELL_RULES_DIR,
      ...(o.against !== undefined ? { against: o.against } : {}),
      ...(o.cmdb !== undefined ? { cmdb: o.cmdb } : {}),
      ...(o.start !== undefined ? { start: o.start } : {}),
      json: o.json === true,
      connector: alertmanagerConnector(),
      maxClockSkewSeconds: config.QUELL_MAX_CLOCK_SKEW_SECONDS,
      progress: process.stderr,
    });
  });

const connectors = program.command('connectors').description('look at connectors before a source is pointed at Quell');
connectors.command('preview').argument('<id>', 'the connector, e.g. zabbix')
  .argument('<payloads...>', 'payload files (JSON), as the source would post them')
  .description('print the normalized alerts and fingerprints the payloads would become (no server), and fingerprints '
    + 'that several label sets share')
  .option('--json', 'print JSON')
  .action((id: string, payloads: string[], o: { json?: boolean }) => {
    process.exitCode = previewConnector(loadConnectors(), id, payloads, lines(), {
      json: o.json === true, maxClockSkewSeconds: loadConfig().QUELL_MAX_CLOCK_SKEW_SECONDS,
    });
  });

async function run(role: Role): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.QUELL_LOG_LEVEL);
  if (role === 'worker') yieldCpu(config.QUELL_WORKER_NICE, log);
  const rt = await openRuntime(config, log, role);
  const servers: Server[] = [];
  let worker: { close(): Promise<void> } | undefined;
  let closing = false;
  shutdownOn(['SIGTERM', 'SIGINT'], log, async () => {
    closing = true;
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await worker?.close();
    await rt.close();
  });
  process.on('SIGHUP', () => void rt.rules.reload('SIGHUP'));
  if (role !== 'worker') servers.push(await startApi(rt));
  if (role === 'worker') servers.push(await startWorkerMetrics(rt));
  // A worker takes jobs once the schema is current (at once, unless PostgreSQL was down at start).
  if (role !== 'api') await rt.schemaReady;
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- shutdown may set it during the awaits
  if (role !== 'api' && !closing) worker = startWorker(rt);
}

/**
 * Lowers this process's scheduling priority to `nice` (QUELL_WORKER_NICE). Raising niceness needs
 * no privilege; if it fails all the same, the worker runs as started and says so.
 */
function yieldCpu(nice: number, log: Logger): void {
  if (nice === 0) return;
  try {
    setPriority(nice);
  } catch (err) {
    log.warn({ err, nice }, 'QUELL_WORKER_NICE: could not lower the worker\'s priority; it runs as started');
  }
}

/** Lines to stdout (results) and stderr (problems). A reader that went away (`| head`) ends the command. */
function lines(): LintOutput {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  return { out: (line) => process.stdout.write(`${line}\n`), err: (line) => process.stderr.write(`${line}\n`) };
}

/** The connector replayed and tested alerts go through: Alertmanager's webhook. */
function alertmanagerConnector(): Connector {
  const connector = loadConnectors().find((c) => c.id === 'alertmanager');
  if (connector === undefined) throw new Error('the alertmanager connector is missing from connectors/');
  return connector;
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
      close().then(() => process.exit(0), (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
    });
  }
}

program.parseAsync().catch((err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  // Configuration and rule errors are the operator's to fix: one line saying what and how, exit 2.
  const userError = ['ConfigError', 'RuleFileError', 'RulesDirError'].includes(e.name);
  const debug = /^(debug|trace)$/i.test(process.env['QUELL_LOG_LEVEL'] ?? '');
  const cause = e.cause instanceof Error ? `\ncaused by: ${e.cause.stack ?? e.cause.message}` : '';
  const more = debug ? `\n${e.stack ?? ''}${cause}` : userError ? '' : ' (QUELL_LOG_LEVEL=debug shows the stack)';
  process.stderr.write(`quell: ${e.message}${more}\n`);
  process.exit(userError ? 2 : 1);
});

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
