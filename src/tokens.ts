import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config';

export interface Tokens {
  readonly ingest: string;
  readonly api: string;
  /** Where a generated token is kept, if either was generated. */
  readonly generatedFile?: string;
}

/**
 * The configured tokens; for those unset, tokens generated once and kept (mode 0600) in
 * `<QUELL_DATA_DIR>/tokens.json`, so that trying Quell needs no setup and is still authenticated.
 */
export function resolveTokens(config: Config): Tokens {
  if (config.QUELL_INGEST_TOKEN && config.QUELL_API_TOKEN) {
    return { ingest: config.QUELL_INGEST_TOKEN, api: config.QUELL_API_TOKEN };
  }
  const file = join(config.QUELL_DATA_DIR, 'tokens.json');
  let stored: { ingest?: string; api?: string } = {};
  if (existsSync(file)) stored = JSON.parse(readFileSync(file, 'utf8')) as typeof stored;
  const ingest = config.QUELL_INGEST_TOKEN ?? stored.ingest ?? randomBytes(24).toString('base64url');
  const api = config.QUELL_API_TOKEN ?? stored.api ?? randomBytes(24).toString('base64url');
  if (stored.ingest !== ingest || stored.api !== api) {
    mkdirSync(config.QUELL_DATA_DIR, { recursive: true });
    writeFileSync(file, JSON.stringify({ ingest, api }, null, 2) + '\n', { mode: 0o600 });
  }
  return { ingest, api, generatedFile: file };
}
