import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../support/net';
import { REPO, startQuell, type QuellProcess } from '../support/quell-process';
import { waitFor } from '../support/wait';

/** `quell start` on PGlite with QUELL_CMDB_FILE: the runtime's wiring of file, API, holder and metrics. */
let dir: string;
let quell: QuellProcess | undefined;

beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'quell-cmdb-e2e-')); });
afterAll(async () => {
  await quell?.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('the CMDB file is applied at start and on change; PUT and GET work on the embedded database', async () => {
  const file = join(dir, 'cmdb.yaml');
  copyFileSync(resolve(REPO, 'deploy/cmdb.example.yaml'), file);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  quell = startQuell('start', { QUELL_PORT: String(port), QUELL_HOST: '127.0.0.1', QUELL_CMDB_FILE: file }, dir);
  await quell.waitForLog('api listening', 60_000);
  expect(quell.output()).toContain('CMDB file applied');
  const { api } = JSON.parse(readFileSync(join(dir, 'data', 'tokens.json'), 'utf8')) as { api: string };
  const auth = { authorization: `Bearer ${api}` };
  const metrics = async () => (await fetch(`${base}/metrics`)).text();

  const first = await (await fetch(`${base}/api/v1/cmdb`, { headers: auth })).json() as any;
  expect(first.meta).toMatchObject({ version: 1, cis: 9, relations: 12, source: `file:${file}` });
  expect(await metrics()).toMatch(/^quell_cmdb_version 1$/m);

  writeFileSync(file, 'cis:\n  - { id: only, type: host }\n');
  await waitFor(async () => /^quell_cmdb_cis 1$/m.test(await metrics()), 15_000, 'the changed file applied', 200);

  const body = JSON.stringify({ cis: [{ id: 'a', type: 'host' }, { id: 'b', type: 'host' }] });
  const put = await fetch(`${base}/api/v1/cmdb`, {
    method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body,
  });
  expect(await put.json()).toMatchObject({ version: 3, changed: true, cis: 2 });
  expect(await metrics()).toMatch(/^quell_cmdb_cis 2$/m); // this process holds it at once
  await quell.stop();
}, 120_000);
