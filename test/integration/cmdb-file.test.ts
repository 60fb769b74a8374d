import { mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { watchCmdbFile, type CmdbFileWatcher } from '../../src/cmdb/cmdb-file-watcher';
import { CmdbLoader } from '../../src/cmdb/cmdb-loader';
import { createCmdbMetrics } from '../../src/cmdb/cmdb-metrics';
import { TopologyHolder } from '../../src/cmdb/topology-holder';
import { readCmdbMeta } from '../../src/store/cmdb-store';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { waitFor } from '../support/wait';

let t: TestDatabase;
let dir: string;
let registry: Registry;
let loader: CmdbLoader;
let worker: TopologyHolder;
const watchers: CmdbFileWatcher[] = [];
const logLines: string[] = [];
const log = pino({ level: 'info' }, new Writable({ write(chunk, _enc, cb) { logLines.push(String(chunk)); cb(); } }));

const yaml = (...hosts: string[]) => `cis:\n${hosts.map((h) => `  - { id: ${h}, type: host }\n`).join('')}`
  + '  - { id: sw, type: switch }\nrelations:\n'
  + hosts.map((h) => `  - { from: ${h}, type: connected_to, to: sw }\n`).join('');
const version = async () => (await readCmdbMeta(t.db)).version;
const versionBecomes = (v: number) => waitFor(async () => (await version()) === v, 10_000, `CMDB version ${v}`, 50);

beforeAll(async () => {
  t = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'quell-cmdb-'));
  registry = new Registry();
  loader = new CmdbLoader({ db: t.db, metrics: createCmdbMetrics(registry), log });
  worker = new TopologyHolder({ db: t.db, binding: {}, metrics: createCmdbMetrics(new Registry()), log, pollMs: 50 });
  worker.start();
});

afterAll(async () => {
  for (const w of watchers) w.close();
  worker.stop();
  rmSync(dir, { recursive: true, force: true });
  await t.drop();
});

function watchFile(file: string, watch = true): CmdbFileWatcher {
  const w = watchCmdbFile({ file, loader, log, debounceMs: 50, pollMs: watch ? 60_000 : 100, watch });
  watchers.push(w);
  return w;
}

test('QUELL_CMDB_FILE: loaded at start, reloaded on change; a bad file is logged and changes nothing', async () => {
  const file = join(dir, 'cmdb.yaml');
  writeFileSync(file, yaml('h1', 'h2'));
  // The poll is a minute away: only fs.watch can see the changes below in time.
  await watchFile(file).ready;
  expect(await readCmdbMeta(t.db)).toMatchObject({ version: 1, cis: 3, relations: 2, source: `file:${file}` });

  writeFileSync(file, yaml('h1', 'h2', 'h3'));
  await versionBecomes(2);
  await waitFor(async () => worker.current().info.version === 2, 5000, 'a worker to follow');
  expect(worker.current().related('h1', 'h3', { maxHops: 2 })).toBe(2);

  logLines.length = 0;
  writeFileSync(file, `${yaml('h1')}  - { from: h1, type: runs_on, to: db-9 }\n`);
  const badLine = () => logLines.find((l) => l.includes('"field":"relations[1].to"'));
  const logged = JSON.parse(await waitFor(async () => badLine(), 10_000, 'the bad file logged'));
  expect(logged).toMatchObject({ level: 50, file, msg: `${file}: relations[1].to: no CI "db-9" (line 6, column 36)` });
  expect(await version()).toBe(2);
  expect((await registry.getSingleMetricAsString('quell_cmdb_load_failures_total'))).toContain('{source="file"} 1');

  // Replaced by rename, as editors and Kubernetes ConfigMaps do.
  writeFileSync(join(dir, 'cmdb.yaml.tmp'), yaml('h4'));
  renameSync(join(dir, 'cmdb.yaml.tmp'), file);
  await versionBecomes(3);
  await waitFor(async () => worker.current().ci('h4'), 5000, 'a worker to follow');

  // Touched, same bytes: nothing to do.
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  await new Promise((r) => setTimeout(r, 300));
  expect(await version()).toBe(3);
});

test('without fs.watch events the file is still picked up by its mtime (poll)', async () => {
  const file = join(dir, 'polled.json');
  writeFileSync(file, JSON.stringify({ cis: [{ id: 'p1', type: 'host' }] }));
  await watchFile(file, false).ready;
  const start = await version();
  expect((await readCmdbMeta(t.db)).source).toBe(`file:${file}`);
  writeFileSync(file, JSON.stringify({ cis: [{ id: 'p1', type: 'host' }, { id: 'p2', type: 'host' }] }));
  await versionBecomes(start + 1);
  rmSync(file);
  const missing = () => logLines.find((l) => l.includes('cannot read the CMDB file') && l.includes('ENOENT'));
  await waitFor(async () => missing(), 5000, 'a missing file logged');
  expect(await version()).toBe(start + 1);
});
