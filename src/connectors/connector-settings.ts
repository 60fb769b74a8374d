import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../config';
import type { Connector } from './connector';
import { DEFAULT_HMAC_SCHEME, type HmacScheme } from './hmac-signature';
import { expectDefined, itemAt } from '../domain/invariant';

/** A connector with what its settings say: how requests authenticate, and its own settings. */
export interface ConnectorSetup {
  readonly connector: Connector;
  readonly auth: ConnectorAuth;
  /** The connector's own settings, as its `settings` schema parsed them (undefined without one). */
  readonly settings: unknown;
}

/** The framework's settings of one connector: tokens besides QUELL_INGEST_TOKEN, and HMAC. */
export interface ConnectorAuth {
  /** Tokens that authenticate requests to this connector only, by sender name. */
  readonly tokens: readonly { readonly sender: string; readonly token: string }[];
  /** Set: every request must carry this HMAC signature (then no bearer token is needed). */
  readonly hmac?: { readonly secret: string; readonly scheme: HmacScheme };
}

const secret = z.string().min(16, 'use at least 16 characters');
const SENDER = /^[A-Za-z0-9_.-]{1,64}$/;
/**
 * Secrets by name: `name=secret,name=secret` in the environment, a mapping in the config file.
 * For connector settings too (PagerDuty's `routing_keys`).
 */
