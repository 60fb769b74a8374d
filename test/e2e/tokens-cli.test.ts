import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokensFile, TokenRegistry } from '../../src/http/api-tokens';
import { CLI, REPO } from '../support/quell-process';

/** Runs the built `quell` with `args`, `input` on its standard input. */
function quell(args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env: { PATH: process.env['PATH'] ?? '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

test('quell tokens hash prints the SHA-256 that sha256sum and openssl print, from stdin or an argument', async () => {
  const sha = createHash('sha256').update('s3cret-token').digest('hex');
  expect(await quell(['tokens', 'hash'], 's3cret-token\n')).toEqual({ code: 0, stdout: `${sha}\n`, stderr: '' });
  expect((await quell(['tokens', 'hash', 's3cret-token'])).stdout).toBe(`${sha}\n`);
  expect((await quell(['tokens', 'hash'], '')).code).not.toBe(0);
});

test('quell tokens new: its entry, put in a tokens file, makes its token that principal', async () => {
  const made = await quell(['tokens', 'new', '--name', 'alice', '--role', 'operator']);
  expect(made.code).toBe(0);
  const token = /^token: (\S+)$/m.exec(made.stdout)![1]!;
  const file = join(mkdtempSync(join(tmpdir(), 'quell-tokens-cli-')), 'tokens.yaml');
  writeFileSync(file, made.stdout.split('# QUELL_TOKENS_FILE entry:\n')[1]!);
  const registry = new TokenRegistry(undefined, loadTokensFile(file));
  expect(registry.identify(token)).toEqual({ name: 'alice', role: 'operator' });
  expect((await quell(['tokens', 'new', '--name', 'x', '--role', 'root'])).stderr).toMatch(/Allowed choices are viewer, operator, admin/);
});
