import { sql } from 'kysely';
import { ConfigError, loadConfig, redacted, type Config } from '../config';
import { BullmqQueue } from '../queue/bullmq-queue';
import { lintRules, type LintOutput } from '../rules/rules-lint';
import { describeDatabaseError, describeRedisError } from '../startup-errors';
import { connectDatabase } from '../store/connect';

/**
 * `quell config check`: the settings (schema, config file), the rules (as `rules lint`), and the
 * servers they name (PostgreSQL answers as that role on that database; Redis answers and keeps
 * jobs: noeviction). Prints the settings it would run with, secrets masked. 0: all well; 2: not.
 */
export async function configCheck(out: LintOutput, env: NodeJS.ProcessEnv = process.env): Promise<0 | 2> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    out.err(`settings: ${err.message}`);
    return 2;
  }
  let failed = false;
  const check = async (what: string, run: () => Promise<string>): Promise<void> => {
    try {
      out.out(`ok    ${what}: ${await run()}`);
    } catch (err) {
      failed = true;
      out.err(`FAIL  ${what}: ${(err as Error).message}`);
    }
  };
  out.out('ok    settings: valid');
  await check('rules', async () => {
    const errors: string[] = [];
    const code = await lintRules(config.QUELL_RULES_DIR, { out: () => undefined, err: (line) => errors.push(line) });
    if (code !== 0) {
      throw new Error(`${config.QUELL_RULES_DIR} has errors (quell rules lint says which):\n${errors.join('\n')}`);
    }
    return `${config.QUELL_RULES_DIR} loads`;
  });
  await check('database', async () => {
    if (!config.DATABASE_URL) return `embedded PGlite in ${config.QUELL_DATA_DIR} (DATABASE_URL unset)`;
    const { db } = await connectDatabase({ url: config.DATABASE_URL, dataDir: config.QUELL_DATA_DIR, poolSize: 1 });
    try {
      const { rows } = await sql<{ version: string }>`select current_setting('server_version') as version`.execute(db);
      return `PostgreSQL ${rows[0]?.version ?? '?'} answers`;
    } catch (err) {
      throw new Error(describeDatabaseError(err, config.DATABASE_URL).message, { cause: err });
    } finally {
      await db.destroy();
    }
  });
  await check('queue', async () => {
    if (!config.REDIS_URL) return 'embedded queue (REDIS_URL unset)';
    const queue = new BullmqQueue({ redisUrl: config.REDIS_URL, queueName: config.QUELL_QUEUE_NAME });
    try {
      await queue.checkReady();
      return 'Redis answers, maxmemory-policy noeviction';
    } catch (err) {
      const said = (err as Error).name === 'NotReadyError'
        ? `REDIS_URL: ${(err as Error).message}` : describeRedisError(err, config.REDIS_URL).message;
      throw new Error(said, { cause: err });
    } finally {
      await queue.close();
    }
  });
  out.out('');
  out.out('settings it would run with (secrets masked):');
  for (const [key, value] of Object.entries(redacted(config))) {
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- settings are scalars or arrays (config schema)
    out.out(`  ${key}=${value === undefined ? '' : Array.isArray(value) ? value.join(',') : String(value)}`);
  }
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- `check` (a closure) sets it
  return failed ? 2 : 0;
}