export const namedSecrets = z.unknown().transform((v, ctx) => {
  if (typeof v !== 'string') return v;
  const out: Record<string, string> = {};
  for (const pair of v.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const at = pair.indexOf('=');
    if (at <= 0) {
      ctx.addIssue({ code: 'custom', message: 'expected name=token pairs, comma-separated' });
      return z.NEVER;
    }
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}).pipe(z.record(z.string().regex(SENDER, 'sender names are letters, digits, _ . -'), secret));

const frameworkSchema = z.object({
  /** A token for this connector alone (bearer, or the password of basic auth). */
  token: secret.optional(),
  /** Per-sender tokens: each sender its own, changed or revoked without touching the others. */
  tokens: namedSecrets.optional(),
  hmac_secret: secret.optional(),
  hmac_header: z.string().regex(/^[A-Za-z0-9-]+$/).optional(),
  hmac_timestamp_header: z.string().regex(/^[A-Za-z0-9-]*$/).optional(),
  hmac_window_seconds: z.coerce.number().int().min(1).max(86_400).optional(),
});
const FRAMEWORK_KEYS = new Set(Object.keys(frameworkSchema.shape));

/** The environment prefix of a connector's settings: `grafana` -> `QUELL_CONNECTOR_GRAFANA_`. */
export const envPrefixOf = (id: string): string => `QUELL_CONNECTOR_${id.toUpperCase().replace(/-/g, '_')}_`;

/**
 * Every connector's settings, from `QUELL_CONNECTOR_<ID>_<KEY>` variables and the config file's
 * `connectors: { <id>: { <key>: value } }` section (the environment wins), validated: a bad
 * value, an unknown key or a variable for no connector stops start-up (ConfigError, naming it).
 */
export function connectorSetups(
  connectors: readonly Connector[], env: NodeJS.ProcessEnv = process.env,
): ConnectorSetup[] {
  const file = fileSections(env);
  const raw = new Map<string, Record<string, unknown>>(connectors.map((c) => [c.id, sectionOf(file, c.id)]));
  // Longest prefix first, so that `foo-bar`'s variables are not read as `foo`'s key `bar_…`.
  const byPrefix = connectors.map((c) => ({ id: c.id, prefix: envPrefixOf(c.id) }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('QUELL_CONNECTOR_') || value === undefined) continue;
    const owner = byPrefix.find((p) => name.startsWith(p.prefix) && name.length > p.prefix.length);
    if (owner === undefined) {
      throw new ConfigError(`${name}: no connector ${JSON.stringify(name.slice(16).toLowerCase())} in connectors/`);
    }
    const values = expectDefined(raw.get(owner.id), 'the settings of a known connector');
    values[name.slice(owner.prefix.length).toLowerCase()] = value;
  }
  return connectors.map((connector) =>
    setupOf(connector, expectDefined(raw.get(connector.id), 'the settings of a known connector')));
}

function setupOf(connector: Connector, raw: Record<string, unknown>): ConnectorSetup {
  const where = (key: string): string => `${envPrefixOf(connector.id)}${key.toUpperCase()}`;
  const own = Object.fromEntries(Object.entries(raw).filter(([k]) => !FRAMEWORK_KEYS.has(k)));
  const framework = frameworkSchema.safeParse(
    Object.fromEntries(Object.entries(raw).filter(([k]) => FRAMEWORK_KEYS.has(k))));
  if (!framework.success) {
    const issue = itemAt(framework.error.issues, 0, 'a failed validation\'s first issue');
    throw new ConfigError(`${where(String(issue.path[0]))}: ${issue.message}`);
  }
  let settings: unknown;
  if (connector.settings !== undefined) {
    const parsed = connector.settings.safeParse(own);
    if (!parsed.success) {
      const issue = itemAt(parsed.error.issues, 0, 'a failed validation\'s first issue');
      const key = issue.code === 'unrecognized_keys' ? itemAt(issue.keys, 0, 'an unrecognized key')
        : String(issue.path[0] ?? '');
      throw new ConfigError(`${where(key)}: ${issue.message}`);
    }
    settings = parsed.data;
  } else if (Object.keys(own).length > 0) {
    const key = itemAt(Object.keys(own), 0, 'a setting');
    throw new ConfigError(`${where(key)}: the ${connector.id} connector has no such setting`);
  }
  const f = framework.data;
  const tokens = Object.entries(f.tokens ?? {}).map(([sender, token]) => ({ sender, token }));
  if (f.token !== undefined) tokens.unshift({ sender: connector.id, token: f.token });
  const scheme: HmacScheme = {
    ...DEFAULT_HMAC_SCHEME, ...connector.signature,
    ...(f.hmac_header !== undefined ? { header: f.hmac_header } : {}),
    ...(f.hmac_timestamp_header !== undefined ? { timestampHeader: f.hmac_timestamp_header } : {}),
    ...(f.hmac_window_seconds !== undefined ? { windowSeconds: f.hmac_window_seconds } : {}),
  };
  return {
    connector, settings,
    auth: { tokens, ...(f.hmac_secret !== undefined ? { hmac: { secret: f.hmac_secret, scheme } } : {}) },
  };
}

/** The config file's `connectors` mapping, if any. */
function fileSections(env: NodeJS.ProcessEnv): { readonly file: string; readonly sections: Record<string, unknown> } {
  const file = env['QUELL_CONFIG'];
  if (!file) return { file: '', sections: {} };
  const doc = parseYaml(readFileSync(file, 'utf8')) as { connectors?: Record<string, unknown> } | null;
  const sections = doc?.connectors ?? {};
  if (typeof sections !== 'object' || Array.isArray(sections)) {
    throw new ConfigError(`${file}: connectors: expected a mapping of connector ids`);
  }
  return { file, sections };
}

/** One connector's section, keys lower-cased, scalars as the environment would give them. */
function sectionOf({ file, sections }: ReturnType<typeof fileSections>, id: string): Record<string, unknown> {
  const section = sections[id];
  if (section === undefined || section === null) return {};
  if (typeof section !== 'object' || Array.isArray(section)) {
    throw new ConfigError(`${file}: connectors.${id}: expected a mapping of settings`);
  }
  return Object.fromEntries(Object.entries(section).map(([k, v]) =>
    [k.toLowerCase(), typeof v === 'number' || typeof v === 'boolean' ? String(v) : v]));
}

/** Setups with no settings at all: each connector as it ships (tests, tools). */
export function defaultSetups(connectors: readonly Connector[]): ConnectorSetup[] {
  return connectorSetups(connectors, {});
}
