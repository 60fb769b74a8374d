import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { fieldPath } from '../domain/field-path';
import { API_TOKEN_PRINCIPAL, ROLES, type Principal } from './principal';
import { itemAt } from '../domain/invariant';

/** A token as configured: its name (the actor the timeline records), role and SHA-256 (hex) of the token. */
export interface ApiTokenEntry extends Principal {
  readonly sha256: string;
}

/** The SHA-256 (hex) of a token: what the tokens file holds (`quell tokens hash`). */
export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

const tokenFile = z.array(z.strictObject({
  name: z.string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.@:-]{0,99}$/, 'expected a name of letters, digits and _ . @ : - (at most 100)')
    .refine((n) => n !== API_TOKEN_PRINCIPAL.name, `"${API_TOKEN_PRINCIPAL.name}" is QUELL_API_TOKEN's name`),
  role: z.enum(ROLES),
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected the token\'s SHA-256 as 64 hex digits (quell tokens hash)')
    .transform((h) => h.toLowerCase()),
})).superRefine((list, ctx) => {
  const names = new Set<string>();
  const hashes = new Set<string>();
  list.forEach((t, i) => {
    if (names.has(t.name)) {
      ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `a second token named ${JSON.stringify(t.name)}` });
    }
    if (hashes.has(t.sha256)) {
      ctx.addIssue({ code: 'custom', path: [i, 'sha256'], message: 'the same token as an earlier entry' });
    }
    names.add(t.name);
    hashes.add(t.sha256);
  });
});

/** A tokens file that cannot be used; the message names the file and the entry's field. Not retryable. */
export class TokensFileError extends Error {
  override name = 'TokensFileError';
}

/**
 * Reads QUELL_TOKENS_FILE: a YAML (or JSON) list of `{name, role, sha256}`. The file holds
 * hashes only: a leaked file grants nothing.
 */
export function loadTokensFile(file: string): ApiTokenEntry[] {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new TokensFileError(`${file}: ${(err as Error).message}`);
  }
  const result = tokenFile.safeParse(parsed ?? []);
  if (!result.success) {
    const issue = itemAt(result.error.issues, 0, 'a failed validation\'s first issue');
    throw new TokensFileError(`${file}: ${fieldPath(['tokens', ...issue.path])}: ${issue.message}`);
  }
  return result.data;
}

/**
 * The API's tokens, kept as SHA-256 digests only. A presented token is hashed and compared
 * with every digest by `timingSafeEqual` (no early exit): the time taken says nothing of how
 * much of a token was right, and hashing first makes every comparison the same length.
 */
export class TokenRegistry {
  private readonly entries: readonly { readonly digest: Buffer; readonly principal: Principal }[];

  /** `apiToken` (QUELL_API_TOKEN) is an admin token named `api-token`; `tokens` come from QUELL_TOKENS_FILE. */
  constructor(apiToken: string | undefined, tokens: readonly ApiTokenEntry[] = []) {
    const all = [
      ...(apiToken !== undefined ? [{ sha256: hashToken(apiToken), ...API_TOKEN_PRINCIPAL }] : []),
      ...tokens,
    ];
    this.entries = all.map((t) => ({
      digest: Buffer.from(t.sha256, 'hex'), principal: { name: t.name, role: t.role },
    }));
  }

  /** The principal whose token this is, or undefined. */
  identify(token: string): Principal | undefined {
    const presented = createHash('sha256').update(token, 'utf8').digest();
    let found: Principal | undefined;
    for (const e of this.entries) if (timingSafeEqual(presented, e.digest) && found === undefined) found = e.principal;
    return found;
  }

  get size(): number {
    return this.entries.length;
  }
}
