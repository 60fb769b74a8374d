import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where `{{ secret.NAME }}` comes from: the environment variable `QUELL_SECRET_<NAME>`, else the
 * file `<dir>/<NAME>` (QUELL_SECRETS_DIR, e.g. a mounted Kubernetes secret; one trailing newline
 * is dropped). Values are read when a step renders, so a rotated file is picked up by the next
 * run. Nothing here logs or records a value; the renderer masks every value it handed out.
 */
export interface SecretStore {
  /** The secret's value, or undefined when neither the variable nor the file exists. */
  get(name: string): string | undefined;
}

/** A secret's name: what an environment variable's name and a plain file name can both be (no `/`, no `..`). */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function createSecretStore(options: { env?: NodeJS.ProcessEnv; dir?: string } = {}): SecretStore {
  const env = options.env ?? process.env;
  return {
    get(name) {
      if (!SECRET_NAME.test(name)) return undefined;
      const fromEnv = env[`QUELL_SECRET_${name}`];
      if (fromEnv !== undefined) return fromEnv;
      if (options.dir === undefined) return undefined;
      try {
        return readFileSync(join(options.dir, name), 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
        // The error names the path, never the content.
        throw err;
      }
    },
  };
}
