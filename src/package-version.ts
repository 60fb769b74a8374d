import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Quell's version: its package.json's, found upwards from this file (src/ in tests, dist/src/ when built). */
export function packageVersion(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'quell' && pkg.version !== undefined) return pkg.version;
    }
    if (dirname(dir) === dir) return '0.0.0';
  }
}
