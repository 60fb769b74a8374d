import { defaultOf, SECRET_KEYS, SETTING_NAMES, type Config } from './config';

/**
 * Which settings each command reads, for its --help. Derived from the schema: a new setting is
 * listed for `start`, `api` and `worker` unless named below as one role's only.
 */
const API_ONLY: ReadonlySet<string> = new Set([
  'QUELL_PORT', 'QUELL_INGEST_TOKEN', 'QUELL_MAX_BODY_BYTES', 'QUELL_MAX_RESPONSE_BYTES', 'QUELL_API_READ_CONCURRENCY',
  'QUELL_CMDB_FILE', 'QUELL_CMDB_MAX_BYTES',
]);
const WORKER_ONLY: ReadonlySet<string> = new Set([
  'QUELL_WORKER_CONCURRENCY', 'QUELL_WORKER_TRANSACTIONS', 'QUELL_WORKER_NICE', 'QUELL_RUNBOOK_CONCURRENCY',
  'QUELL_RUNBOOKS_DRY_RUN',
  'QUELL_HTTP_ALLOW', 'QUELL_EXEC_ENV_ALLOW', 'QUELL_SECRETS_DIR', 'QUELL_PROMETHEUS_URL',
  'QUELL_RUNBOOK_MAX_OUTPUT_BYTES', 'QUELL_LOCK_DURATION_MS', 'QUELL_METRICS_PORT',
]);

const all = SETTING_NAMES;
const TOOL = ['QUELL_RULES_DIR', 'QUELL_MAX_CLOCK_SKEW_SECONDS'] as const;

export const COMMAND_SETTINGS: Readonly<Record<string, readonly (keyof Config)[]>> = {
  start: all.filter((k) => k !== 'QUELL_METRICS_PORT' && k !== 'QUELL_WORKER_NICE'),
  api: all.filter((k) => !WORKER_ONLY.has(k)),
  worker: all.filter((k) => !API_ONLY.has(k)),
  migrate: ['DATABASE_URL', 'QUELL_DATA_DIR', 'QUELL_LOG_LEVEL'],
  'config check': all,
  'rules lint': ['QUELL_RULES_DIR'],
  'rules test': [...TOOL],
  replay: [...TOOL],
};

/** The "Settings read" block of a command's help: name, default, secret mark; QUELL_CONFIG first. */
export function settingsHelp(command: string): string {
  const keys = COMMAND_SETTINGS[command] ?? [];
  const width = Math.max(...keys.map((k) => k.length), 'QUELL_CONFIG'.length);
  const line = (name: string, note: string): string => `  ${name.padEnd(width)}  ${note}`;
  return [
    '',
    'Settings read (environment variables, or keys of the QUELL_CONFIG YAML file; the environment wins):',
    line('QUELL_CONFIG', 'a YAML file of settings (default: none)'),
    ...keys.map((k) => {
      const def = defaultOf(k);
      const secret = SECRET_KEYS.has(k) ? ', secret' : '';
      return line(k, `${def === undefined ? 'default: unset' : `default: ${def === '' ? "''" : def}`}${secret}`);
    }),
    'README.md says what each one does.',
  ].join('\n');
}
