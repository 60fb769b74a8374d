import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Connector } from './connector';

/** Where connector folders live: `connectors/` beside `src/` (also under `dist/`). */
export const CONNECTORS_DIR = resolve(__dirname, '../../connectors');

/** Finds every `connectors/<id>/index` that exports `connector`; adding one touches no other file. */
export function loadConnectors(dir: string = CONNECTORS_DIR): Connector[] {
  const found: Connector[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory()) continue;
    const base = join(dir, entry.name, 'index');
    if (!existsSync(`${base}.js`) && !existsSync(`${base}.ts`)) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(base) as { connector?: Connector };
    if (mod.connector === undefined) throw new Error(`${base}: exports no 'connector'`);
    if (mod.connector.id !== entry.name) {
      throw new Error(`${base}: connector id '${mod.connector.id}' differs from its folder '${entry.name}'`);
    }
    found.push(mod.connector);
  }
  return found;
}
