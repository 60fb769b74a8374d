import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Connector } from '../../src/connectors/connector';
import { toJsonText } from './payload-mutator';

/**
 * How the connector fuzz test (test/integration/connector-fuzz.test.ts) drives one connector.
 * A connector folder may export `fuzzHarness()` from `fuzz-harness.ts` when its requests need
 * more than a bearer token (signatures); otherwise the default below is used, so a connector
 * added later is fuzzed with no other change.
 */
export interface FuzzHarness {
  /** The connector instance to serve (e.g. one with test hosts injected). @defaultValue the loaded one */
  readonly connector?: Connector<any, any>;
  /** Its settings, as environment variables. @defaultValue none */
  readonly env?: Readonly<Record<string, string>>;
  /** The payloads mutations start from. @defaultValue every `fixtures/*.json` of the folder */
  readonly seeds?: readonly unknown[];
  /** The request for a (mutated) payload: its text and headers (auth, signatures). */
  request(payload: unknown): { readonly body: string; readonly headers: Readonly<Record<string, string>> };
  close?(): Promise<void>;
}

/** Every `fixtures/*.json` of a connector folder, parsed. */
export function fixturesOf(dir: string): unknown[] {
  const fixtures = join(dir, 'fixtures');
  if (!existsSync(fixtures)) return [];
  return readdirSync(fixtures).filter((f) => f.endsWith('.json')).sort()
    .map((f) => JSON.parse(readFileSync(join(fixtures, f), 'utf8')) as unknown);
}

/** The default: the payload as JSON with the ingest bearer token. */
export function bearerHarness(token: string): FuzzHarness {
  return { request: (payload) => ({ body: toJsonText(payload), headers: { authorization: `Bearer ${token}` } }) };
}
